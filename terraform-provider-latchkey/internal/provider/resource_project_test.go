package provider

import (
	"context"
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/latchkey/terraform-provider-latchkey/internal/client"
)

func TestAccProject_lifecycle(t *testing.T) {
	name := uniqueName("proj")
	cfg := func(description, labels string) string {
		return fmt.Sprintf(`
resource "latchkey_project" "p" {
  name        = %q
  description = %q
  labels      = %s
}
`, name, description, labels)
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			_, err := testClient(t).GetProject(context.Background(), name)
			if !client.IsNotFound(err) {
				return fmt.Errorf("project %s still exists after destroy (%v)", name, err)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: cfg("payments", `{ team = "payments" }`),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttrSet("latchkey_project.p", "id"),
					resource.TestCheckResourceAttr("latchkey_project.p", "labels.team", "payments"),
				),
			},
			{
				ResourceName:                         "latchkey_project.p",
				ImportState:                          true,
				ImportStateId:                        name,
				ImportStateVerify:                    true,
				ImportStateVerifyIdentifierAttribute: "name",
			},
			{
				Config: cfg("payments, edited", `{ team = "payments", tier = "1" }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("latchkey_project.p", plancheck.ResourceActionUpdate),
				}},
				Check: func(*terraform.State) error {
					p, err := testClient(t).GetProject(context.Background(), name)
					if err != nil {
						return err
					}
					if p.Description != "payments, edited" || p.Labels["tier"] != "1" {
						return fmt.Errorf("the server did not get the edit: %+v", p)
					}
					return nil
				},
			},
			{
				// Deleted out of band: the next plan creates it again.
				PreConfig: func() {
					if err := testClient(t).DeleteProject(context.Background(), name); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg("payments, edited", `{ team = "payments", tier = "1" }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("latchkey_project.p", plancheck.ResourceActionCreate),
				}},
			},
		},
	})
}
