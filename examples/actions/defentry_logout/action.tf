# Break-glass revocation of a leaked token (Terraform 1.14+):
#   TF_VAR_leaked_token='7|...' terraform apply -invoke=action.defentry_logout.leaked
variable "leaked_token" {
  type      = string
  sensitive = true
}

action "defentry_logout" "leaked" {
  config {
    token = var.leaked_token
  }
}
