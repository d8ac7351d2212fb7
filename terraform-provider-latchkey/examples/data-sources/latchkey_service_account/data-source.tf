# The organization owner the server created on its first start.
data "latchkey_service_account" "bootstrap" {
  email = "bootstrap@default.serviceaccounts.latchkey"
}

# By project and name, or by id.
data "latchkey_service_account" "same" {
  project = "default"
  name    = "bootstrap"
}
