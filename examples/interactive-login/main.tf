terraform {
  required_version = ">= 1.11"

  required_providers {
    defentry = {
      source  = "defentry/defentry"
      version = "~> 0.2"
    }
  }
}

provider "defentry" {}

# A deliberate break-glass login as a 2FA-enrolled human administrator. Service accounts do
# not use 2FA and never need these settings.
variable "admin_password" {
  type      = string
  sensitive = true
  ephemeral = true
}

variable "admin_totp_secret" {
  description = "Base32 TOTP secret shown when the admin enrolled in 2FA."
  type        = string
  sensitive   = true
  ephemeral   = true
}

ephemeral "defentry_session" "admin" {
  username    = "admin@partner.com"
  password    = var.admin_password
  totp_secret = var.admin_totp_secret
}

resource "terraform_data" "admin_task" {
  provisioner "local-exec" {
    command = "echo \"admin session $DEFENTRY_TOKEN_ID is ready\""
    environment = {
      DEFENTRY_TOKEN_ID      = ephemeral.defentry_session.admin.token_id
      DEFENTRY_AUTHORIZATION = ephemeral.defentry_session.admin.authorization_header
    }
  }
}
