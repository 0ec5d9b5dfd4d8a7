terraform {
  required_version = ">= 1.11"

  required_providers {
    defentry = {
      source  = "defentry/defentry"
      version = "~> 0.2"
    }
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = ">= 2.36" # data_wo
    }
  }
}

provider "defentry" {}
provider "kubernetes" {}

resource "defentry_token" "backend" {
  rotation_period = "168h"
  keep_logged     = true

  lifecycle {
    create_before_destroy = true
  }
}

# Write-only data: the Kubernetes resource keeps no copy of the token in state. A new
# token_id (every rotation) rewrites the secret.
resource "kubernetes_secret_v1" "defentry" {
  metadata {
    name      = "defentry-crm"
    namespace = "backend"
    annotations = {
      # Not secret; shows which token the secret holds.
      "defentry.example.com/token-id" = defentry_token.backend.token_id
    }
  }

  type = "Opaque"
  data_wo = {
    DEFENTRY_TOKEN = defentry_token.backend.token
  }
  data_wo_revision = tonumber(defentry_token.backend.token_id)
}
