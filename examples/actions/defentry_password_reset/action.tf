# Complete the recovery with the emailed token (Terraform 1.14+):
#   export TF_VAR_reset_token=... TF_VAR_new_password=...
#   terraform apply -invoke=action.defentry_password_reset.admin
variable "reset_token" {
  type      = string
  sensitive = true
}

variable "new_password" {
  type      = string
  sensitive = true
}

action "defentry_password_reset" "admin" {
  config {
    token    = var.reset_token
    password = var.new_password
  }
}
