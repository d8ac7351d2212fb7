resource "latchkey_service_account" "deployer" {
  project     = "default" # the default; changing it replaces the account
  name        = "deployer"
  description = "Deploys from CI"
  owner       = "platform-team"
  role        = "contributor" # viewer < contributor < admin < owner; changed in place
  labels      = { team = "platform" }
}
