# Configuration under test. Copy this folder next to your own configuration, or point the run
# blocks at your module with `module { source = "..." }`.
terraform {
  required_version = ">= 1.6"

  required_providers {
    defentry = {
      source  = "defentry/defentry"
      version = "~> 0.2"
    }
  }
}

# DEFENTRY_API_DOMAIN, DEFENTRY_USERNAME and DEFENTRY_PASSWORD come from the environment:
# point them at defentry-mock (or a sandbox account), never at production.
provider "defentry" {}

variable "rotation_period" {
  type     = string
  default  = "168h"
  nullable = true
}

variable "rotation_anchor" {
  type    = string
  default = null
}

variable "triggers" {
  type    = map(string)
  default = {}
}

resource "defentry_token" "this" {
  rotation_period = var.rotation_period
  rotation_anchor = var.rotation_anchor
  keep_logged     = true
  triggers        = var.triggers
}

output "token_id" {
  value = defentry_token.this.token_id
}

output "created_at" {
  value = defentry_token.this.created_at
}
