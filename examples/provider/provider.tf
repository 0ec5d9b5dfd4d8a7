terraform {
  required_version = ">= 1.6"

  required_providers {
    defentry = {
      source  = "defentry/defentry"
      version = "~> 0.2"
    }
  }
}

# Every setting can come from the environment, which keeps credentials out of files:
#   export DEFENTRY_API_DOMAIN=https://api.example.com
#   export DEFENTRY_USERNAME=acme-backend-integration@partner.com
#   export DEFENTRY_PASSWORD=...   (from your secret manager)
provider "defentry" {
  request_timeout = "30s"
  max_retries     = 4
}
