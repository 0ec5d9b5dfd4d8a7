//! Interactive (2FA) logins in real Terraform against defentry-mock, with the Terraforms of
//! `terraforms()`: the mock's admin `admin@partner.com` is enrolled in TOTP, so it logs in only
//! with `totp_secret` (provider, environment, token resource, session objects) or a current
//! `two_factor_code`; without either the login fails with an explanation and leaves no session.

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use common::*;
use serde_json::Value;
use totp_rs::{Algorithm, Secret, TOTP};

/// The admin's credentials as variables, fed through `TF_VAR_*`.
const ADMIN_VARS: &str = r#"
variable "admin_password" {
  type      = string
  sensitive = true
}

variable "totp_secret" {
  type      = string
  sensitive = true
  default   = null
}

variable "code" {
  type      = string
  sensitive = true
  default   = null
}
"#;

/// Valid base32, but not the admin's seed.
const WRONG_TOTP_SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// The admin's TOTP code (RFC 6238: SHA-1, 6 digits, 30 s) at `secs`.
fn admin_code_at(secs: u64) -> String {
    let seed = Secret::Encoded(ADMIN_TOTP_SECRET.to_string())
        .to_bytes()
        .expect("the admin seed is base32");
    TOTP::new_unchecked(Algorithm::SHA1, 6, 1, 30, seed, None, String::new()).generate(secs)
}

/// A workspace whose defaults are the service account, with the admin's password (and
/// optionally TOTP secret and code) as variables.
fn admin_workspace(tf: &Terraform, mock: &Mock, tf_files: &str) -> Workspace {
    let mut ws = Workspace::new(tf, mock);
    ws.env("TF_VAR_admin_password", ADMIN_PASSWORD);
    ws.write(
        "main.tf",
        &format!("{REQUIRED_PROVIDERS}{ADMIN_VARS}{tf_files}"),
    );
    ws
}

fn output_token(ws: &Workspace, name: &str) -> String {
    let outputs = ws.output_json();
    outputs[name]["value"]
        .as_str()
        .unwrap_or_else(|| panic!("{}: no output {name}: {outputs}", ws.terraform()))
        .to_string()
}

/// Mock requests to `path` and their statuses.
fn statuses(mock: &Mock, path: &str) -> Vec<u64> {
    mock.requests()["requests"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|r| r["path"] == path)
        .filter_map(|r| r["status"].as_u64())
        .collect()
}

fn admin_sessions(mock: &Mock) -> Value {
    mock.sessions_of(ADMIN_USER)
}

/// Every admin session that exists is verified, and none is left half-open.
fn assert_no_pending_session(tf: &Terraform, mock: &Mock) {
    let s = admin_sessions(mock);
    let pending: Vec<&Value> = s["sessions"]
        .as_array()
        .map(|v| {
            v.iter()
                .filter(|x| x["two_factor_verified"] != true)
                .collect()
        })
        .unwrap_or_default();
    assert!(
        pending.is_empty(),
        "{tf}: pending 2FA sessions left open: {s}"
    );
}

fn assert_points_at(tf: &Terraform, out: &Output, addr: &str, attr_line: &str) {
    let text = out.combined();
    assert!(
        text.contains(&format!("with {addr},")) && text.contains(attr_line),
        "{tf}: no diagnostic pointing at `{attr_line}` of {addr}:\n{text}"
    );
}

