//! The Defentry actions in real Terraform against defentry-mock: `terraform apply -invoke=...`
//! and `action_trigger`, checked at the mock (sessions, outbox, passwords), plus the diagnostics
//! users see for bad input and the secrets that must never reach `TF_LOG=trace` output.
//!
//! Actions need Terraform 1.14+. Every action test runs with each such Terraform and fails if
//! there is none; older Terraform is covered by a test asserting that the rest of the provider
//! still works there.

pub mod common;

use common::*;
use serde_json::{json, Value};

/// Terraforms that support actions; never empty (the pinned 1.15.5 does).
fn action_terraforms() -> Vec<Terraform> {
    let all = terraforms();
    let found: Vec<Terraform> = all.iter().filter(|t| t.at_least(1, 14)).cloned().collect();
    assert!(
        !found.is_empty(),
        "actions need Terraform >= 1.14, but only {all:?} are available: run `make setup` (tools/ensure_terraform.py)"
    );
    found
}

/// One action of each type, fed by variables (secrets come in through `TF_VAR_*`, as users
/// should pass them: command-line `-var` values would show up in Terraform's own trace log).
const ACTIONS_TF: &str = r#"
variable "token" {
  type      = string
  sensitive = true
  default   = "0|unused"
}

variable "email" {
  type    = string
  default = "nobody@example.com"
}

variable "reset_token" {
  type      = string
  sensitive = true
  default   = "unused"
}

variable "new_password" {
  type      = string
  sensitive = true
  default   = "unused-password"
}

action "defentry_logout" "leaked" {
  config {
    token = var.token
  }
}

action "defentry_password_forgot" "admin" {
  config {
    email = var.email
  }
}

action "defentry_password_reset" "admin" {
  config {
    token    = var.reset_token
    password = var.new_password
  }
}
"#;

fn actions_workspace(tf: &Terraform, mock: &Mock) -> Workspace {
    let ws = Workspace::new(tf, mock);
    ws.write("main.tf", &format!("{REQUIRED_PROVIDERS}{ACTIONS_TF}"));
    ws
}

/// `terraform apply -auto-approve -invoke=<addr>`.
fn invoke(ws: &Workspace, addr: &str) -> Output {
    let flag = format!("-invoke={addr}");
    ws.run(&["apply", "-auto-approve", "-input=false", &flag])
}

fn invoke_ok(ws: &Workspace, addr: &str) -> Output {
    let out = invoke(ws, addr);
    assert_eq!(
        out.code,
        0,
        "{}",
        ws.failure(&["apply", "-invoke", addr], &out)
    );
    out
}

fn invoke_err(ws: &Workspace, addr: &str) -> Output {
    let out = invoke(ws, addr);
    assert_eq!(
        out.code,
        1,
        "expected a failure: {}",
        ws.failure(&["apply", "-invoke", addr], &out)
    );
    out
}

fn token_id(token: &str) -> &str {
    token.split_once('|').map_or(token, |(id, _)| id)
}

/// The line Terraform prints for a progress message of `addr` invoked from the CLI.
fn progress_line(addr: &str, message: &str) -> String {
    format!("Action {addr} (triggered by CLI): {message}")
}

/// Terraform's source snippet for a diagnostic that points at `attr_line` (e.g. `email = ""`)
/// inside `addr`'s block.
fn assert_points_at(tf: &Terraform, out: &Output, addr: &str, attr_line: &str) {
    let text = out.combined();
    assert!(
        text.contains(&format!("with {addr},")) && text.contains(attr_line),
        "{tf}: the diagnostic does not point at `{attr_line}` of {addr}:\n{text}"
    );
}

fn outbox_to(mock: &Mock, to: &str) -> Vec<Value> {
    mock.outbox()["messages"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m["to"] == to)
        .collect()
}

fn login_status(mock: &Mock, username: &str, password: &str) -> u16 {
    let body = json!({"username": username, "password": password});
    mock.http("POST", LOGIN_PATH, None, Some(&body)).0
}

