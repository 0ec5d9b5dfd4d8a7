terraform {
  required_version = ">= 1.6"

  required_providers {
    defentry = {
      source  = "defentry/defentry"
      version = "~> 0.2"
    }
  }

  # The state must survive between CI runs: configure a remote backend, for example
  #   backend "s3" { bucket = "acme-terraform-state", key = "defentry/ci-token.tfstate", region = "eu-west-1" }
  # or GitLab's managed state: backend "http" {}
}

# DEFENTRY_API_DOMAIN, DEFENTRY_USERNAME and DEFENTRY_PASSWORD come from CI variables.
provider "defentry" {}

variable "rotation_period" {
  description = "Token age at which the next scheduled run replaces it. The token then lives up to rotation_period plus the schedule interval: keep that sum below the lifetime Defentry gives your sessions."
  type        = string
  default     = "24h"
}

variable "rotation_anchor" {
  description = "Aligns rotations to a fixed grid (rotation_anchor + k * rotation_period): with 24h, every day at 02:00 UTC, however late the CI run that applies them."
  type        = string
  default     = "2026-01-01T02:00:00Z"
}

resource "defentry_token" "ci" {
  rotation_period = var.rotation_period
  rotation_anchor = var.rotation_anchor
  keep_logged     = true

  lifecycle {
    create_before_destroy = true
  }
}

output "token_id" {
  value = defentry_token.ci.token_id
}

output "rotate_at" {
  value = defentry_token.ci.rotate_at
}
