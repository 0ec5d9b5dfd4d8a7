terraform {
  required_version = ">= 1.6"

  required_providers {
    defentry = {
      source  = "defentry/defentry"
      version = "~> 0.2"
    }
  }
}

# Reads DEFENTRY_API_DOMAIN, DEFENTRY_USERNAME and DEFENTRY_PASSWORD from the environment.
provider "defentry" {}

variable "rotation_period" {
  description = "How often the token is replaced, as a Go duration such as \"168h\", \"90m\" or \"30s\"."
  type        = string
  default     = "168h"
}

resource "defentry_token" "quickstart" {
  rotation_period = var.rotation_period
  keep_logged     = true

  lifecycle {
    create_before_destroy = true
  }
}

output "token_id" {
  description = "Not secret: identifies the current token and changes on every rotation."
  value       = defentry_token.quickstart.token_id
}

output "rotate_at" {
  description = "The first plan after this time replaces the token."
  value       = defentry_token.quickstart.rotate_at
}

output "token" {
  description = "The CRM token; print it with `terraform output -raw token`."
  value       = defentry_token.quickstart.token
  sensitive   = true
}
