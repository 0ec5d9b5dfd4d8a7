terraform {
  required_version = ">= 1.11"

  required_providers {
    defentry = {
      source  = "defentry/defentry"
      version = "~> 0.2"
    }
    vault = {
      source  = "hashicorp/vault"
      version = ">= 5.0" # data_json_wo
    }
  }
}

provider "defentry" {}
provider "vault" {}

resource "defentry_token" "backend" {
  rotation_period = "168h"
  keep_logged     = true

  lifecycle {
    create_before_destroy = true
  }
}

# The token is written to Vault through a write-only argument, so the Vault resource stores
# no copy of it. token_id changes on every rotation, which makes it the natural version:
# each rotation writes a new KV version.
resource "vault_kv_secret_v2" "defentry" {
  mount = "secret"
  name  = "backend/defentry-crm"

  data_json_wo = jsonencode({
    token                = defentry_token.backend.token
    authorization_header = defentry_token.backend.authorization_header
  })
  # data_json_wo_version is a number; Defentry token ids are digits.
  data_json_wo_version = tonumber(defentry_token.backend.token_id)
}
