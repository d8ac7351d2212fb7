# A short-lived JWT for an existing account (Kubernetes TokenRequest). It is requested on every
# plan and apply and never stored: use it where ephemeral values are accepted, such as a provider
# configuration or a write-only argument.
ephemeral "latchkey_token_request" "deployer" {
  service_account    = "deployer@default.serviceaccounts.latchkey"
  expiration_seconds = 900 # at least 600; the server may shorten it
  # audiences defaults to Latchkey's own API; name other services to get a JWT for them.
}

# Act as the deployer account, without ever storing a long-lived token for it.
provider "latchkey" {
  alias = "deployer"
  token = ephemeral.latchkey_token_request.deployer.token
}

data "latchkey_service_account" "self" {
  provider = latchkey.deployer
  email    = "deployer@default.serviceaccounts.latchkey"
}