#[test]
fn object_level_totp_secret_and_code_log_the_admin_in() {
    const TF: &str = r#"
resource "defentry_token" "with_secret" {
  username    = "admin@partner.com"
  password_wo = var.admin_password
  totp_secret = var.totp_secret
}

resource "defentry_token" "with_code" {
  username        = "admin@partner.com"
  password_wo     = var.admin_password
  two_factor_code = var.code
}

data "defentry_session" "with_secret" {
  username    = "admin@partner.com"
  password    = var.admin_password
  totp_secret = var.totp_secret
}

data "defentry_session" "with_code" {
  username        = "admin@partner.com"
  password        = var.admin_password
  two_factor_code = var.code
}

ephemeral "defentry_session" "with_secret" {
  username    = "admin@partner.com"
  password    = var.admin_password
  totp_secret = var.totp_secret
}

output "token_with_secret" {
  value     = defentry_token.with_secret.token
  sensitive = true
}

output "token_with_code" {
  value     = defentry_token.with_code.token
  sensitive = true
}

output "data_with_secret" {
  value     = data.defentry_session.with_secret.token
  sensitive = true
}

output "data_with_code" {
  value     = data.defentry_session.with_code.token
  sensitive = true
}
"#;
    for tf in terraforms() {
        let mock = Mock::start();
        let mut ws = admin_workspace(&tf, &mock, TF);
        if !tf.at_least(1, 11) {
            ws.refused(&["validate"], too_old_for_write_only(&tf));
            assert_eq!(mock.sessions()["logins"], 0, "{tf}");
            continue;
        }
        ws.env("TF_VAR_totp_secret", ADMIN_TOTP_SECRET);
        // Valid for this 30 s step and, at the server, the next one: ample for one apply.
        ws.env("TF_VAR_code", &admin_code_at(now_secs()));
        ws.apply();

        for name in [
            "token_with_secret",
            "token_with_code",
            "data_with_secret",
            "data_with_code",
        ] {
            let token = output_token(&ws, name);
            assert_eq!(
                mock.whoami_status(&token),
                200,
                "{tf}: {name} does not work"
            );
        }
        // The ephemeral session was opened (plan and apply), verified and closed each time.
        let s = admin_sessions(&mock);
        assert_eq!(s["active"], 4, "{tf}: {s}");
        assert_eq!(s["logins"], 6, "{tf}: {s}");
        assert_eq!(s["logouts"], 2, "{tf}: {s}");
        assert_no_pending_session(&tf, &mock);
        let verify = statuses(&mock, "/api/v1/2fa/verify");
        assert_eq!(verify, vec![200; 6], "{tf}: {verify:?}");
        assert_eq!(
            statuses(&mock, "/api/v1/2fa/setup"),
            vec![200; 6],
            "{tf}: the challenge starts with setup"
        );
    }
}

#[test]
fn provider_totp_secret_logs_the_admin_in() {
    const TF: &str = r#"
provider "defentry" {
  username    = "admin@partner.com"
  password    = var.admin_password
  totp_secret = var.totp_secret
}

resource "defentry_token" "admin" {}

output "token" {
  value     = defentry_token.admin.token
  sensitive = true
}
"#;
    for tf in terraforms() {
        let mock = Mock::start();
        let mut ws = admin_workspace(&tf, &mock, TF);
        ws.env("TF_VAR_totp_secret", ADMIN_TOTP_SECRET);
        ws.apply();
        let token = output_token(&ws, "token");
        assert_eq!(mock.whoami_status(&token), 200, "{tf}");
        let who = mock.http("GET", "/_mock/whoami", Some(&token), None).1;
        assert_eq!(who["username"], ADMIN_USER, "{tf}: {who}");
        assert_eq!(ws.plan_exit_code(), 0, "{tf}: not converged");
        assert_no_pending_session(&tf, &mock);
    }
}

#[test]
fn defentry_totp_secret_environment_variable_logs_the_admin_in() {
    const TF: &str = r#"
resource "defentry_token" "admin" {}

data "defentry_session" "admin" {}

output "token" {
  value     = defentry_token.admin.token
  sensitive = true
}

output "data" {
  value     = data.defentry_session.admin.token
  sensitive = true
}
"#;
    for tf in terraforms() {
        let mock = Mock::start();
        let mut ws = admin_workspace(&tf, &mock, TF);
        ws.env("DEFENTRY_USERNAME", ADMIN_USER);
        ws.env("DEFENTRY_PASSWORD", ADMIN_PASSWORD);
        ws.env("DEFENTRY_TOTP_SECRET", ADMIN_TOTP_SECRET);
        ws.apply();
        for name in ["token", "data"] {
            let token = output_token(&ws, name);
            assert_eq!(mock.whoami_status(&token), 200, "{tf}: {name}");
        }
        assert_eq!(admin_sessions(&mock)["active"], 2, "{tf}");
        assert_no_pending_session(&tf, &mock);
    }
}

