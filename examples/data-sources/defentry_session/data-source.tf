# Logs in each time Terraform reads it (every plan and apply) and can never log out: the
# sessions live until Defentry expires them. Prefer the ephemeral resource (Terraform 1.10+)
# or defentry_token.
data "defentry_session" "current" {}

output "session_token_id" {
  value = data.defentry_session.current.token_id
}
