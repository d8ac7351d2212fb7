package provider

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/latchkey/terraform-provider-latchkey/internal/client"
)

const tokenAddr = "latchkey_token.ci"

// seen remembers the ids and secrets a test has observed, step by step.
type seen struct {
	ids     []string
	secrets []string
}

func (s *seen) last() (id, secret string) {
	return s.ids[len(s.ids)-1], s.secrets[len(s.secrets)-1]
}

// capture records the token's id and secret from the state.
func (s *seen) capture(addr string) resource.TestCheckFunc {
	return func(st *terraform.State) error {
		rs, ok := st.RootModule().Resources[addr]
		if !ok {
			return fmt.Errorf("%s is not in the state", addr)
		}
		s.ids = append(s.ids, rs.Primary.ID)
		s.secrets = append(s.secrets, rs.Primary.Attributes["token"])
		return nil
	}
}

// sameAsBefore checks that the token was not replaced by the last step.
func (s *seen) sameAsBefore() resource.TestCheckFunc {
	return func(*terraform.State) error {
		n := len(s.ids)
		if n < 2 || s.ids[n-1] != s.ids[n-2] || s.secrets[n-1] != s.secrets[n-2] {
			return fmt.Errorf("expected the same token as before, got ids %v", s.ids)
		}
		return nil
	}
}

// newSinceBefore checks that the last step issued a new token with a new secret.
func (s *seen) newSinceBefore() resource.TestCheckFunc {
	return func(*terraform.State) error {
		n := len(s.ids)
		if n < 2 || s.ids[n-1] == s.ids[n-2] || s.secrets[n-1] == s.secrets[n-2] || s.secrets[n-1] == "" {
			return fmt.Errorf("expected a new token, got ids %v", s.ids)
		}
		return nil
	}
}

// secretWorks checks that the newest secret authenticates.
func (s *seen) secretWorks() resource.TestCheckFunc {
	return func(*terraform.State) error {
		_, secret := s.last()
		if status, err := whoamiStatus(secret); err != nil || status != http.StatusOK {
			return fmt.Errorf("the token's secret does not authenticate: %d %v", status, err)
		}
		return nil
	}
}

// revoked checks that the token with index i (from the end when negative: -1 is the newest) is
// revoked on the server and that its secret gets 401.
func (s *seen) revoked(t *testing.T, i int) resource.TestCheckFunc {
	return func(*terraform.State) error {
		if i < 0 {
			i += len(s.ids)
		}
		id, secret := s.ids[i], s.secrets[i]
		tok, err := testClient(t).GetToken(context.Background(), id)
		if err != nil {
			return err
		}
		if tok.State != "revoked" {
			return fmt.Errorf("token %s is %s, expected revoked", id, tok.State)
		}
		if status, err := whoamiStatus(secret); err != nil || status != http.StatusUnauthorized {
			return fmt.Errorf("the revoked token's secret got %d (%v), expected 401", status, err)
		}
		return nil
	}
}

func testAccTokenConfig(sa, extra string) string {
	return fmt.Sprintf(`
resource "latchkey_service_account" "ci" {
  name = %[1]q
  role = "contributor"
}

resource "latchkey_token" "ci" {
  service_account = latchkey_service_account.ci.email
%[2]s
}
`, sa, extra)
}

