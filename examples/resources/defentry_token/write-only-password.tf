# The password comes from an ephemeral variable and reaches neither plan nor state
# (write-only arguments need Terraform 1.11). Bump password_wo_version after changing it.
variable "defentry_password" {
  type      = string
  sensitive = true
  ephemeral = true
}

resource "defentry_token" "reporting" {
  username            = "acme-backend-integration@partner.com"
  password_wo         = var.defentry_password
  password_wo_version = "1"

  triggers = {
    # Any change here rotates the token, like the keepers of random_password.
    environment = "production"
  }
}
