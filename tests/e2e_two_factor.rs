//! Interactive (2FA) logins in real Terraform against defentry-mock, with every Terraform the
//! harness yields and the mock in both of its modes: answering exactly as the vendor page shows
//! (login returns `{"token"}` alone, setup and verify a plain message), and with its opt-in
//! hints (`--hints`: `two_factor_required`, `enabled`, `secret`, `verified`).
//!
//! The mock's admin `admin@partner.com` is enrolled in TOTP; its service account is not. With
//! 2FA credentials configured the provider always runs setup then verify, and a token reaches
//! Terraform only when verify succeeded; every failure leaves no session behind.
//!
//! Version gates: ephemeral resources need Terraform 1.10, the write-only `password_wo`,
//! `totp_secret` and `two_factor_code` of `defentry_token` need 1.11. Older versions test the
//! same behaviour through the data source and provider-level credentials.

pub mod common;

use std::fmt;
use std::time::Duration;

use common::*;
use defentry_mock::{decode_base32, totp_code};
use serde_json::{json, Value};

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

/// The admin's `with_secret` (answering with `totp_secret`) and `with_code` (with
/// `two_factor_code`) objects of one kind, e.g. `data "defentry_session"`, plus outputs
/// `<prefix>_with_secret` and `<prefix>_with_code` holding their tokens when `outputs` is set.
fn admin_objects(block: &str, password: &str, outputs: Option<(&str, &str)>) -> String {
    let mut hcl = String::new();
    for (name, answer) in [
        ("with_secret", "totp_secret = var.totp_secret"),
        ("with_code", "two_factor_code = var.code"),
    ] {
        hcl += &format!(
            "\n{block} \"{name}\" {{\n  username = \"{ADMIN_USER}\"\n  {password} = var.admin_password\n  {answer}\n}}\n"
        );
        if let Some((prefix, address)) = outputs {
            hcl += &format!(
                "\noutput \"{prefix}_{name}\" {{\n  value     = {address}.{name}.token\n  sensitive = true\n}}\n"
            );
        }
    }
    hcl
}

/// [`admin_objects`] as data sources, outputs `data_with_secret` and `data_with_code`.
fn data_sessions() -> String {
    admin_objects(
        "data \"defentry_session\"",
        "password",
        Some(("data", "data.defentry_session")),
    )
}

/// [`admin_objects`] as ephemeral resources (Terraform 1.10+).
fn ephemeral_sessions() -> String {
    admin_objects("ephemeral \"defentry_session\"", "password", None)
}

/// [`admin_objects`] as `defentry_token` resources (write-only arguments: Terraform 1.11+),
/// outputs `token_with_secret` and `token_with_code`.
fn admin_tokens() -> String {
    admin_objects(
        "resource \"defentry_token\"",
        "password_wo",
        Some(("token", "defentry_token")),
    )
}

/// A `defentry_token` logged in with the provider's admin credentials and `totp_secret`
/// (every Terraform version), and its token as output `token`.
const PROVIDER_TOTP_SECRET_TOKEN: &str = r#"
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

/// How the mock answers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Exactly the vendor page's responses (the mock's default).
    Documented,
    /// With the undocumented hint fields (`--hints`).
    Hints,
}

const MODES: [Mode; 2] = [Mode::Documented, Mode::Hints];

impl Mode {
    /// The mock in this mode, accepting each TOTP code once (its default, as a real CRM).
    fn start(self) -> Mock {
        self.start_with(&[])
    }

    /// The mock in this mode with the extra flags `more`.
    fn start_with(self, more: &[&str]) -> Mock {
        let mut args = more.to_vec();
        if self == Mode::Hints {
            args.push("--hints");
        }
        Mock::start_with(&args)
    }

    /// The mock in this mode, accepting a TOTP code more than once: for configurations that
    /// answer several logins with one typed-in `two_factor_code`, which a CRM that accepts each
    /// code once refuses after the first (`a_typed_in_code_serves_one_login_only`).
    fn start_allowing_code_reuse(self) -> Mock {
        self.start_with(&["--allow-totp-reuse"])
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Documented => "documented responses",
            Mode::Hints => "responses with hints",
        })
    }
}

/// Every Terraform with every mock mode: `(terraform, mode, "terraform X.Y.Z, mode")`.
fn runs() -> Vec<(Terraform, Mode, String)> {
    terraforms()
        .into_iter()
        .flat_map(|tf| {
            MODES.map(|mode| {
                let at = format!("{tf}, {mode}");
                (tf.clone(), mode, at)
            })
        })
        .collect()
}

/// Concatenates the parts whose condition holds (version-gated configuration).
fn gated(parts: &[(bool, &str)]) -> String {
    parts
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, text)| *text)
        .collect()
}

fn now_secs() -> u64 {
    unix_now() as u64
}

/// The admin's TOTP code (RFC 6238: SHA-1, 6 digits, 30 s) at `secs`.
fn admin_code_at(secs: u64) -> String {
    let seed = decode_base32(ADMIN_TOTP_SECRET).expect("the admin seed is base32");
    totp_code(&seed, secs)
}

