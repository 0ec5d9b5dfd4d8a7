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

variable "publish_command" {
  description = "Shell command that stores the token, read from $DEFENTRY_TOKEN. printf is a shell builtin, so the token never appears in a process list."
  type        = string
  default     = "printf '%s' \"$DEFENTRY_TOKEN\" | gh secret set DEFENTRY_TOKEN --repo acme/backend"
}

resource "defentry_token" "ci" {
  rotation_period = "168h"
  keep_logged     = true

  lifecycle {
    create_before_destroy = true
  }
}

# Runs the command on creation and again after every rotation.
resource "terraform_data" "publish" {
  triggers_replace = [defentry_token.ci.token_id]

  provisioner "local-exec" {
    command = var.publish_command
    # Secrets travel in the environment, never on the command line.
    environment = {
      DEFENTRY_TOKEN    = defentry_token.ci.token
      DEFENTRY_TOKEN_ID = defentry_token.ci.token_id
    }
  }
}
