# One session per Terraform run: logged in when Terraform opens it, always logged out when
# Terraform is done, and never written to plan or state (Terraform 1.10+).
ephemeral "defentry_session" "job" {}

resource "terraform_data" "crm_job" {
  provisioner "local-exec" {
    # Replace with your own tool. It reads the header from its environment: never put a
    # token on a command line, where other users of the machine can see it.
    command = "echo \"calling the CRM as session $DEFENTRY_TOKEN_ID\""
    environment = {
      DEFENTRY_TOKEN_ID      = ephemeral.defentry_session.job.token_id
      DEFENTRY_AUTHORIZATION = ephemeral.defentry_session.job.authorization_header
    }
  }
}
