# Ask Defentry to email a password-reset token (Terraform 1.14+):
#   terraform apply -invoke=action.defentry_password_forgot.admin
action "defentry_password_forgot" "admin" {
  config {
    email = "admin@partner.com"
  }
}
