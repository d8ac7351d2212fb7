# The secret as a sensitive output (`terraform output -raw token`), and in a file only its owner
# can read. Both come from the state, so the state must be protected like the token itself.
resource "latchkey_service_account" "backup" {
  name = "backup"
}

resource "latchkey_token" "backup" {
  service_account = latchkey_service_account.backup.email
  access          = "read-only"
}

output "token" {
  value     = latchkey_token.backup.token
  sensitive = true
}

resource "local_sensitive_file" "token" {
  filename        = "${path.module}/backup.token"
  content         = latchkey_token.backup.token
  file_permission = "0600"
}
