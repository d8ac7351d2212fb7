# Project "default" always exists.
data "latchkey_project" "default" {
  name = "default"
}