#[test]
fn logout_action_revokes_only_that_session_and_reports_progress() {
    for tf in action_terraforms() {
        let mock = Mock::start();
        let leaked = mock.login(SERVICE_USER, SERVICE_PASSWORD);
        let other = mock.login(SERVICE_USER, SERVICE_PASSWORD);
        let mut ws = actions_workspace(&tf, &mock);
        ws.env("TF_VAR_token", &leaked);

        let out = invoke_ok(&ws, "action.defentry_logout.leaked");
        let addr = "action.defentry_logout.leaked";
        let id = token_id(&leaked);
        let text = out.combined();
        assert!(
            text.contains(&progress_line(
                addr,
                &format!("Logging out Defentry session {id}")
            )) && text.contains(&progress_line(addr, &format!("Session {id} logged out"))),
            "{tf}: progress messages missing:\n{text}"
        );
        assert!(text.contains("Actions: 1 invoked."), "{tf}:\n{text}");
        assert!(
            !text.contains("Warning when invoking action"),
            "{tf}: unexpected warning:\n{text}"
        );

        mock.assert_revoked(&leaked, format_args!("{tf}: still valid"));
        mock.assert_live(&other, format_args!("{tf}: other session hit"));
        let s = mock.sessions_of(SERVICE_USER);
        assert_eq!(
            (s["active"].as_u64(), s["logouts"].as_u64()),
            (Some(1), Some(1)),
            "{tf}: {s}"
        );
        assert!(
            ws.state_text().is_empty() || ws.resources().is_empty(),
            "{tf}: an action must not create state"
        );

        // The same token again: reported as already ended, a warning and not a failure.
        let out = invoke_ok(&ws, addr);
        let text = out.combined();
        assert!(
            text.contains("Warning when invoking action") && text.contains("Session already ended"),
            "{tf}: no warning for an already revoked token:\n{text}"
        );
        assert!(
            text.contains(&progress_line(
                addr,
                &format!("Session {id} was already logged out or expired")
            )),
            "{tf}:\n{text}"
        );
        mock.assert_live(&other, &tf);
    }
}

