terraform {
  required_version = ">= 1.6"

  required_providers {
    defentry = {
      source  = "defentry/defentry"
      version = "~> 0.2"
    }
  }
}

provider "defentry" {}

variable "rotation_period" {
  type    = string
  default = "168h"
}

resource "defentry_token" "app" {
  rotation_period = var.rotation_period
  keep_logged     = true

  lifecycle {
    # Order on rotation: log in (new token), replace the consumers, then log the old token out.
    create_before_destroy = true
  }
}

# Stands in for whatever uses the token: a deployment, a secret, a CI variable.
resource "terraform_data" "app_release" {
  input = {
    token_id = defentry_token.app.token_id
  }

  lifecycle {
    create_before_destroy = true
    # Rotation is a real replacement of defentry_token, so this fires on every rotation.
    replace_triggered_by = [defentry_token.app]
  }
}

output "token_id" {
  value = defentry_token.app.token_id
}

output "release_token_id" {
  value = terraform_data.app_release.output.token_id
}
