terraform {
  required_version = ">= 1.11"

  required_providers {
    defentry = {
      source  = "defentry/defentry"
      version = "~> 0.2"
    }
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.88" # secret_string_wo
    }
  }
}

provider "defentry" {}
provider "aws" {}

resource "defentry_token" "backend" {
  rotation_period = "168h"
  keep_logged     = true

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_secretsmanager_secret" "defentry" {
  name        = "backend/defentry-crm-token"
  description = "Defentry CRM token, rotated by Terraform"
}

# Write-only: the AWS resource keeps no copy of the token in state. A new token_id (every
# rotation) puts a new secret version.
resource "aws_secretsmanager_secret_version" "defentry" {
  secret_id        = aws_secretsmanager_secret.defentry.id
  secret_string_wo = defentry_token.backend.token
  # secret_string_wo_version is a number. token_id is a string of digits ("42"), so tonumber
  # converts it exactly; Terraform would also convert it implicitly.
  secret_string_wo_version = tonumber(defentry_token.backend.token_id)
}
