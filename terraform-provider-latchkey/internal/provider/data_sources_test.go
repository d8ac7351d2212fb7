package provider

import (
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

func TestAccDataSources(t *testing.T) {
	sa := uniqueName("lookup")
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: fmt.Sprintf(`
data "latchkey_project" "default" {
  name = "default"
}

resource "latchkey_service_account" "sa" {
  name   = %q
  role   = "contributor"
  labels = { team = "platform" }
}

data "latchkey_service_account" "by_email" {
  email = latchkey_service_account.sa.email
}

data "latchkey_service_account" "by_id" {
  id = latchkey_service_account.sa.id
}

data "latchkey_service_account" "by_name" {
  project = data.latchkey_project.default.name
  name    = latchkey_service_account.sa.name
}
`, sa),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.latchkey_project.default", tfjsonpath.New("id"), knownvalue.NotNull()),
					statecheck.ExpectKnownValue("data.latchkey_service_account.by_email", tfjsonpath.New("role"), knownvalue.StringExact("contributor")),
					statecheck.ExpectKnownValue("data.latchkey_service_account.by_id", tfjsonpath.New("labels").AtMapKey("team"), knownvalue.StringExact("platform")),
					statecheck.CompareValuePairs("latchkey_service_account.sa", tfjsonpath.New("id"),
						"data.latchkey_service_account.by_email", tfjsonpath.New("id"), compare.ValuesSame()),
					statecheck.CompareValuePairs("latchkey_service_account.sa", tfjsonpath.New("email"),
						"data.latchkey_service_account.by_id", tfjsonpath.New("email"), compare.ValuesSame()),
					statecheck.CompareValuePairs("latchkey_service_account.sa", tfjsonpath.New("id"),
						"data.latchkey_service_account.by_name", tfjsonpath.New("id"), compare.ValuesSame()),
				},
			},
		},
	})
}