// The whole life of a token, as a user lives it: create, a quiet plan, import, edit in place,
// scheduled rotation, a revocation behind Terraform's back, and destroy.
func TestAccToken_lifecycle(t *testing.T) {
	sa := uniqueName("ci")
	var s seen
	base := `  name        = "deploy"
  description = "CI deploys"
  owner       = "platform-team"
  ttl_days    = 30
  labels      = { team = "platform" }
  rotate_before = "7d"
  rotate_when_changed = { rotation = "2030-01" }`
	edited := `  name        = "deploy-v2"
  description = "CI deploys, edited"
  owner       = "sre"
  ttl_days    = 30
  labels      = { team = "sre", tier = "prod" }
  rotate_before = "7d"
  rotate_when_changed = { rotation = "2030-01" }`
	rotated := strings.Replace(edited, "2030-01", "2030-02", 1)

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: func(st *terraform.State) error {
			// Destroy revoked the last token: the server says so, and its secret gets 401.
			return s.revoked(t, -1)(st)
		},
		Steps: []resource.TestStep{
			{
				// Create.
				Config: testAccTokenConfig(sa, base),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(tokenAddr, plancheck.ResourceActionCreate),
					plancheck.ExpectSensitiveValue(tokenAddr, tfjsonpath.New("token")),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(tokenAddr, tfjsonpath.New("token"), knownvalue.StringRegexp(regexp.MustCompile(`^lk_[0-9A-Za-z]{49,}$`))),
					statecheck.ExpectKnownValue(tokenAddr, tfjsonpath.New("ttl_seconds"), knownvalue.Int64Exact(30*86400)),
					statecheck.ExpectKnownValue(tokenAddr, tfjsonpath.New("active"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(tokenAddr, tfjsonpath.New("access"), knownvalue.StringExact("read-write")),
					statecheck.ExpectKnownValue(tokenAddr, tfjsonpath.New("format"), knownvalue.StringExact("opaque")),
					statecheck.ExpectKnownValue(tokenAddr, tfjsonpath.New("project"), knownvalue.StringExact("default")),
					statecheck.CompareValuePairs(tokenAddr, tfjsonpath.New("service_account_email"),
						"latchkey_service_account.ci", tfjsonpath.New("email"), compare.ValuesSame()),
					statecheck.CompareValuePairs(tokenAddr, tfjsonpath.New("service_account_id"),
						"latchkey_service_account.ci", tfjsonpath.New("id"), compare.ValuesSame()),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					s.capture(tokenAddr),
					s.secretWorks(),
					resource.TestCheckResourceAttrSet(tokenAddr, "expires_at"),
					resource.TestCheckResourceAttrSet(tokenAddr, "created_at"),
				),
			},
			{
				// The same configuration again plans nothing.
				Config: testAccTokenConfig(sa, base),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectEmptyPlan(),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(s.capture(tokenAddr), s.sameAsBefore()),
			},
			{
				// Import by id: everything the server knows matches; the secret is not importable.
				ResourceName:            tokenAddr,
				ImportState:             true,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"token", "rotate_when_changed", "rotate_before", "ttl_days"},
				ImportStateCheck: func(states []*terraform.InstanceState) error {
					if len(states) != 1 {
						return fmt.Errorf("imported %d instances, expected 1", len(states))
					}
					if v := states[0].Attributes["token"]; v != "" {
						return fmt.Errorf("an imported token has a secret in the state: %d characters", len(v))
					}
					return nil
				},
			},
			{
				// Name, description, owner and labels change in place: same id, same secret.
				Config: testAccTokenConfig(sa, edited),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(tokenAddr, plancheck.ResourceActionUpdate),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(
					s.capture(tokenAddr), s.sameAsBefore(), s.secretWorks(),
					resource.TestCheckResourceAttr(tokenAddr, "name", "deploy-v2"),
					resource.TestCheckResourceAttr(tokenAddr, "labels.tier", "prod"),
					func(*terraform.State) error {
						id, _ := s.last()
						tok, err := testClient(t).GetToken(context.Background(), id)
						if err != nil {
							return err
						}
						if tok.Name != "deploy-v2" || tok.Description != "CI deploys, edited" || tok.Owner != "sre" || tok.Labels["team"] != "sre" {
							return fmt.Errorf("the server did not get the edit: %+v", tok)
						}
						return nil
					},
				),
			},
			{
				// A new value in rotate_when_changed (time_rotating's job) replaces the token and
				// revokes the old one.
				Config: testAccTokenConfig(sa, rotated),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(tokenAddr, plancheck.ResourceActionDestroyBeforeCreate),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(
					s.capture(tokenAddr), s.newSinceBefore(), s.secretWorks(), s.revoked(t, -2),
				),
			},
			{
				// Revoked out of band: the refresh drops it and this apply issues a new one.
				PreConfig: func() {
					id, _ := s.last()
					if err := testClient(t).RevokeToken(context.Background(), id); err != nil {
						t.Fatal(err)
					}
				},
				Config: testAccTokenConfig(sa, rotated),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(tokenAddr, plancheck.ResourceActionCreate),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(s.capture(tokenAddr), s.newSinceBefore(), s.secretWorks()),
			},
		},
	})
}

