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

func TestAccServiceAccount_lifecycle(t *testing.T) {
	project := uniqueName("sap")
	name := uniqueName("deployer")
	renamed := uniqueName("deployer")
	const addr = "latchkey_service_account.sa"
	cfg := func(saName, role, owner string, disabled bool) string {
		return fmt.Sprintf(`
resource "latchkey_project" "p" {
  name = %q
}

resource "latchkey_service_account" "sa" {
  project     = latchkey_project.p.name
  name        = %q
  description = "deploys ${latchkey_project.p.name}"
  owner       = %q
  role        = %q
  disabled    = %t
  labels      = { team = "platform" }
}
`, project, saName, owner, role, disabled)
	}
	var firstID string
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			_, err := testClient(t).GetServiceAccount(context.Background(), project, renamed)
			if !client.IsNotFound(err) {
				return fmt.Errorf("service account still exists after destroy (%v)", err)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: cfg(name, "viewer", "platform-team", false),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr(addr, "email", client.Email(project, name)),
					resource.TestCheckResourceAttr(addr, "scope", "project"),
					resource.TestCheckResourceAttrSet(addr, "id"),
					func(st *terraform.State) error {
						firstID = st.RootModule().Resources[addr].Primary.ID
						return nil
					},
				),
			},
			{
				ResourceName:                         addr,
				ImportState:                          true,
				ImportStateId:                        client.Email(project, name),
				ImportStateVerify:                    true,
				ImportStateVerifyIdentifierAttribute: "email",
			},
			{
				ResourceName:                         addr,
				ImportState:                          true,
				ImportStateIdFunc:                    func(*terraform.State) (string, error) { return firstID, nil },
				ImportStateVerify:                    true,
				ImportStateVerifyIdentifierAttribute: "id",
			},
			{
				// Role, owner and disabled change in place.
				Config: cfg(name, "contributor", "sre", true),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr(addr, "role", "contributor"),
					resource.TestCheckResourceAttr(addr, "disabled", "true"),
					func(*terraform.State) error {
						sa, err := testClient(t).GetServiceAccount(context.Background(), project, name)
						if err != nil {
							return err
						}
						if sa.ID != firstID || sa.Role != "contributor" || sa.Owner != "sre" || !sa.Disabled {
							return fmt.Errorf("unexpected account after update: %+v", sa)
						}
						return nil
					},
				),
			},
			{
				// A new name is a new account.
				Config: cfg(renamed, "contributor", "sre", false),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionDestroyBeforeCreate),
				}},
				Check: func(st *terraform.State) error {
					if st.RootModule().Resources[addr].Primary.ID == firstID {
						return fmt.Errorf("renaming did not replace the account")
					}
					return nil
				},
			},
		},
	})
}
