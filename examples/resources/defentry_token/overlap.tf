# Rotated daily in place, with an overlap: after each rotation the previous token stays valid
# for an hour (as previous_token), so consumers that cached it keep working until they re-read
# the secret. Run terraform apply at least hourly so the previous token is logged out on time.
resource "defentry_token" "api" {
  rotation_period = "24h"
  overlap         = "1h"
  keep_logged     = true
}

# Key consumers on token_id: it changes on every rotation, and not when the previous token is
# logged out (an in-place update that a whole-resource reference would also react to).
resource "terraform_data" "api_release" {
  input = defentry_token.api.token_id

  lifecycle {
    replace_triggered_by = [defentry_token.api.token_id]
  }
}
