# A project is a boundary for names and permissions, like a Conduktor virtual cluster or a
# Kubernetes namespace. Creating one needs an organization-scoped admin or owner.
resource "latchkey_project" "payments" {
  name        = "payments"
  description = "Payment services and their deploy robots"
  labels      = { team = "payments" }
}
