# Rotation on a schedule: time_rotating gets a new id every 30 days, which changes
# rotate_when_changed and so replaces the token. rotate_before is the safety net: a token within
# 7 days of expiry is replaced by the next apply, whatever the schedule did.
resource "time_rotating" "monthly" {
  rotation_days = 30
}

resource "latchkey_service_account" "deployer" {
  name = "deployer"
  role = "contributor"
}

resource "latchkey_token" "deployer" {
  service_account     = latchkey_service_account.deployer.email
  ttl_days            = 45
  rotate_when_changed = { rotation = time_rotating.monthly.id }
  rotate_before       = "7d"

  # Issue the new token before revoking the old one.
  lifecycle {
    create_before_destroy = true
  }
}
