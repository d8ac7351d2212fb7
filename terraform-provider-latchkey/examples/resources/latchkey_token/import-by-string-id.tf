import {
  to = latchkey_token.ci
  id = "8a0c63c9-6b3c-4a4e-9bb2-4f3a7b6f1d10"
}
