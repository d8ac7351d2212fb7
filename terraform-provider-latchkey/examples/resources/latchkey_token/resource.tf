# A token for a service account (STACKIT's service account access token, Pactflow's API token).
resource "latchkey_service_account" "ci" {
  name = "ci"
  role = "contributor"
}

resource "latchkey_token" "ci" {
  service_account = latchkey_service_account.ci.email
  name            = "github-actions"
  description     = "Deploys from the main branch"
  owner           = "platform-team"
  access          = "read-write" # or "read-only", capped at viewer
  ttl_days        = 30           # or ttl_seconds; 90 days by default
}
