# Run with `terraform test` against defentry-mock:
#   defentry-mock --listen 127.0.0.1:8088 &
#   export DEFENTRY_API_DOMAIN=http://127.0.0.1:8088
#   export DEFENTRY_USERNAME=acme-backend-integration@partner.com
#   export DEFENTRY_PASSWORD=your_service_account_password
#   terraform test
# Runs share one state, in order; Terraform destroys it (logging the token out) at the end.

run "plan_shows_what_will_be_created" {
  command = plan

  assert {
    condition     = defentry_token.this.keep_logged == true
    error_message = "keep_logged should be planned as configured."
  }

  assert {
    condition     = defentry_token.this.username == "acme-backend-integration@partner.com"
    error_message = "username should default to the provider's (DEFENTRY_USERNAME)."
  }
}

run "apply_issues_a_token" {
  assert {
    condition     = can(regex("^[0-9]+$", defentry_token.this.token_id))
    error_message = "token_id should be the numeric id before the | of the token."
  }

  assert {
    condition     = defentry_token.this.id == defentry_token.this.token_id
    error_message = "id should equal token_id."
  }

  assert {
    condition     = startswith(defentry_token.this.token, "${defentry_token.this.token_id}|")
    error_message = "token should start with token_id and a |."
  }

  assert {
    condition     = defentry_token.this.authorization_header == "Bearer ${defentry_token.this.token}"
    error_message = "authorization_header should be Bearer followed by the token."
  }

  assert {
    condition     = output.token_id == defentry_token.this.token_id
    error_message = "The token_id output should expose the token id."
  }
}

run "rotate_at_is_one_period_after_created_at" {
  assert {
    condition     = defentry_token.this.rotate_at == timeadd(defentry_token.this.created_at, "168h")
    error_message = "rotate_at should be created_at plus rotation_period."
  }

  assert {
    condition     = output.token_id == run.apply_issues_a_token.token_id
    error_message = "A second apply with the same configuration must not rotate the token."
  }
}

run "rotation_anchor_aligns_rotate_at_to_its_grid" {
  variables {
    rotation_anchor = "2026-01-01T02:00:00Z"
  }

  assert {
    condition     = endswith(defentry_token.this.rotate_at, "T02:00:00Z")
    error_message = "With a 02:00 anchor and a 168h period, rotations happen at 02:00 UTC."
  }

  assert {
    condition     = timecmp(defentry_token.this.rotate_at, defentry_token.this.created_at) > 0 && timecmp(defentry_token.this.rotate_at, timeadd(defentry_token.this.created_at, "168h")) <= 0
    error_message = "rotate_at should be the first grid point after created_at."
  }

  assert {
    condition     = output.token_id == run.apply_issues_a_token.token_id
    error_message = "Setting rotation_anchor is an in-place change, not a rotation."
  }
}

run "no_rotation_period_means_no_rotate_at" {
  variables {
    rotation_period = null
  }

  assert {
    condition     = defentry_token.this.rotate_at == null
    error_message = "Without rotation_period there is no scheduled rotation."
  }

  assert {
    condition     = output.token_id == run.apply_issues_a_token.token_id
    error_message = "Removing rotation_period is an in-place change, not a rotation."
  }
}

run "changing_triggers_rotates_the_token" {
  variables {
    triggers = {
      generation = "2"
    }
  }

  assert {
    condition     = output.token_id != run.apply_issues_a_token.token_id
    error_message = "A change of triggers must replace the token."
  }

  assert {
    condition     = timecmp(output.created_at, run.apply_issues_a_token.created_at) >= 0
    error_message = "The new token cannot be older than the first one."
  }
}