#[test]
fn logout_action_of_a_malformed_or_unknown_token_warns() {
    for tf in action_terraforms() {
        let mock = Mock::start();
        let mut ws = actions_workspace(&tf, &mock);
        // Never issued: Defentry answers 401, which is "nothing to revoke".
        ws.env(
            "TF_VAR_token",
            "999|aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        );
        let out = invoke_ok(&ws, "action.defentry_logout.leaked");
        assert!(
            out.combined().contains("Session already ended"),
            "{tf}:\n{}",
            out.combined()
        );
        // Not in `<id>|<secret>` form: still sent (Defentry decides), and no "session ?".
        ws.env("TF_VAR_token", "not-a-sanctum-token");
        let out = invoke_ok(&ws, "action.defentry_logout.leaked");
        let text = out.combined();
        assert!(text.contains("Session already ended"), "{tf}:\n{text}");
        assert!(!text.contains("session ?"), "{tf}:\n{text}");
        assert_eq!(mock.sessions()["logouts"], 0, "{tf}");
    }
}

#[test]
fn password_forgot_action_sends_the_reset_mail() {
    for tf in action_terraforms() {
        let mock = Mock::start();
        let mut ws = actions_workspace(&tf, &mock);
        ws.env("TF_VAR_email", ADMIN_USER);
        let addr = "action.defentry_password_forgot.admin";
        let out = invoke_ok(&ws, addr);
        let text = out.combined();
        assert!(
            text.contains(&progress_line(
                addr,
                &format!("Requesting a password reset for {ADMIN_USER}")
            )) && text.contains(&progress_line(
                addr,
                "We have emailed your password reset link."
            )),
            "{tf}: progress messages missing:\n{text}"
        );
        let mails = outbox_to(&mock, ADMIN_USER);
        assert_eq!(mails.len(), 1, "{tf}: {mails:?}");
        assert!(
            mails[0]["reset_token"]
                .as_str()
                .is_some_and(|t| !t.is_empty()),
            "{tf}: {mails:?}"
        );

        // Unknown addresses get the same answer (no enumeration) and no mail.
        ws.env("TF_VAR_email", "nobody@partner.com");
        invoke_ok(&ws, addr);
        assert_eq!(
            mock.outbox()["messages"].as_array().map(Vec::len),
            Some(1),
            "{tf}"
        );
    }
}

#[test]
fn password_reset_action_changes_the_password() {
    const USER: &str = "ops@partner.com";
    const OLD: &str = "old-ops-password";
    const NEW: &str = "brand-new-ops-password";
    for tf in action_terraforms() {
        let mock = Mock::start_with(&["--user", &format!("{USER}:{OLD}")]);
        let mut ws = actions_workspace(&tf, &mock);
        ws.env("TF_VAR_email", USER);
        invoke_ok(&ws, "action.defentry_password_forgot.admin");
        let mails = outbox_to(&mock, USER);
        let reset_token = mails
            .last()
            .and_then(|m| m["reset_token"].as_str())
            .unwrap_or_else(|| panic!("{tf}: no reset mail for {USER}: {mails:?}"))
            .to_string();

        ws.env("TF_VAR_reset_token", &reset_token);
        ws.env("TF_VAR_new_password", NEW);
        let addr = "action.defentry_password_reset.admin";
        let out = invoke_ok(&ws, addr);
        let text = out.combined();
        assert!(
            text.contains(&progress_line(addr, "Resetting the password"))
                && text.contains(&progress_line(addr, "Your password has been reset.")),
            "{tf}: progress messages missing:\n{text}"
        );
        assert_eq!(login_status(&mock, USER, OLD), 401, "{tf}: old password");
        assert_eq!(login_status(&mock, USER, NEW), 200, "{tf}: new password");

        // The provider logs in with the new password too.
        ws.write(
            "token.tf",
            &format!(
                "resource \"defentry_token\" \"ops\" {{\n  username    = {}\n  password_wo = var.new_password\n}}\n\
                 output \"ops\" {{\n  value     = defentry_token.ops.token\n  sensitive = true\n}}\n",
                hcl_str(USER)
            ),
        );
        ws.apply();
        let token = ws.output_json()["ops"]["value"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        mock.assert_live(&token, &tf);

        // A reset token works once.
        let out = invoke_err(&ws, addr);
        let text = out.combined();
        assert!(
            text.contains("This password reset token is invalid.")
                && text.contains("`token`")
                && text.contains("defentry_password_forgot"),
            "{tf}: unclear diagnostic for a used reset token:\n{text}"
        );
    }
}

#[test]
fn action_trigger_logs_out_a_token_after_the_managed_token_is_created_or_replaced() {
    const TF: &str = r#"
variable "previous_token" {
  type      = string
  sensitive = true
}

variable "generation" {
  type    = string
  default = "1"
}

# The token CI uses from now on. Once it exists, the token it supersedes (issued by hand,
# or leaked) is logged out.
resource "defentry_token" "ci" {
  triggers = {
    generation = var.generation
  }

  lifecycle {
    action_trigger {
      events  = [after_create]
      actions = [action.defentry_logout.previous]
    }
  }
}

action "defentry_logout" "previous" {
  config {
    token = var.previous_token
  }
}

output "ci" {
  value     = defentry_token.ci.token
  sensitive = true
}
"#;
    for Setup { tf, mock, mut ws } in setups_on(action_terraforms()) {
        ws.write("main.tf", &format!("{REQUIRED_PROVIDERS}{TF}"));
        let by_hand = mock.login(SERVICE_USER, SERVICE_PASSWORD);
        ws.env("TF_VAR_previous_token", &by_hand);

        let out = ws.apply();
        let trigger = "action.defentry_logout.previous (triggered by defentry_token.ci)";
        assert!(
            out.stdout.contains(&format!("Action complete: {trigger}"))
                && out.stdout.contains(&format!(
                    "Action {trigger}: Session {} logged out",
                    token_id(&by_hand)
                )),
            "{tf}: the trigger did not run:\n{}",
            out.stdout
        );
        let first = ws.output_json()["ci"]["value"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        mock.assert_revoked(&by_hand, format_args!("{tf}: not logged out"));
        mock.assert_live(&first, format_args!("{tf}: managed token broken"));

        // No change to the resource: nothing is triggered, even with another token configured.
        let bystander = mock.login(SERVICE_USER, SERVICE_PASSWORD);
        ws.env("TF_VAR_previous_token", &bystander);
        let out = ws.apply();
        assert!(
            !out.stdout.contains("Action started"),
            "{tf}:\n{}",
            out.stdout
        );
        mock.assert_live(&bystander, &tf);

        // Replacement (a trigger changed) creates a new token, so the action runs again.
        ws.env("TF_VAR_generation", "2");
        let out = ws.apply();
        assert!(
            out.stdout.contains("1 added") && out.stdout.contains("1 destroyed"),
            "{tf}: not replaced:\n{}",
            out.stdout
        );
        assert!(
            out.stdout.contains(&format!("Action complete: {trigger}")),
            "{tf}:\n{}",
            out.stdout
        );
        let second = ws.output_json()["ci"]["value"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        mock.assert_revoked(&bystander, format_args!("{tf}: not logged out"));
        mock.assert_revoked(&first, format_args!("{tf}: replaced token alive"));
        mock.assert_live(&second, format_args!("{tf}: new token broken"));
        assert_eq!(mock.active_sessions(), 1, "{tf}: {}", mock.sessions());
    }
}

#[test]
fn bad_action_inputs_are_caught_by_validate_and_point_at_the_attribute() {
    const TF: &str = r#"
action "defentry_password_forgot" "empty" {
  config {
    email = ""
  }
}

action "defentry_password_forgot" "not_email" {
  config {
    email = "admin.partner.com"
  }
}

action "defentry_password_reset" "empty" {
  config {
    token    = ""
    password = ""
  }
}

action "defentry_logout" "empty" {
  config {
    token = ""
  }
}
"#;
    for tf in action_terraforms() {
        let ws = Workspace::bare(&tf);
        ws.write("main.tf", &format!("{REQUIRED_PROVIDERS}{TF}"));
        let out = ws.run(&["validate"]);
        assert_eq!(out.code, 1, "{}", ws.failure(&["validate"], &out));
        let text = out.combined();
        for (addr, line, summary) in [
            (
                "action.defentry_password_forgot.empty",
                r#"email = """#,
                "Empty email",
            ),
            (
                "action.defentry_password_forgot.not_email",
                r#"email = "admin.partner.com""#,
                "Invalid email",
            ),
            (
                "action.defentry_password_reset.empty",
                r#"token    = """#,
                "Empty token",
            ),
            (
                "action.defentry_password_reset.empty",
                r#"password = """#,
                "Empty password",
            ),
            (
                "action.defentry_logout.empty",
                r#"token = """#,
                "Empty token",
            ),
        ] {
            assert!(text.contains(summary), "{tf}: no {summary:?}:\n{text}");
            assert_points_at(&tf, &out, addr, line);
        }
        assert!(
            text.contains(r#""admin.partner.com" is not an email address"#),
            "{tf}:\n{text}"
        );
    }
}

#[test]
fn bad_action_inputs_from_variables_are_caught_before_invoking() {
    for tf in action_terraforms() {
        let mock = Mock::start();
        let mut ws = actions_workspace(&tf, &mock);
        ws.env("TF_VAR_email", "");
        let out = invoke_err(&ws, "action.defentry_password_forgot.admin");
        let text = out.combined();
        assert!(text.contains("Empty email"), "{tf}:\n{text}");
        assert!(
            !text.contains("Action started"),
            "{tf}: invoked anyway:\n{text}"
        );
        assert_points_at(
            &tf,
            &out,
            "action.defentry_password_forgot.admin",
            "email = var.email",
        );

        ws.env("TF_VAR_email", "not an email");
        let out = invoke_err(&ws, "action.defentry_password_forgot.admin");
        assert!(
            out.combined()
                .contains(r#""not an email" is not an email address"#),
            "{tf}:\n{}",
            out.combined()
        );
        assert_points_at(
            &tf,
            &out,
            "action.defentry_password_forgot.admin",
            "email = var.email",
        );

        ws.env("TF_VAR_token", "");
        let out = invoke_err(&ws, "action.defentry_logout.leaked");
        assert!(
            out.combined().contains("Empty token"),
            "{tf}:\n{}",
            out.combined()
        );
        assert_points_at(
            &tf,
            &out,
            "action.defentry_logout.leaked",
            "token = var.token",
        );

        ws.env("TF_VAR_new_password", "");
        let out = invoke_err(&ws, "action.defentry_password_reset.admin");
        assert!(
            out.combined().contains("Empty password"),
            "{tf}:\n{}",
            out.combined()
        );
        assert_points_at(
            &tf,
            &out,
            "action.defentry_password_reset.admin",
            "password = var.new_password",
        );
        assert_eq!(
            mock.requests()["requests"].as_array().map(Vec::len),
            Some(0),
            "{tf}: nothing may reach Defentry"
        );
    }
}

#[test]
fn inputs_defentry_rejects_give_clear_diagnostics() {
    for tf in action_terraforms() {
        let mock = Mock::start();
        let mut ws = actions_workspace(&tf, &mock);
        let reset = "action.defentry_password_reset.admin";

        // An address only the server's rules reject.
        ws.env("TF_VAR_email", "admin@.partner.com");
        let out = invoke_err(&ws, "action.defentry_password_forgot.admin");
        let text = out.combined();
        assert!(
            text.contains("The email field must be a valid email address.")
                && text.contains("`email`"),
            "{tf}:\n{text}"
        );

        // A weak password: Defentry's 422 names the rule and the attribute.
        mock.http(
            "POST",
            PASSWORD_FORGOT_PATH,
            None,
            Some(&json!({"email": ADMIN_USER})),
        );
        let token = outbox_to(&mock, ADMIN_USER)
            .last()
            .and_then(|m| m["reset_token"].as_str().map(str::to_string))
            .unwrap_or_else(|| panic!("{tf}: no reset mail"));
        ws.env("TF_VAR_reset_token", &token);
        ws.env("TF_VAR_new_password", "short");
        let out = invoke_err(&ws, reset);
        let text = out.combined();
        assert!(
            text.contains("The password field must be at least 8 characters.")
                && text.contains("`password`"),
            "{tf}:\n{text}"
        );
        assert!(text.contains("Action failed"), "{tf}:\n{text}");
        assert_eq!(login_status(&mock, ADMIN_USER, ADMIN_PASSWORD), 200, "{tf}");

        // A confirmation mismatch (the provider always sends equal values, so only a server
        // that disagrees can produce one): still attributed to `password`.
        let msg = "The password field confirmation does not match.";
        mock.fault(json!({
            "path": PASSWORD_RESET_PATH,
            "status": 422,
            "content_type": "application/json",
            "body": json!({"message": msg, "errors": {"password": [msg]}}).to_string(),
        }));
        ws.env("TF_VAR_new_password", "long-enough-password");
        let out = invoke_err(&ws, reset);
        let text = out.combined();
        assert!(
            text.contains(msg) && text.contains("`password`"),
            "{tf}:\n{text}"
        );

        // An unknown reset token.
        ws.env("TF_VAR_reset_token", "no-such-reset-token");
        let out = invoke_err(&ws, reset);
        let text = out.combined();
        assert!(
            text.contains("This password reset token is invalid.")
                && text.contains("`token`")
                && text.contains("defentry_password_forgot"),
            "{tf}:\n{text}"
        );
        assert_eq!(login_status(&mock, ADMIN_USER, ADMIN_PASSWORD), 200, "{tf}");
    }
}

#[test]
fn trace_logs_of_actions_hold_no_secret() {
    const USER: &str = "ops@partner.com";
    const OLD: &str = "old-ops-password-for-trace";
    const NEW: &str = "new-ops-password-for-trace";
    for tf in action_terraforms() {
        let mock = Mock::start_with(&["--user", &format!("{USER}:{OLD}")]);
        let mut ws = actions_workspace(&tf, &mock);
        ws.env("TF_LOG", "trace");
        let leaked = mock.login(SERVICE_USER, SERVICE_PASSWORD);
        ws.env("TF_VAR_token", &leaked);
        ws.env("TF_VAR_email", USER);
        let mut logs = String::new();
        logs += &invoke_ok(&ws, "action.defentry_logout.leaked").combined();
        logs += &invoke_ok(&ws, "action.defentry_password_forgot.admin").combined();
        let reset_token = outbox_to(&mock, USER)
            .last()
            .and_then(|m| m["reset_token"].as_str().map(str::to_string))
            .unwrap_or_else(|| panic!("{tf}: no reset mail"));
        ws.env("TF_VAR_reset_token", &reset_token);
        ws.env("TF_VAR_new_password", NEW);
        logs += &invoke_ok(&ws, "action.defentry_password_reset.admin").combined();
        // A failing reset (token now used) must not leak either.
        logs += &invoke_err(&ws, "action.defentry_password_reset.admin").combined();

        assert!(
            logs.contains("[TRACE]") && logs.contains("InvokeAction"),
            "{tf}: TF_LOG=trace had no effect"
        );
        mock.assert_revoked(&leaked, &tf);
        assert_eq!(login_status(&mock, USER, NEW), 200, "{tf}");
        let secret_part = leaked.split_once('|').map_or("", |(_, s)| s);
        for (what, secret) in [
            ("token", leaked.as_str()),
            ("token secret", secret_part),
            ("reset token", reset_token.as_str()),
            ("new password", NEW),
            ("service password", SERVICE_PASSWORD),
        ] {
            assert!(!secret.is_empty(), "{tf}: empty {what}");
            assert!(
                !logs.contains(secret),
                "{tf}: the {what} appears in TF_LOG=trace output"
            );
        }
    }
}

#[test]
fn older_terraform_without_actions_still_runs_the_rest_of_the_provider() {
    const ACTION_ONLY: &str = r#"
action "defentry_logout" "x" {
  config {
    token = "1|x"
  }
}
"#;
    const REST: &str = r#"
resource "defentry_token" "t" {}

data "defentry_session" "d" {}

ephemeral "defentry_session" "e" {}

output "t" {
  value     = defentry_token.t.token
  sensitive = true
}

output "d" {
  value     = data.defentry_session.d.token
  sensitive = true
}
"#;
    for Setup { tf, mock, ws } in setups() {
        // The provider advertises actions; Terraform without them must still use it.
        // Ephemeral resources need 1.10 (checked in e2e_token); keep the rest runnable.
        let rest = if tf.at_least(1, 10) {
            REST.to_string()
        } else {
            REST.replace(r#"ephemeral "defentry_session" "e" {}"#, "")
        };
        ws.write("main.tf", &format!("{REQUIRED_PROVIDERS}{rest}"));
        ws.apply();
        let outputs = ws.output_json();
        for name in ["t", "d"] {
            let token = outputs[name]["value"].as_str().unwrap_or_default();
            mock.assert_live(token, format_args!("{tf}: output {name}"));
        }
        // Data source session + managed token stay; the ephemeral one was logged out.
        assert_eq!(mock.active_sessions(), 2, "{tf}: {}", mock.sessions());

        ws.write("actions.tf", ACTION_ONLY);
        let out = ws.run(&["validate"]);
        if tf.at_least(1, 13) {
            // 1.13 parses (and ignores) action blocks; it cannot invoke them (e2e_versions).
            assert_eq!(out.code, 0, "{}", ws.failure(&["validate"], &out));
        } else {
            // Terraform's own error: it does not know `action` blocks.
            assert_eq!(out.code, 1, "{}", ws.failure(&["validate"], &out));
            assert!(
                out.combined()
                    .contains(r#"Blocks of type "action" are not expected here."#),
                "{tf}:\n{}",
                out.combined()
            );
        }
    }
}