/// A 6-digit code that is none of the admin's codes around now.
fn wrong_code() -> String {
    let now = now_secs();
    let valid = [now - 30, now, now + 30, now + 60].map(admin_code_at);
    (0..10u32)
        .map(|i| format!("{:06}", (123_456 + i * 111_111) % 1_000_000))
        .find(|c| !valid.contains(c))
        .unwrap_or_default()
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

/// Runs a command that must succeed, failing with the run's label.
fn must(at: &str, ws: &Workspace, args: &[&str]) -> Output {
    let out = ws.run(args);
    assert_eq!(out.code, 0, "{at}: {}", ws.failure(args, &out));
    out
}

fn apply(at: &str, ws: &Workspace) -> Output {
    must(at, ws, &["apply", "-auto-approve", "-input=false"])
}

/// Runs a command that must fail (exit 1) and returns its output.
fn fails(at: &str, ws: &Workspace, args: &[&str]) -> Output {
    let out = ws.run(args);
    assert_eq!(out.code, 1, "{at}: {}", ws.failure(args, &out));
    out
}

fn output_token(at: &str, ws: &Workspace, name: &str) -> String {
    let outputs = ws.output_json();
    outputs[name]["value"]
        .as_str()
        .unwrap_or_else(|| panic!("{at}: no output {name}: {outputs}"))
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

/// The mock's view of the session a token belongs to (`null` if it is not active).
fn session_of(mock: &Mock, token: &str) -> Value {
    let id = token.split_once('|').map(|(id, _)| id).unwrap_or_default();
    mock.sessions()["sessions"]
        .as_array()
        .and_then(|all| all.iter().find(|s| s["token_id"] == id).cloned())
        .unwrap_or(Value::Null)
}

/// The mock reports the token's session as 2FA-verified, and a CRM call accepts it.
fn assert_verified(at: &str, mock: &Mock, name: &str, token: &str) {
    let session = session_of(mock, token);
    assert_eq!(
        session["two_factor_verified"], true,
        "{at}: {name}: the mock does not report a verified session: {session}"
    );
    mock.assert_live(
        token,
        format_args!("{at}: {name}: a CRM call refused the token"),
    );
}

/// The mock's `/_mock/users` entry of `username`.
fn user(mock: &Mock, username: &str) -> Value {
    let (status, users) = mock.http("GET", "/_mock/users", None, None);
    assert_eq!(status, 200, "GET /_mock/users: {users}");
    users["users"]
        .as_array()
        .and_then(|all| all.iter().find(|u| u["username"] == username).cloned())
        .unwrap_or_else(|| panic!("{username} not in {users}"))
}

/// No session of `username` is left open.
fn assert_no_session_left(at: &str, mock: &Mock, username: &str) {
    let s = mock.sessions_of(username);
    assert_eq!(s["active"], 0, "{at}: sessions left open: {s}");
    assert_eq!(s["logins"], s["logouts"], "{at}: {s}");
    assert!(s["logins"].as_u64() > Some(0), "{at}: no login at all: {s}");
}

/// Every admin session that exists is verified, and none is left half-open.
fn assert_no_pending_session(at: &str, mock: &Mock) {
    let s = mock.sessions_of(ADMIN_USER);
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
        "{at}: pending 2FA sessions left open: {s}"
    );
}

fn assert_points_at(at: &str, out: &Output, addr: &str, attr_line: &str) {
    let text = out.combined();
    assert!(
        text.contains(&format!("with {addr},")) && text.contains(attr_line),
        "{at}: no diagnostic pointing at `{attr_line}` of {addr}:\n{text}"
    );
}

fn assert_says(at: &str, out: &Output, needles: &[&str]) {
    let text = out.combined();
    let flat = text.replace('\n', " ");
    for needle in needles {
        assert!(
            flat.contains(needle),
            "{at}: missing {needle:?} in:\n{text}"
        );
    }
}

// Cases 1 and 2 of issue 13: an enrolled human with `totp_secret` or `two_factor_code` on the
// object itself.
#[test]
fn enrolled_admin_with_totp_secret_or_code_holds_verified_tokens() {
    for (tf, mode, at) in runs() {
        // One typed-in code answers up to four logins here.
        let mock = mode.start_allowing_code_reuse();
        let ephemeral = tf.at_least(1, 10);
        let tokens = tf.at_least(1, 11);
        let config = gated(&[
            (true, &data_sessions()),
            (ephemeral, &ephemeral_sessions()),
            (tokens, &admin_tokens()),
        ]);
        let mut ws = admin_workspace(&tf, &mock, &config);
        ws.env("TF_VAR_totp_secret", ADMIN_TOTP_SECRET);
        // Valid for this 30 s step and, at the server, the next one: ample for one apply.
        ws.env("TF_VAR_code", &admin_code_at(now_secs()));
        apply(&at, &ws);

        let mut outputs = vec!["data_with_secret", "data_with_code"];
        if tokens {
            outputs.extend(["token_with_secret", "token_with_code"]);
        }
        for name in &outputs {
            assert_verified(&at, &mock, name, &output_token(&at, &ws, name));
        }
        // Each ephemeral session is opened in plan and in apply, verified, and closed each time.
        let opened = if ephemeral { 4 } else { 0 };
        let s = mock.sessions_of(ADMIN_USER);
        assert_eq!(s["active"], outputs.len(), "{at}: {s}");
        assert_eq!(s["logins"], outputs.len() + opened, "{at}: {s}");
        assert_eq!(s["logouts"], opened, "{at}: {s}");
        assert_no_pending_session(&at, &mock);
        // Every login ran the challenge, whether or not the login response hinted at it.
        let logins = outputs.len() + opened;
        assert_eq!(
            statuses(&mock, TWO_FACTOR_SETUP_PATH),
            vec![200; logins],
            "{at}"
        );
        assert_eq!(
            statuses(&mock, TWO_FACTOR_VERIFY_PATH),
            vec![200; logins],
            "{at}"
        );
    }
}

#[test]
fn provider_totp_secret_logs_the_admin_in() {
    for (tf, mode, at) in runs() {
        let mock = mode.start();
        let mut ws = admin_workspace(&tf, &mock, PROVIDER_TOTP_SECRET_TOKEN);
        ws.env("TF_VAR_totp_secret", ADMIN_TOTP_SECRET);
        apply(&at, &ws);
        let token = output_token(&at, &ws, "token");
        assert_verified(&at, &mock, "token", &token);
        let who = mock.http("GET", "/_mock/whoami", Some(&token), None).1;
        assert_eq!(who["username"], ADMIN_USER, "{at}: {who}");
        assert_eq!(ws.plan_exit_code(), 0, "{at}: not converged");
        assert_no_pending_session(&at, &mock);
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
    for (tf, mode, at) in runs() {
        let mock = mode.start();
        let mut ws = admin_workspace(&tf, &mock, TF);
        ws.env("DEFENTRY_USERNAME", ADMIN_USER);
        ws.env("DEFENTRY_PASSWORD", ADMIN_PASSWORD);
        ws.env("DEFENTRY_TOTP_SECRET", ADMIN_TOTP_SECRET);
        apply(&at, &ws);
        for name in ["token", "data"] {
            assert_verified(&at, &mock, name, &output_token(&at, &ws, name));
        }
        assert_eq!(mock.sessions_of(ADMIN_USER)["active"], 2, "{at}");
        assert_no_pending_session(&at, &mock);
    }
}

// Case 3: a wrong seed or a stale code fails at the attribute and leaves no session.
#[test]
fn wrong_totp_secret_or_code_is_rejected_and_the_pending_session_logged_out() {
    let wrong_secret_said = [
        "Error: Two-factor authentication failed",
        "another login with the same secret used those codes first",
        "does not belong to this user",
        "clock",
    ];
    let wrong_code_said = [
        "Error: Two-factor code rejected",
        "wrong or expired",
        "already used",
    ];
    for (tf, mode, at) in runs() {
        let mock = mode.start();
        let mut ws = admin_workspace(&tf, &mock, &data_sessions());
        ws.env("TF_VAR_totp_secret", WRONG_TOTP_SECRET);
        ws.env("TF_VAR_code", &wrong_code());
        let out = fails(&at, &ws, &["plan", "-input=false"]);
        assert_says(&at, &out, &wrong_secret_said);
        assert_says(&at, &out, &wrong_code_said);
        assert_points_at(
            &at,
            &out,
            "data.defentry_session.with_secret",
            "totp_secret = var.totp_secret",
        );
        assert_points_at(
            &at,
            &out,
            "data.defentry_session.with_code",
            "two_factor_code = var.code",
        );
        assert_no_session_left(&at, &mock, ADMIN_USER);
        // The secret was tried with the current code and the next step's, the code once.
        assert_eq!(
            statuses(&mock, TWO_FACTOR_VERIFY_PATH),
            vec![422; 3],
            "{at}"
        );

        if tf.at_least(1, 11) {
            mock.reset();
            ws.write(
                "main.tf",
                &format!("{REQUIRED_PROVIDERS}{ADMIN_VARS}{}", admin_tokens()),
            );
            let out = fails(&at, &ws, &["apply", "-auto-approve", "-input=false"]);
            assert_says(&at, &out, &wrong_secret_said);
            assert_says(&at, &out, &wrong_code_said);
            assert_points_at(
                &at,
                &out,
                "defentry_token.with_secret",
                "totp_secret = var.totp_secret",
            );
            assert_points_at(
                &at,
                &out,
                "defentry_token.with_code",
                "two_factor_code = var.code",
            );
            assert!(ws.resources().is_empty(), "{at}: a failed login left state");
            assert_no_session_left(&at, &mock, ADMIN_USER);
        }
    }
}

// Case 4: `totp_secret` set for a service account, which is never enrolled.
#[test]
fn totp_secret_on_a_service_account_fails_and_enrols_nothing() {
    const DATA: &str = r#"
data "defentry_session" "service" {
  totp_secret = var.totp_secret
}
"#;
    const EPHEMERAL: &str = r#"
ephemeral "defentry_session" "service" {
  totp_secret = var.totp_secret
}
"#;
    const TOKEN: &str = r#"
resource "defentry_token" "service" {
  totp_secret = var.totp_secret
}
"#;
    for (tf, mode, at) in runs() {
        let mock = mode.start();
        let ephemeral = tf.at_least(1, 10);
        let tokens = tf.at_least(1, 11);
        let config = gated(&[(true, DATA), (ephemeral, EPHEMERAL)]);
        let mut ws = admin_workspace(&tf, &mock, &config);
        // A real seed, of another account: the service account has none.
        ws.env("TF_VAR_totp_secret", ADMIN_TOTP_SECRET);
        let args = ["apply", "-auto-approve", "-input=false"];
        let out = fails(&at, &ws, &args);
        let mut objects = vec!["data.defentry_session.service"];
        if ephemeral {
            objects.push("ephemeral.defentry_session.service");
        }
        if tokens {
            // Alone: the failing data source would stop the plan before the resource is created.
            ws.write(
                "main.tf",
                &format!("{REQUIRED_PROVIDERS}{ADMIN_VARS}{TOKEN}"),
            );
            let out = fails(&at, &ws, &args);
            assert_points_at(
                &at,
                &out,
                "defentry_token.service",
                "totp_secret = var.totp_secret",
            );
            assert!(ws.resources().is_empty(), "{at}: a failed login left state");
        }
        for addr in &objects {
            assert_points_at(&at, &out, addr, "totp_secret = var.totp_secret");
        }
        match mode {
            // Setup revealed a new secret: the provider stops before verify.
            Mode::Hints => {
                assert_says(
                    &at,
                    &out,
                    &[
                        "Error: Account not enrolled in two-factor authentication",
                        &format!("{SERVICE_USER} is not enrolled in two-factor authentication"),
                        "Service accounts are never enrolled",
                        "Remove `totp_secret`",
                        "The pending session was logged out.",
                    ],
                );
                assert!(
                    statuses(&mock, TWO_FACTOR_VERIFY_PATH).is_empty(),
                    "{at}: verify was called"
                );
            }
            // Nothing tells the provider; verify refuses every code, and the error says why.
            Mode::Documented => {
                assert_says(
                    &at,
                    &out,
                    &[
                        "Error: Two-factor authentication failed",
                        "is not enrolled in two-factor authentication at all (service accounts never are)",
                        "remove `totp_secret`",
                        "The pending session was logged out.",
                    ],
                );
                let verify = statuses(&mock, TWO_FACTOR_VERIFY_PATH);
                assert!(
                    !verify.is_empty() && verify.iter().all(|s| *s == 422),
                    "{at}: {verify:?}"
                );
            }
        }
        assert_no_session_left(&at, &mock, SERVICE_USER);
        let svc = user(&mock, SERVICE_USER);
        assert_eq!(
            svc["two_factor_enrolled"], false,
            "{at}: the service account got enrolled: {svc}"
        );
        // And it still logs in without any 2FA.
        ws.write(
            "main.tf",
            &format!("{REQUIRED_PROVIDERS}data \"defentry_session\" \"plain\" {{}}\noutput \"t\" {{\n  value     = data.defentry_session.plain.token\n  sensitive = true\n}}\n"),
        );
        apply(&at, &ws);
        mock.assert_live(&output_token(&at, &ws, "t"), format_args!("{at}"));
    }
}

// Case 5: an enrolled human without any 2FA credentials.
#[test]
fn enrolled_admin_without_2fa_credentials() {
    const DATA: &str = r#"
data "defentry_session" "admin" {
  username = "admin@partner.com"
  password = var.admin_password
}

output "data" {
  value     = data.defentry_session.admin.token
  sensitive = true
}
"#;
    const EPHEMERAL: &str = r#"
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

output "token" {
  value     = defentry_token.admin.token
  sensitive = true
}
"#;
    let explained = [
        "Error: Two-factor authentication required",
        "admin@partner.com is an interactive login enrolled in two-factor",
        "Service accounts do not use 2FA",
        "totp_secret",
        "DEFENTRY_TOTP_SECRET",
        "two_factor_code",
        "pending session was logged out",
    ];
    for (tf, mode, at) in runs() {
        let mock = mode.start();
        let ephemeral = tf.at_least(1, 10);
        let tokens = tf.at_least(1, 11);
        let sessions = gated(&[(true, DATA), (ephemeral, EPHEMERAL)]);
        let ws = admin_workspace(&tf, &mock, &sessions);
        match mode {
            // The login response says a challenge is due: a clear error, no session left.
            Mode::Hints => {
                let out = fails(&at, &ws, &["plan", "-input=false"]);
                assert_says(&at, &out, &explained);
                let mut objects = vec!["data.defentry_session.admin"];
                if ephemeral {
                    objects.push("ephemeral.defentry_session.admin");
                }
                for addr in objects {
                    assert_points_at(&at, &out, addr, r#"username = "admin@partner.com""#);
                }
                if tokens {
                    ws.write(
                        "main.tf",
                        &format!("{REQUIRED_PROVIDERS}{ADMIN_VARS}{TOKEN}"),
                    );
                    let out = fails(&at, &ws, &["apply", "-auto-approve", "-input=false"]);
                    assert_says(&at, &out, &explained);
                    assert_points_at(
                        &at,
                        &out,
                        "defentry_token.admin",
                        r#"username    = "admin@partner.com""#,
                    );
                    assert!(ws.resources().is_empty(), "{at}: a failed login left state");
                }
                assert_no_session_left(&at, &mock, ADMIN_USER);
            }
            // Nothing tells the provider: it hands out the token, which CRM calls refuse (403),
            // as the interactive-logins guide documents.
            Mode::Documented => {
                if tokens {
                    ws.write(
                        "main.tf",
                        &format!("{REQUIRED_PROVIDERS}{ADMIN_VARS}{sessions}{TOKEN}"),
                    );
                }
                apply(&at, &ws);
                let mut outputs = vec!["data"];
                if tokens {
                    outputs.push("token");
                }
                for name in outputs {
                    let token = output_token(&at, &ws, name);
                    assert_eq!(
                        session_of(&mock, &token)["two_factor_verified"],
                        false,
                        "{at}: {name}"
                    );
                    assert_eq!(mock.whoami_status(&token), 403, "{at}: {name}");
                }
            }
        }
        // No challenge was started without 2FA credentials.
        assert!(statuses(&mock, TWO_FACTOR_SETUP_PATH).is_empty(), "{at}");
        assert!(statuses(&mock, TWO_FACTOR_VERIFY_PATH).is_empty(), "{at}");
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
    const DATA: &str = r#"
data "defentry_session" "bad_secret" {
  totp_secret = "totp!"
}

data "defentry_session" "letters_code" {
  two_factor_code = "abcdef"
}
"#;
    const EPHEMERAL: &str = r#"
ephemeral "defentry_session" "bad_secret" {
  totp_secret = "1111"
}
"#;
    const TOKENS: &str = r#"
resource "defentry_token" "bad_secret" {
  totp_secret = "0189-not-base32"
}

resource "defentry_token" "short_code" {
  two_factor_code = "12345"
}
"#;
    for tf in terraforms() {
        let at = tf.label();
        let ephemeral = tf.at_least(1, 10);
        let tokens = tf.at_least(1, 11);
        let mock = Mock::start();
        let mut ws = admin_workspace(&tf, &mock, PROVIDER);
        let out = fails(&at, &ws, &["validate"]);
        let text = out.combined();
        assert!(
            text.contains("Error: Invalid totp_secret")
                && text.contains(r#"in provider "defentry":"#)
                && text.contains(r#"totp_secret = "not base32!""#),
            "{at}: provider block not pointed at:\n{text}"
        );

        let literals = gated(&[(true, DATA), (ephemeral, EPHEMERAL), (tokens, TOKENS)]);
        ws.write(
            "main.tf",
            &format!("{REQUIRED_PROVIDERS}{ADMIN_VARS}{literals}"),
        );
        let out = fails(&at, &ws, &["validate"]);
        let text = out.combined();
        let mut expected = vec![
            (
                "data.defentry_session.bad_secret",
                r#"totp_secret = "totp!""#,
            ),
            (
                "data.defentry_session.letters_code",
                r#"two_factor_code = "abcdef""#,
            ),
        ];
        if ephemeral {
            expected.push((
                "ephemeral.defentry_session.bad_secret",
                r#"totp_secret = "1111""#,
            ));
        }
        if tokens {
            expected.push((
                "defentry_token.bad_secret",
                r#"totp_secret = "0189-not-base32""#,
            ));
            expected.push(("defentry_token.short_code", r#"two_factor_code = "12345""#));
        }
        for (addr, line) in &expected {
            assert_points_at(&at, &out, addr, line);
        }
        let secrets = expected
            .iter()
            .filter(|(_, l)| l.starts_with("totp"))
            .count();
        assert_eq!(
            text.matches("Error: Invalid totp_secret").count(),
            secrets,
            "{at}:\n{text}"
        );
        assert_eq!(
            text.matches("Error: Invalid two_factor_code").count(),
            expected.len() - secrets,
            "{at}:\n{text}"
        );
        assert!(
            text.contains("is not a base32 TOTP secret"),
            "{at}:\n{text}"
        );
        assert!(text.contains("6-digit code"), "{at}:\n{text}");

        // The same values through variables: caught when the plan knows them.
        let from_variables = gated(&[(true, &data_sessions()), (tokens, &admin_tokens())]);
        ws.write(
            "main.tf",
            &format!("{REQUIRED_PROVIDERS}{ADMIN_VARS}{from_variables}"),
        );
        ws.env("TF_VAR_totp_secret", "not base32!");
        ws.env("TF_VAR_code", "12 456");
        let out = fails(&at, &ws, &["plan", "-input=false"]);
        let mut kinds = vec!["data.defentry_session"];
        if tokens {
            kinds.push("defentry_token");
        }
        for kind in kinds {
            let (with_secret, with_code) =
                (format!("{kind}.with_secret"), format!("{kind}.with_code"));
            assert_points_at(&at, &out, &with_secret, "totp_secret = var.totp_secret");
            assert_points_at(&at, &out, &with_code, "two_factor_code = var.code");
        }

        // A malformed DEFENTRY_TOTP_SECRET is reported before logging in.
        ws.write(
            "main.tf",
            &format!("{REQUIRED_PROVIDERS}data \"defentry_session\" \"admin\" {{}}\n"),
        );
        ws.env("DEFENTRY_USERNAME", ADMIN_USER);
        ws.env("DEFENTRY_PASSWORD", ADMIN_PASSWORD);
        ws.env("DEFENTRY_TOTP_SECRET", "not base32!");
        let out = fails(&at, &ws, &["plan", "-input=false"]);
        assert!(
            out.combined().contains("DEFENTRY_TOTP_SECRET"),
            "{at}:\n{}",
            out.combined()
        );
        assert_eq!(
            mock.sessions()["logins"],
            0,
            "{at}: a malformed 2FA setting must not open a session"
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
    for (tf, mode, at) in runs() {
        // One typed-in code answers several logins here.
        let mock = mode.start_allowing_code_reuse();
        let tokens = tf.at_least(1, 11);
        let config = gated(&[
            (true, &data_sessions()),
            (tf.at_least(1, 10), &ephemeral_sessions()),
            (tokens, &admin_tokens()),
        ]);
        let mut ws = admin_workspace(&tf, &mock, &config);
        ws.env("TF_VAR_totp_secret", ADMIN_TOTP_SECRET);
        let start = now_secs();
        ws.env("TF_VAR_code", &admin_code_at(start));
        ws.env("TF_LOG", "trace");
        let mut logs = apply(&at, &ws).combined();
        // A failed login must not leak either.
        ws.env("TF_VAR_code", "000000");
        ws.env("TF_VAR_totp_secret", WRONG_TOTP_SECRET);
        ws.write(
            "fail.tf",
            "data \"defentry_session\" \"fails\" {\n  username    = \"admin@partner.com\"\n  password    = var.admin_password\n  totp_secret = var.totp_secret\n}\n",
        );
        logs += &ws.run(&["plan", "-input=false"]).combined();
        let end = now_secs();
        assert!(logs.contains("[TRACE]"), "{at}: TF_LOG=trace had no effect");
        assert!(
            logs.contains("Two-factor authentication failed"),
            "{at}: the failing plan did not fail as expected"
        );

        ws.env("TF_LOG", "");
        let mut secrets = vec![
            ("admin password", ADMIN_PASSWORD.to_string()),
            ("TOTP secret", ADMIN_TOTP_SECRET.to_string()),
        ];
        let mut outputs = vec!["data_with_secret", "data_with_code"];
        if tokens {
            outputs.extend(["token_with_secret", "token_with_code"]);
        }
        for name in outputs {
            let token = output_token(&at, &ws, name);
            mock.assert_live(&token, format_args!("{at}: {name}"));
            let secret = token.split_once('|').map(|(_, s)| s.to_string());
            secrets.push(("token", token));
            secrets.push(("token secret", secret.unwrap_or_default()));
        }
        for (what, secret) in &secrets {
            assert!(!secret.is_empty(), "{at}: empty {what}");
            assert!(
                !logs.contains(secret.as_str()),
                "{at}: the {what} appears in TF_LOG=trace output"
            );
        }
        // Every code that was valid during the run.
        let mut t = start.saturating_sub(30);
        while t <= end + 30 {
            let code = admin_code_at(t);
            assert!(
                !contains_code(&logs, &code),
                "{at}: a 2FA code appears in TF_LOG=trace output"
            );
            t += 30;
        }
    }
}

// Ctrl-C during the challenge. A request that reached the CRM is finished (issue 10), but no
// new one starts: a Ctrl-C during setup lets setup finish, never sends verify, and logs the
// pending session out, so no token reaches Terraform; a Ctrl-C during verify lets verify finish,
// and the now verified token is recorded in state, so Terraform knows every session that exists.
#[test]
fn ctrl_c_during_the_challenge_logs_the_pending_session_out() {
    const HOLD: Duration = Duration::from_secs(3);
    for (tf, mode, at) in runs() {
        let mock = mode.start();
        let mut ws = admin_workspace(&tf, &mock, PROVIDER_TOTP_SECRET_TOKEN);
        ws.env("TF_VAR_totp_secret", ADMIN_TOTP_SECRET);
        mock.fault(json!({"path": TWO_FACTOR_SETUP_PATH, "method": "POST", "delay_ms": HOLD.as_millis() as u64}));
        let mut job = GroupJob::start(&ws, &["apply", "-auto-approve", "-input=false"]);
        job.wait_for_faults_taken(&mock, &at, "setup");
        assert_eq!(mock.sessions_of(ADMIN_USER)["active"], 1, "{at}");
        let (status, _) = job.interrupt(HOLD + Duration::from_secs(60), &at);
        let output = || job.output();
        assert_eq!(status.code(), Some(1), "{at}: {status}\n{}", output());
        let text = output().replace('\n', " ");
        for needle in [
            "Interrupt received",
            "Terraform asked the provider to stop before it could complete two-factor authentication",
            "The pending session was logged out.",
        ] {
            assert!(text.contains(needle), "{at}: missing {needle:?}:\n{}", output());
        }
        let verifies = mock.requests()["requests"].as_array().map_or(0, |r| {
            r.iter()
                .filter(|c| c["path"] == TWO_FACTOR_VERIFY_PATH)
                .count()
        });
        assert_eq!(verifies, 0, "{at}: verify was sent after the stop");
        assert_no_session_left(&at, &mock, ADMIN_USER);
        assert!(
            ws.resources().is_empty(),
            "{at}: an interrupted login left state"
        );

        // Ctrl-C while verify is in flight: it completes and the token is kept.
        mock.fault(json!({"path": TWO_FACTOR_VERIFY_PATH, "method": "POST", "delay_ms": HOLD.as_millis() as u64}));
        let mut job = GroupJob::start(&ws, &["apply", "-auto-approve", "-input=false"]);
        job.wait_for_faults_taken(&mock, &at, "verify");
        let (status, _) = job.interrupt(HOLD + Duration::from_secs(60), &at);
        assert!(status.code().is_some(), "{at}: {status}\n{}", job.output());
        let state = ws.resources();
        assert_eq!(
            state.len(),
            1,
            "{at}: the finished login is not in state\n{}",
            job.output()
        );
        let token = state[0]["values"]["token"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        mock.assert_live(
            &token,
            format_args!("{at}: the recorded token is not verified"),
        );
        assert_eq!(mock.sessions_of(ADMIN_USER)["active"], 1, "{at}");
        assert_no_pending_session(&at, &mock);
        ws.destroy();
        assert_no_session_left(&at, &mock, ADMIN_USER);
    }
}

// Issue 17.2: the mock accepts each TOTP code once by default, as Laravel Fortify does
// (RFC 6238 §5.2). These tests run it so.

/// An ephemeral session of the provider's user (Terraform 1.10+: opened at plan and again at
/// apply), or before 1.10 a data source (read at plan).
fn admin_session(tf: &Terraform) -> &'static str {
    if tf.at_least(1, 10) {
        "\nephemeral \"defentry_session\" \"admin\" {}\n"
    } else {
        "\ndata \"defentry_session\" \"admin\" {}\n"
    }
}

/// Another run's login within this step: the admin logs in and verifies the current code
/// (refused if an earlier login already used it: used either way).
fn another_run_uses_the_current_code(at: &str, mock: &Mock) {
    let token = mock.login(ADMIN_USER, ADMIN_PASSWORD);
    let code = json!({ "code": admin_code_at(now_secs()) });
    let (status, body) = mock.http("POST", TWO_FACTOR_VERIFY_PATH, Some(&token), Some(&code));
    assert!(
        status == 200 || status == 422,
        "{at}: the test's own verify: {status} {body}"
    );
    mock.http("POST", "/api/v1/crm/logout", Some(&token), None);
}

/// Verify requests the mock answered 200.
fn verified(mock: &Mock) -> usize {
    statuses(mock, TWO_FACTOR_VERIFY_PATH)
        .iter()
        .filter(|s| **s == 200)
        .count()
}

// One apply logs the admin in two or three times within seconds (the ephemeral session at plan
// and at apply, the token at apply; before 1.10 the data source at plan): each login needs a
// code no other login used, though plan and apply are separate provider processes.
#[test]
fn one_apply_with_a_2fa_session_and_a_token_of_one_human_verifies_both() {
    for tf in terraforms() {
        let at = tf.label();
        let mock = Mock::start();
        let config = format!("{PROVIDER_TOTP_SECRET_TOKEN}{}", admin_session(&tf));
        let mut ws = admin_workspace(&tf, &mock, &config);
        ws.env("TF_VAR_totp_secret", ADMIN_TOTP_SECRET);
        apply(&at, &ws);
        assert_verified(&at, &mock, "token", &output_token(&at, &ws, "token"));
        assert_no_pending_session(&at, &mock);
        let logins = if tf.at_least(1, 10) { 3 } else { 2 };
        let s = mock.sessions_of(ADMIN_USER);
        assert_eq!(s["logins"], logins, "{at}: {s}");
        assert_eq!(
            verified(&mock),
            logins,
            "{at}: {:?}",
            statuses(&mock, TWO_FACTOR_VERIFY_PATH)
        );
        // The ephemeral session was closed at plan and at apply; the token is live.
        assert_eq!(s["active"], 1 + usize::from(logins == 2), "{at}: {s}");
    }
}

// A code refused at verify is retried once, with the next step's code: another run may have
// used the current one (the test's own login here), or a fault refuses it. Refused twice, the
// error names the causes and what to do.
#[test]
fn a_refused_code_is_retried_once_with_the_next_steps_code() {
    const DATA: &str = r#"
provider "defentry" {
  username    = "admin@partner.com"
  password    = var.admin_password
  totp_secret = var.totp_secret
}

data "defentry_session" "admin" {}
"#;
    for tf in terraforms() {
        let at = tf.label();
        let mock = Mock::start();
        let mut ws = admin_workspace(&tf, &mock, PROVIDER_TOTP_SECRET_TOKEN);
        ws.env("TF_VAR_totp_secret", ADMIN_TOTP_SECRET);
        mock.fault(
            json!({"path": TWO_FACTOR_VERIFY_PATH, "method": "POST", "status": 422, "count": 1}),
        );
        apply(&at, &ws);
        assert_eq!(
            statuses(&mock, TWO_FACTOR_VERIFY_PATH),
            vec![422, 200],
            "{at}"
        );
        assert_verified(&at, &mock, "token", &output_token(&at, &ws, "token"));
        // The refused login's session was verified by the retry: nothing half-open.
        assert_eq!(mock.sessions_of(ADMIN_USER)["logins"], 1, "{at}");
        assert_no_pending_session(&at, &mock);

        // Another run just used the current code: refused if still current, then the next one.
        mock.reset();
        ws.write(
            "main.tf",
            &format!("{REQUIRED_PROVIDERS}{ADMIN_VARS}{DATA}"),
        );
        another_run_uses_the_current_code(&at, &mock);
        must(&at, &ws, &["plan", "-input=false"]);
        let verifies = statuses(&mock, TWO_FACTOR_VERIFY_PATH);
        let provider_verifies = verifies.get(1..).unwrap_or_default();
        assert!(
            provider_verifies == [422, 200] || provider_verifies == [200],
            "{at}: {provider_verifies:?}"
        );
        assert_no_pending_session(&at, &mock);

        // Refused twice: the error, on the object that logged in, and the pending session
        // logged out.
        mock.reset();
        mock.fault(
            json!({"path": TWO_FACTOR_VERIFY_PATH, "method": "POST", "status": 422, "count": 2}),
        );
        let out = fails(&at, &ws, &["plan", "-input=false"]);
        assert_says(
            &at,
            &out,
            &[
                "Error: Two-factor authentication failed",
                "the second one in the next 30-second step",
                "Defentry accepts each code once",
                "another login with the same secret used those codes first",
                "another Terraform run",
                "does not belong to this user",
                "clock is off by more than 30 seconds",
                "Run Terraform again once no other login of admin@partner.com is running",
                "The pending session was logged out.",
            ],
        );
        assert_says(&at, &out, &["with data.defentry_session.admin"]);
        assert_eq!(
            statuses(&mock, TWO_FACTOR_VERIFY_PATH),
            vec![422, 422],
            "{at}"
        );
        assert_no_session_left(&at, &mock, ADMIN_USER);
    }
}

// A typed-in code cannot be regenerated: it serves one login. A second run with it is refused,
// and the error says why and what to do.
#[test]
fn a_typed_in_code_serves_one_login_only() {
    const DATA: &str = r#"
data "defentry_session" "with_code" {
  username        = "admin@partner.com"
  password        = var.admin_password
  two_factor_code = var.code
}
"#;
    for tf in terraforms() {
        let at = tf.label();
        let mock = Mock::start();
        let mut ws = admin_workspace(&tf, &mock, DATA);
        ws.env("TF_VAR_code", &admin_code_at(now_secs()));
        must(&at, &ws, &["plan", "-input=false"]);
        let out = fails(&at, &ws, &["plan", "-input=false"]);
        assert_says(
            &at,
            &out,
            &[
                "Error: Two-factor code rejected",
                "or it was already used",
                "Defentry accepts each code once",
                "The provider cannot compute a new code from a typed-in one",
                "Enter a fresh code",
                "set `totp_secret`",
                "The pending session was logged out.",
            ],
        );
        assert_points_at(
            &at,
            &out,
            "data.defentry_session.with_code",
            "two_factor_code = var.code",
        );
        // Sent once per login, never retried.
        assert_eq!(
            statuses(&mock, TWO_FACTOR_VERIFY_PATH),
            vec![200, 422],
            "{at}"
        );
        assert_no_pending_session(&at, &mock);
    }
}
