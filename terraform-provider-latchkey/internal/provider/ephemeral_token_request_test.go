package provider

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"
)

// noJWTInState fails when anything in the state (as `tofu show -json` prints it, sensitive
// values included) looks like a JWT.
type noJWTInState struct{}

func (noJWTInState) CheckState(_ context.Context, req statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	if found, ok := containsJWT(req.State); ok {
		resp.Error = fmt.Errorf("the state holds a JWT (%d characters)", len(found))
	}
}

// noJWTInPlan fails when anything in the plan looks like a JWT.
type noJWTInPlan struct{}

func (noJWTInPlan) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	if found, ok := containsJWT(req.Plan); ok {
		resp.Error = fmt.Errorf("the plan holds a JWT (%d characters)", len(found))
	}
}

// The ephemeral token request gives a working JWT: a second provider configuration
// authenticates with it and reads its own account through it. Neither the plan nor the state
// holds it.
func TestAccTokenRequest_ephemeral(t *testing.T) {
	sa := uniqueName("eph")
	hidden := uniqueName("hidden")
	account := fmt.Sprintf(`
resource "latchkey_service_account" "reader" {
  name = %q
}

# A project that the reader, a project-scoped viewer in "default", cannot see.
resource "latchkey_project" "hidden" {
  name = %q
}
`, sa, hidden)
	withJWT := account + `
ephemeral "latchkey_token_request" "jwt" {
  service_account    = latchkey_service_account.reader.email
  expiration_seconds = 600
}

# A provider configuration that authenticates as the account, with the JWT.
provider "latchkey" {
  alias = "as_reader"
  token = ephemeral.latchkey_token_request.jwt.token
}

data "latchkey_service_account" "self" {
  provider = latchkey.as_reader
  email    = latchkey_service_account.reader.email
}
`
	// The working directories (and so the state files) go where the test can read them.
	workDirs := t.TempDir()
	t.Setenv("TF_ACC_TEMP_DIR", workDirs)
	resource.Test(t, resource.TestCase{
		TerraformVersionChecks: []tfversion.TerraformVersionCheck{
			tfversion.SkipBelow(tfversion.Version1_10_0),
		},
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: account},
			{
				Config: withJWT,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{noJWTInPlan{}},
					PostApplyPostRefresh: []plancheck.PlanCheck{noJWTInPlan{}},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					// Read with the JWT: it authenticated as the account itself.
					statecheck.ExpectKnownValue("data.latchkey_service_account.self", tfjsonpath.New("name"), knownvalue.StringExact(sa)),
					statecheck.ExpectKnownValue("data.latchkey_service_account.self", tfjsonpath.New("role"), knownvalue.StringExact("viewer")),
					noJWTInState{},
				},
				Check: func(*terraform.State) error {
					// The state file itself, byte for byte: the account is there, no JWT is.
					files, err := stateFiles(workDirs)
					if err != nil {
						return err
					}
					for _, f := range files {
						raw, err := os.ReadFile(f)
						if err != nil {
							return err
						}
						if !strings.Contains(string(raw), sa) {
							return fmt.Errorf("%s is not the state of this test", f)
						}
						if jwtPattern.Match(raw) {
							return fmt.Errorf("the state file %s holds a JWT", f)
						}
					}
					// The server audited the token request for the account.
					events, err := auditEvents("token.request")
					if err != nil {
						return err
					}
					for _, e := range events {
						if e.Target.Name == sa && e.Outcome == "success" {
							return nil
						}
					}
					return fmt.Errorf("no token.request audit event for %s", sa)
				},
			},
			{
				// The control: through the JWT the provider is the reader, not the bootstrap owner
				// whose token is in LATCHKEY_TOKEN, so a project outside the reader's scope is not found.
				Config: withJWT + `
data "latchkey_project" "hidden" {
  provider = latchkey.as_reader
  name     = latchkey_project.hidden.name
}
`,
				ExpectError: regexp.MustCompile(`(?s)Could not read the project.*404`),
			},
		},
	})
}

// stateFiles lists the terraform.tfstate files under dir; there must be at least one.
func stateFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() == "terraform.tfstate" {
			files = append(files, path)
		}
		return err
	})
	if err == nil && len(files) == 0 {
		err = fmt.Errorf("no terraform.tfstate under %s", dir)
	}
	return files, err
}
