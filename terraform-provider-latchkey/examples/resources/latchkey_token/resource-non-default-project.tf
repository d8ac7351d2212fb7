# A token for an account in another project (a Conduktor gateway token for a user in a virtual
# cluster). Re-issued automatically: when it expires or is revoked, the next apply creates a new one.
resource "latchkey_project" "payments" {
  name = "payments"
}

resource "latchkey_service_account" "gateway" {
  project = latchkey_project.payments.name
  name    = "gateway-user"
}

resource "latchkey_token" "gateway" {
  service_account = latchkey_service_account.gateway.email # gateway-user@payments.serviceaccounts.latchkey
  ttl_seconds     = 86400
}
