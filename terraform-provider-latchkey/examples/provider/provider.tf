terraform {
  required_providers {
    latchkey = {
      source = "latchkey/latchkey"
    }
  }
}

# Both arguments can be left out: they default to LATCHKEY_ADDR and LATCHKEY_TOKEN.
provider "latchkey" {
  address = "https://latchkey.example.com"
  token   = var.latchkey_token
}

variable "latchkey_token" {
  type      = string
  sensitive = true
}
