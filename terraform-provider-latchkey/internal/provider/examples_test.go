package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/latchkey/terraform-provider-latchkey/internal/client"
)

// Every example in examples/ (they are the docs' examples) is applied against the real server
// and destroyed again, so the documentation cannot drift from what works.

func readExample(t *testing.T, rel string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "examples", rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// exampleStep applies an example and checks what the example promises.
func exampleStep(t *testing.T, rel string, check resource.TestCheckFunc) resource.TestStep {
	return resource.TestStep{Config: readExample(t, rel), Check: check}
}

func tokenWorks(addr string) resource.TestCheckFunc {
	return func(st *terraform.State) error {
		rs, ok := st.RootModule().Resources[addr]
		if !ok {
			return fmt.Errorf("%s is not in the state", addr)
		}
		if status, err := whoamiStatus(rs.Primary.Attributes["token"]); err != nil || status != 200 {
			return fmt.Errorf("%s does not authenticate: %d %v", addr, status, err)
		}
		return nil
	}
}

// The provider example names a server that does not exist: it is planned, with nothing to do.
// The test serves the provider as hashicorp/latchkey (TF_ACC_PROVIDER_NAMESPACE), so the example's
// source address is adjusted to that.
func TestAccExamples_provider(t *testing.T) {
	t.Setenv("TF_VAR_latchkey_token", "lk_example")
	config := strings.Replace(readExample(t, "provider/provider.tf"), `source = "latchkey/latchkey"`, `source = "hashicorp/latchkey"`, 1)
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:   config,
			PlanOnly: true,
		}},
	})
}

func TestAccExamples_tokenSimple(t *testing.T) {
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{exampleStep(t, "resources/latchkey_token/resource.tf", resource.ComposeAggregateTestCheckFunc(
			tokenWorks("latchkey_token.ci"),
			resource.TestCheckResourceAttr("latchkey_token.ci", "ttl_seconds", "2592000"),
			resource.TestCheckResourceAttr("latchkey_token.ci", "service_account_email", "ci@default.serviceaccounts.latchkey"),
		))},
	})
}

func TestAccExamples_tokenInAnotherProject(t *testing.T) {
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{exampleStep(t, "resources/latchkey_token/resource-non-default-project.tf", resource.ComposeAggregateTestCheckFunc(
			tokenWorks("latchkey_token.gateway"),
			resource.TestCheckResourceAttr("latchkey_token.gateway", "project", "payments"),
			resource.TestCheckResourceAttr("latchkey_token.gateway", "service_account_email", "gateway-user@payments.serviceaccounts.latchkey"),
		))},
	})
}

func TestAccExamples_tokenAsOutputAndFile(t *testing.T) {
	providers := map[string]func() (tfprotov6.ProviderServer, error){
		"latchkey": providerserver.NewProtocol6WithError(New("test")()),
		"local":    providerserver.NewProtocol6WithError(newTestLocalProvider()()),
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: providers,
		Steps: []resource.TestStep{{
			Config: readExample(t, "resources/latchkey_token/resource-sensitive-output-and-file.tf"),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectSensitiveValue("latchkey_token.backup", tfjsonpathToken),
			}},
			Check: resource.ComposeAggregateTestCheckFunc(
				tokenWorks("latchkey_token.backup"),
				resource.TestCheckResourceAttr("latchkey_token.backup", "access", "read-only"),
				func(st *terraform.State) error {
					out, ok := st.RootModule().Outputs["token"]
					if !ok || !out.Sensitive || !strings.HasPrefix(fmt.Sprint(out.Value), "lk_") {
						return fmt.Errorf("expected a sensitive output holding the token, got %+v", out)
					}
					file := st.RootModule().Resources["local_sensitive_file.token"].Primary.Attributes["filename"]
					raw, err := os.ReadFile(file)
					if err != nil {
						return err
					}
					if string(raw) != out.Value {
						return fmt.Errorf("%s does not hold the token", file)
					}
					if info, err := os.Stat(file); err != nil || info.Mode().Perm() != 0o600 {
						return fmt.Errorf("%s should be 0600: %v %v", file, info.Mode(), err)
					}
					return nil
				},
			),
		}},
	})
}

func TestAccExamples_tokenRotation(t *testing.T) {
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		ExternalProviders:        timeProvider,
		Steps: []resource.TestStep{exampleStep(t, "resources/latchkey_token/resource-rotation.tf", resource.ComposeAggregateTestCheckFunc(
			tokenWorks("latchkey_token.deployer"),
			resource.TestCheckResourceAttrPair("latchkey_token.deployer", "rotate_when_changed.rotation", "time_rotating.monthly", "id"),
			resource.TestCheckResourceAttr("latchkey_token.deployer", "ttl_seconds", "3888000"),
		))},
	})
}

func TestAccExamples_projectAndServiceAccount(t *testing.T) {
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{exampleStep(t, "resources/latchkey_project/resource.tf", resource.TestCheckResourceAttr("latchkey_project.payments", "labels.team", "payments")),
			{
				Config:            readExample(t, "resources/latchkey_project/resource.tf"),
				ResourceName:      "latchkey_project.payments",
				ImportState:       true,
				ImportStateId:     "payments", // as examples/resources/latchkey_project/import.sh
				ImportStateVerify: true,
				// The project's id is the UUID; import uses its name.
				ImportStateVerifyIdentifierAttribute: "name",
			},
			exampleStep(t, "resources/latchkey_service_account/resource.tf", resource.TestCheckResourceAttr("latchkey_service_account.deployer", "email", "deployer@default.serviceaccounts.latchkey")),
			{
				Config:                               readExample(t, "resources/latchkey_service_account/resource.tf"),
				ResourceName:                         "latchkey_service_account.deployer",
				ImportState:                          true,
				ImportStateId:                        "default/deployer",
				ImportStateVerify:                    true,
				ImportStateVerifyIdentifierAttribute: "email",
			},
		},
	})
}

func TestAccExamples_dataSources(t *testing.T) {
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: readExample(t, "data-sources/latchkey_project/data-source.tf") + readExample(t, "data-sources/latchkey_service_account/data-source.tf"),
			Check: resource.ComposeAggregateTestCheckFunc(
				resource.TestCheckResourceAttrSet("data.latchkey_project.default", "id"),
				resource.TestCheckResourceAttr("data.latchkey_service_account.bootstrap", "role", "owner"),
				resource.TestCheckResourceAttr("data.latchkey_service_account.bootstrap", "scope", "organization"),
				resource.TestCheckResourceAttrPair("data.latchkey_service_account.bootstrap", "id", "data.latchkey_service_account.same", "id"),
			),
		}},
	})
}

func TestAccExamples_ephemeralTokenRequest(t *testing.T) {
	resource.Test(t, resource.TestCase{
		PreCheck: func() {
			testAccPreCheck(t)
			_, err := testClient(t).CreateServiceAccount(context.Background(), "default", client.CreateServiceAccountRequest{Name: "deployer"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = testClient(t).DeleteServiceAccount(context.Background(), "default", "deployer") })
		},
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: readExample(t, "ephemeral-resources/latchkey_token_request/ephemeral-resource.tf"),
			Check:  resource.TestCheckResourceAttr("data.latchkey_service_account.self", "name", "deployer"),
		}},
	})
}