#[test]
fn interactive_login_without_2fa_fails_with_an_explanation_and_leaves_no_session() {
    const SESSIONS: &str = r#"
data "defentry_session" "admin" {
  username = "admin@partner.com"
  password = var.admin_password
}

ephemeral "defentry_session" "admin" {
  username = "admin@partner.com"
  password = var.admin_password
}
"#;
    const TOKEN: &str = r#"
resource "defentry_token" "admin" {
  username    = "admin@partner.com"
  password_wo = var.admin_password
}
"#;
    let explained = |tf: &Terraform, text: &str| {
        for needle in [
            "Error: Two-factor authentication required",
            "admin@partner.com is an interactive login enrolled in two-factor",
            "Service accounts do not use 2FA",
            "totp_secret",
            "DEFENTRY_TOTP_SECRET",
            "two_factor_code",
            "pending session was logged out",
        ] {
            assert!(
                text.replace('\n', " ").contains(needle),
                "{tf}: missing {needle:?} in:\n{text}"
            );
        }
    };
    for tf in terraforms() {
        let mock = Mock::start();
        if !tf.at_least(1, 11) {
            // password_wo is write-only: refused before any login (ephemeral: e2e_token).
            let ws = admin_workspace(&tf, &mock, TOKEN);
            ws.refused(&["plan", "-input=false"], WRITE_ONLY_NOT_ALLOWED);
            assert_eq!(mock.sessions()["logins"], 0, "{tf}");
            continue;
        }
        let ws = admin_workspace(&tf, &mock, SESSIONS);
        let out = ws.run(&["plan", "-input=false"]);
        assert_eq!(out.code, 1, "{}", ws.failure(&["plan"], &out));
        explained(&tf, &out.combined());
        for addr in [
            "data.defentry_session.admin",
            "ephemeral.defentry_session.admin",
        ] {
            assert_points_at(&tf, &out, addr, r#"username = "admin@partner.com""#);
        }

        ws.write(
            "main.tf",
            &format!("{REQUIRED_PROVIDERS}{ADMIN_VARS}{TOKEN}"),
        );
        let args = ["apply", "-auto-approve", "-input=false"];
        let out = ws.run(&args);
        assert_eq!(out.code, 1, "{}", ws.failure(&args, &out));
        explained(&tf, &out.combined());
        assert_points_at(
            &tf,
            &out,
            "defentry_token.admin",
            r#"username    = "admin@partner.com""#,
        );
        assert!(ws.resources().is_empty(), "{tf}: a failed login left state");

        let s = admin_sessions(&mock);
        assert_eq!(s["active"], 0, "{tf}: a pending session stayed open: {s}");
        let logins = s["logins"].as_u64().unwrap_or_default();
        assert!(logins >= 3, "{tf}: {s}");
        assert_eq!(s["logouts"].as_u64(), Some(logins), "{tf}: {s}");
        // No code was ever tried.
        assert!(statuses(&mock, "/api/v1/2fa/verify").is_empty(), "{tf}");
    }
}

#[test]
fn wrong_totp_secret_or_code_is_rejected_and_the_pending_session_logged_out() {
    const TF: &str = r#"
data "defentry_session" "wrong_secret" {
  username    = "admin@partner.com"
  password    = var.admin_password
  totp_secret = var.totp_secret
}

data "defentry_session" "wrong_code" {
  username        = "admin@partner.com"
  password        = var.admin_password
  two_factor_code = var.code
}
"#;
    for tf in terraforms() {
        let mock = Mock::start();
        let mut ws = admin_workspace(&tf, &mock, TF);
        ws.env("TF_VAR_totp_secret", WRONG_TOTP_SECRET);
        let now = now_secs();
        let valid = [now - 30, now, now + 30].map(admin_code_at);
        let wrong = (0..10u32)
            .map(|i| format!("{:06}", (123_456 + i * 111_111) % 1_000_000))
            .find(|c| !valid.contains(c))
            .unwrap_or_default();
        ws.env("TF_VAR_code", &wrong);
        let out = ws.run(&["plan", "-input=false"]);
        assert_eq!(out.code, 1, "{}", ws.failure(&["plan"], &out));
        let text = out.combined();
        let flat = text.replace('\n', " ");
        assert!(
            flat.contains("Error: Two-factor authentication failed")
                && flat.contains("does not belong to this user")
                && flat.contains("clock"),
            "{tf}:\n{text}"
        );
        assert!(
            flat.contains("Error: Two-factor code rejected") && flat.contains("wrong or expired"),
            "{tf}:\n{text}"
        );
        assert_points_at(
            &tf,
            &out,
            "data.defentry_session.wrong_secret",
            "totp_secret = var.totp_secret",
        );
        assert_points_at(
            &tf,
            &out,
            "data.defentry_session.wrong_code",
            "two_factor_code = var.code",
        );
        let s = admin_sessions(&mock);
        assert_eq!(s["active"], 0, "{tf}: {s}");
        assert_eq!(s["logins"], s["logouts"], "{tf}: {s}");
        // The secret was tried with the current and the previous code, the code once.
        let verify = statuses(&mock, "/api/v1/2fa/verify");
        assert_eq!(verify, vec![422; 3], "{tf}: {verify:?}");
    }
}

#[test]
fn malformed_2fa_settings_are_caught_before_any_login() {
    // Terraform stops validating at an invalid provider block, so that one comes alone.
    const PROVIDER: &str = r#"
provider "defentry" {
  totp_secret = "not base32!"
}

data "defentry_session" "default" {}
"#;
    const LITERALS: &str = r#"
resource "defentry_token" "bad_secret" {
  totp_secret = "0189-not-base32"
}

resource "defentry_token" "short_code" {
  two_factor_code = "12345"
}

data "defentry_session" "bad_secret" {
  totp_secret = "totp!"
}

data "defentry_session" "letters_code" {
  two_factor_code = "abcdef"
}

ephemeral "defentry_session" "bad_secret" {
  totp_secret = "1111"
}
"#;
    const FROM_VARIABLES: &str = r#"
data "defentry_session" "admin" {
  username    = "admin@partner.com"
  password    = var.admin_password
  totp_secret = var.totp_secret
}

resource "defentry_token" "admin" {
  username        = "admin@partner.com"
  password_wo     = var.admin_password
  two_factor_code = var.code
}
"#;
    for tf in terraforms() {
        let mock = Mock::start();
        let mut ws = admin_workspace(&tf, &mock, PROVIDER);
        let out = ws.run(&["validate"]);
        assert_eq!(out.code, 1, "{}", ws.failure(&["validate"], &out));
        let text = out.combined();
        assert!(
            text.contains("Error: Invalid totp_secret")
                && text.contains(r#"in provider "defentry":"#)
                && text.contains(r#"totp_secret = "not base32!""#),
            "{tf}: provider block not pointed at:\n{text}"
        );

        ws.write(
            "main.tf",
            &format!("{REQUIRED_PROVIDERS}{ADMIN_VARS}{LITERALS}"),
        );
        if !tf.at_least(1, 11) {
            ws.refused(&["validate"], too_old_for_write_only(&tf));
            assert_eq!(mock.sessions()["logins"], 0, "{tf}");
            continue;
        }
        let out = ws.run(&["validate"]);
        assert_eq!(out.code, 1, "{}", ws.failure(&["validate"], &out));
        let text = out.combined();
        for (addr, line) in [
            (
                "defentry_token.bad_secret",
                r#"totp_secret = "0189-not-base32""#,
            ),
            ("defentry_token.short_code", r#"two_factor_code = "12345""#),
            (
                "data.defentry_session.bad_secret",
                r#"totp_secret = "totp!""#,
            ),
            (
                "data.defentry_session.letters_code",
                r#"two_factor_code = "abcdef""#,
            ),
            (
                "ephemeral.defentry_session.bad_secret",
                r#"totp_secret = "1111""#,
            ),
        ] {
            assert_points_at(&tf, &out, addr, line);
        }
        assert_eq!(
            text.matches("Error: Invalid totp_secret").count(),
            3,
            "{tf}:\n{text}"
        );
        assert_eq!(
            text.matches("Error: Invalid two_factor_code").count(),
            2,
            "{tf}:\n{text}"
        );
        assert!(
            text.contains("is not a base32 TOTP secret"),
            "{tf}:\n{text}"
        );
        assert!(text.contains("6-digit code"), "{tf}:\n{text}");

        // The same values through variables: caught when the plan knows them.
        ws.write(
            "main.tf",
            &format!("{REQUIRED_PROVIDERS}{ADMIN_VARS}{FROM_VARIABLES}"),
        );
        ws.env("TF_VAR_totp_secret", "not base32!");
        ws.env("TF_VAR_code", "12 456");
        let out = ws.run(&["plan", "-input=false"]);
        assert_eq!(out.code, 1, "{}", ws.failure(&["plan"], &out));
        assert_points_at(
            &tf,
            &out,
            "data.defentry_session.admin",
            "totp_secret = var.totp_secret",
        );
        assert_points_at(
            &tf,
            &out,
            "defentry_token.admin",
            "two_factor_code = var.code",
        );

        // A malformed DEFENTRY_TOTP_SECRET is reported before logging in.
        ws.write(
            "main.tf",
            &format!("{REQUIRED_PROVIDERS}data \"defentry_session\" \"admin\" {{}}\n"),
        );
        ws.env("DEFENTRY_USERNAME", ADMIN_USER);
        ws.env("DEFENTRY_PASSWORD", ADMIN_PASSWORD);
        ws.env("DEFENTRY_TOTP_SECRET", "not base32!");
        let out = ws.run(&["plan", "-input=false"]);
        assert_eq!(out.code, 1, "{}", ws.failure(&["plan"], &out));
        assert!(
            out.combined().contains("DEFENTRY_TOTP_SECRET"),
            "{tf}:\n{}",
            out.combined()
        );
        assert_eq!(
            mock.sessions()["logins"],
            0,
            "{tf}: a malformed 2FA setting must not open a session"
        );
    }
}

/// True if `code` occurs in `text` as a number of its own (not inside a longer digit run).
fn contains_code(text: &str, code: &str) -> bool {
    text.match_indices(code).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + code.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_digit()) && !after.is_some_and(|c| c.is_ascii_digit())
    })
}

#[test]
fn trace_logs_of_2fa_logins_hold_no_secret() {
    const TF: &str = r#"
resource "defentry_token" "with_secret" {
  username    = "admin@partner.com"
  password_wo = var.admin_password
  totp_secret = var.totp_secret
}

data "defentry_session" "with_code" {
  username        = "admin@partner.com"
  password        = var.admin_password
  two_factor_code = var.code
}

ephemeral "defentry_session" "with_secret" {
  username    = "admin@partner.com"
  password    = var.admin_password
  totp_secret = var.totp_secret
}

output "token" {
  value     = defentry_token.with_secret.token
  sensitive = true
}

output "data" {
  value     = data.defentry_session.with_code.token
  sensitive = true
}
"#;
    for tf in terraforms() {
        let mock = Mock::start();
        let mut ws = admin_workspace(&tf, &mock, TF);
        if !tf.at_least(1, 11) {
            ws.refused(&["validate"], too_old_for_write_only(&tf));
            assert_eq!(mock.sessions()["logins"], 0, "{tf}");
            continue;
        }
        ws.env("TF_VAR_totp_secret", ADMIN_TOTP_SECRET);
        let start = now_secs();
        ws.env("TF_VAR_code", &admin_code_at(start));
        ws.env("TF_LOG", "trace");
        let mut logs = ws.apply().combined();
        // A failed login must not leak either.
        ws.env("TF_VAR_code", "000000");
        ws.env("TF_VAR_totp_secret", WRONG_TOTP_SECRET);
        ws.write(
            "fail.tf",
            "data \"defentry_session\" \"fails\" {\n  username    = \"admin@partner.com\"\n  password    = var.admin_password\n  totp_secret = var.totp_secret\n}\n",
        );
        logs += &ws.run(&["plan", "-input=false"]).combined();
        let end = now_secs();
        assert!(logs.contains("[TRACE]"), "{tf}: TF_LOG=trace had no effect");
        assert!(
            logs.contains("Two-factor authentication failed"),
            "{tf}: the failing plan did not fail as expected"
        );

        ws.env("TF_LOG", "");
        let mut secrets = vec![
            ("admin password", ADMIN_PASSWORD.to_string()),
            ("TOTP secret", ADMIN_TOTP_SECRET.to_string()),
        ];
        for name in ["token", "data"] {
            let token = output_token(&ws, name);
            assert_eq!(mock.whoami_status(&token), 200, "{tf}: {name}");
            let secret = token.split_once('|').map(|(_, s)| s.to_string());
            secrets.push(("token", token));
            secrets.push(("token secret", secret.unwrap_or_default()));
        }
        for (what, secret) in &secrets {
            assert!(!secret.is_empty(), "{tf}: empty {what}");
            assert!(
                !logs.contains(secret.as_str()),
                "{tf}: the {what} appears in TF_LOG=trace output"
            );
        }
        // Every code that was valid during the run.
        let mut t = start.saturating_sub(30);
        while t <= end + 30 {
            let code = admin_code_at(t);
            assert!(
                !contains_code(&logs, &code),
                "{tf}: a 2FA code appears in TF_LOG=trace output"
            );
            t += 30;
        }
    }
}
