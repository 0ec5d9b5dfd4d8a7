# A service-account token that Terraform replaces every 7 days. Each `terraform plan` after
# `rotate_at` shows the replacement; the apply logs in anew and logs the old token out.
resource "defentry_token" "backend" {
  rotation_period = "168h"
  keep_logged     = true # a long-lived session, so that it outlives the rotation period

  lifecycle {
    # The new token exists before the old one is logged out.
    create_before_destroy = true
  }
}

output "backend_token_id" {
  description = "Not secret: changes on every rotation."
  value       = defentry_token.backend.token_id
}