// rotate_before, end to end with a real clock: a token issued for 600 s with rotate_before of
// 570 s is due for replacement 30 s after it was issued. The next plan replaces it; the new token
// is not due again for 30 s, which leaves the post-apply plans room to be empty.
func TestAccToken_rotateBeforeExpiry(t *testing.T) {
	sa := uniqueName("short")
	var s seen
	var createdAt time.Time
	cfg := testAccTokenConfig(sa, `  ttl_seconds   = 600
  rotate_before = "9m30s"`)
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: cfg,
				Check: resource.ComposeAggregateTestCheckFunc(
					s.capture(tokenAddr),
					func(st *terraform.State) error {
						var err error
						createdAt, err = time.Parse(time.RFC3339Nano, st.RootModule().Resources[tokenAddr].Primary.Attributes["created_at"])
						return err
					},
				),
			},
			{
				PreConfig: func() {
					// Wait until the token is within 570 s of its expiry.
					time.Sleep(time.Until(createdAt.Add(31 * time.Second)))
				},
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(tokenAddr, plancheck.ResourceActionDestroyBeforeCreate),
					plancheck.ExpectUnknownValue(tokenAddr, tfjsonpath.New("expires_at")),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(s.capture(tokenAddr), s.newSinceBefore(), s.secretWorks(), s.revoked(t, -2)),
			},
		},
	})
}

// A token created outside Terraform is adopted by import: its secret stays unknown (null), and
// the first apply stores rotate_when_changed without replacing it. Changing that map later
// replaces it, and only then does the state hold a secret.
func TestAccToken_importAdopts(t *testing.T) {
	sa := uniqueName("adopt")
	ctx := context.Background()
	var c *client.Client
	var existing *client.IssuedToken
	var s seen
	cfg := func(rotation string) string {
		return fmt.Sprintf(`
resource "latchkey_token" "ci" {
  service_account     = %q
  name                = "made-by-hand"
  access              = "read-only"
  ttl_seconds         = 86400
  rotate_when_changed = { rotation = %q }
}
`, client.Email("default", sa), rotation)
	}
	resource.Test(t, resource.TestCase{
		PreCheck: func() {
			testAccPreCheck(t)
			c = testClient(t)
			if _, err := c.CreateServiceAccount(ctx, "default", client.CreateServiceAccountRequest{Name: sa}); err != nil {
				t.Fatal(err)
			}
			ttl := int64(86400)
			access := "read-only"
			var err error
			existing, err = c.CreateToken(ctx, "default", sa, client.CreateTokenRequest{Name: "made-by-hand", Access: &access, TTLSeconds: &ttl})
			if err != nil {
				t.Fatal(err)
			}
		},
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:             cfg("1"),
				ResourceName:       tokenAddr,
				ImportState:        true,
				ImportStatePersist: true,
				ImportStateIdFunc:  func(*terraform.State) (string, error) { return existing.ID, nil },
				ImportStateCheck: func(states []*terraform.InstanceState) error {
					a := states[0].Attributes
					if a["token"] != "" || a["service_account"] != client.Email("default", sa) || a["ttl_seconds"] != "86400" || a["access"] != "read-only" {
						return fmt.Errorf("unexpected imported attributes: %v", a)
					}
					return nil
				},
			},
			{
				Config: cfg("1"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(tokenAddr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(tokenAddr, tfjsonpath.New("token"), knownvalue.Null()),
					statecheck.ExpectKnownValue(tokenAddr, tfjsonpath.New("rotate_when_changed").AtMapKey("rotation"), knownvalue.StringExact("1")),
				},
				Check: resource.ComposeAggregateTestCheckFunc(s.capture(tokenAddr), func(*terraform.State) error {
					if id, _ := s.last(); id != existing.ID {
						return fmt.Errorf("the adopted token was replaced: %s, expected %s", id, existing.ID)
					}
					return nil
				}),
			},
			{
				Config: cfg("2"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(tokenAddr, plancheck.ResourceActionDestroyBeforeCreate),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(s.capture(tokenAddr), s.newSinceBefore(), s.secretWorks(),
					func(*terraform.State) error {
						tok, err := c.GetToken(ctx, existing.ID)
						if err != nil || tok.State != "revoked" {
							return fmt.Errorf("the adopted token was not revoked on replacement: %v %v", tok, err)
						}
						return nil
					}),
			},
		},
	})
}

// service_account may be the account's id; switching to its email is not a new token.
func TestAccToken_serviceAccountByID(t *testing.T) {
	sa := uniqueName("byid")
	project := uniqueName("p")
	var s seen
	cfg := func(ref string) string {
		return fmt.Sprintf(`
resource "latchkey_project" "p" {
  name = %[1]q
}

resource "latchkey_service_account" "ci" {
  project = latchkey_project.p.name
  name    = %[2]q
}

resource "latchkey_token" "ci" {
  service_account = latchkey_service_account.ci.%[3]s
  format          = "jwt"
  audiences       = ["https://deploy.example.com"]
}
`, project, sa, ref)
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: cfg("id"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(tokenAddr, tfjsonpath.New("project"), knownvalue.StringExact(project)),
					statecheck.ExpectKnownValue(tokenAddr, tfjsonpath.New("token"), knownvalue.StringRegexp(regexp.MustCompile(`^eyJ`))),
					statecheck.ExpectKnownValue(tokenAddr, tfjsonpath.New("name"), knownvalue.StringExact("terraform")),
					// The positive control for the ephemeral test's "no JWT in the state" check: a
					// JWT-format token's secret is in the state, and the check sees it.
					expectJWTInState{},
				},
				Check: s.capture(tokenAddr),
			},
			{
				Config: cfg("email"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(tokenAddr, plancheck.ResourceActionUpdate),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(s.capture(tokenAddr), s.sameAsBefore()),
			},
		},
	})
}

// Mistakes that plan-time validation catches before anything is sent to the server.
func TestAccToken_validation(t *testing.T) {
	cfg := func(extra string) string {
		return `
resource "latchkey_token" "bad" {
  service_account = "ci@default.serviceaccounts.latchkey"
` + extra + `
}
`
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: cfg(`ttl_seconds = 600
  rotate_before = "10m"`), PlanOnly: true, ExpectError: regexp.MustCompile(`rotate_before is not shorter than`)},
			{Config: cfg(`ttl_seconds = 600
  ttl_days = 1`), PlanOnly: true, ExpectError: regexp.MustCompile(`(?s)Invalid Attribute Combination`)},
			{Config: cfg(`ttl_seconds = 599`), PlanOnly: true, ExpectError: regexp.MustCompile(`(?s)must be at least 600`)},
			{Config: cfg(`rotate_before = "soon"`), PlanOnly: true, ExpectError: regexp.MustCompile(`Invalid duration`)},
			{Config: cfg(`access = "admin"`), PlanOnly: true, ExpectError: regexp.MustCompile(`(?s)value must be one of`)},
			{Config: `
resource "latchkey_token" "bad" {
  service_account = "ci@default"
}
`, PlanOnly: true, ExpectError: regexp.MustCompile(`Invalid service account`)},
		},
	})
}

type expectJWTInState struct{}

func (expectJWTInState) CheckState(_ context.Context, req statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	if _, ok := containsJWT(req.State); !ok {
		resp.Error = fmt.Errorf("expected the JWT-format token's secret to be found in the state")
	}
}
