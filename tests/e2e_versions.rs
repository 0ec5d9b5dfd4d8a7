//! The provider on every Terraform in `.tools/bin` (1.6 to 1.15): a lifecycle smoke per version,
//! run in parallel, and the features that need a newer Terraform either working or refused
//! clearly, by Terraform itself or (write-only arguments) by the provider, never by a crash.
//! The full suites (the other e2e_*.rs) run on the oldest and the newest only.

pub mod common;

use std::sync::Mutex;
use std::thread;

use common::*;

/// Versions smoked at once: one per core, at most 4. Each runs its own mock and Terraform
/// (on 2 busy cores, nine versions took 18 s one at a time, 11 s two at a time, 14 s three).
fn workers() -> usize {
    thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 4))
}

/// Runs `f` for every Terraform of `all_terraforms()` on `workers()` threads, then fails with
/// every version's failure (not just the first).
fn for_each_terraform(f: impl Fn(&Terraform) + Sync) {
    let queue = Mutex::new(all_terraforms());
    let failures = Mutex::new(Vec::new());
    thread::scope(|s| {
        for _ in 0..workers() {
            s.spawn(|| loop {
                let next = queue.lock().map(|mut q| q.pop()).unwrap_or(None);
                let Some(tf) = next else { break };
                if let Err(e) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&tf))) {
                    let msg = e
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    if let Ok(mut v) = failures.lock() {
                        v.push(format!("=== {tf} ===\n{msg}"));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap_or_default();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The data source, read once.
const DATA_TF: &str = r#"
data "defentry_session" "d" {}

output "data_token" {
  value     = data.defentry_session.d.token
  sensitive = true
}
"#;

/// Revokes a token given through `TF_VAR_leaked` (Terraform 1.14+).
const ACTION_TF: &str = r#"
variable "leaked" {
  type      = string
  sensitive = true
}

action "defentry_logout" "leaked" {
  config {
    token = var.leaked
  }
}
"#;

/// The token part of the smoke for this Terraform: what it supports, nothing more.
fn token_config(tf: &Terraform, round: u32) -> String {
    let mut cfg = format!(
        r#"{REQUIRED_PROVIDERS}
variable "pw" {{
  type      = string
  sensitive = true
}}

resource "defentry_token" "t" {{
  triggers = {{ round = "{round}" }}
"#
    );
    if tf.at_least(1, 11) {
        cfg.push_str("  password_wo         = var.pw\n  password_wo_version = \"1\"\n");
    }
    cfg.push_str("}\n");
    if tf.at_least(1, 10) {
        // The provisioner proves the ephemeral token worked while the run was open.
        cfg.push_str(
            r#"
ephemeral "defentry_session" "e" {}

resource "terraform_data" "consumer" {
  provisioner "local-exec" {
    command = "echo \"$TOKEN\" > ephemeral-token.txt"
    environment = {
      TOKEN = ephemeral.defentry_session.e.token
    }
  }
}
"#,
        );
    }
    cfg
}

/// Data source; an action revoking its session (1.14+); token apply, clean plan, trigger
/// rotation, destroy with no session left; an ephemeral session (1.10+) and a write-only
/// password (1.11+) where this Terraform has them, and its own refusal where it does not.
fn lifecycle(tf: &Terraform) {
    let mock = Mock::start();
    let mut ws = Workspace::new(tf, &mock);
    ws.write("main.tf", &format!("{REQUIRED_PROVIDERS}{DATA_TF}"));
    ws.apply();
    let data_token = s(&ws.output_json()["data_token"]["value"]);
    mock.assert_live(&data_token, format_args!("{tf}: data source"));
    assert_eq!(mock.active_sessions(), 1, "{tf}: {}", mock.sessions());

    // The data source never logs its session out (documented): an action can.
    ws.write("main.tf", &format!("{REQUIRED_PROVIDERS}{ACTION_TF}"));
    if tf.at_least(1, 14) {
        ws.env("TF_VAR_leaked", &data_token);
        ws.ok(&[
            "apply",
            "-auto-approve",
            "-input=false",
            "-invoke=action.defentry_logout.leaked",
        ]);
    } else {
        if tf.at_least(1, 13) {
            // 1.13 parses `action` blocks (and ignores them) but has no way to invoke one.
            ws.ok(&["validate"]);
            ws.refused(
                &[
                    "apply",
                    "-auto-approve",
                    "-invoke=action.defentry_logout.leaked",
                ],
                "flag provided but not defined: -invoke",
            );
        } else {
            ws.refused(
                &["validate"],
                r#"Blocks of type "action" are not expected here."#,
            );
        }
        let (status, body) = mock.http("POST", LOGOUT_PATH, Some(&data_token), None);
        assert!(status < 300, "{tf}: logout by hand: {status} {body}");
    }
    mock.assert_revoked(&data_token, format_args!("{tf}: still valid"));
    assert_eq!(mock.active_sessions(), 0, "{tf}: {}", mock.sessions());

    ws.env("TF_VAR_pw", SERVICE_PASSWORD);
    ws.write("main.tf", &token_config(tf, 1));
    ws.apply();
    let first = values_of(&ws, "defentry_token.t");
    mock.assert_live(&s(&first["token"]), tf);
    let state = ws.state_text();
    assert!(!state.contains(SERVICE_PASSWORD), "{tf}: password in state");
    if tf.at_least(1, 10) {
        let eph = ws.read("ephemeral-token.txt");
        let eph = eph.trim();
        assert!(eph.contains('|'), "{tf}: ephemeral token {eph:?}");
        mock.assert_revoked(eph, format_args!("{tf}: ephemeral not closed"));
        let secret = eph.split('|').nth(1).unwrap_or_default();
        assert!(!state.contains(secret), "{tf}: ephemeral token in state");
    } else {
        ws.write("ephemeral.tf", "ephemeral \"defentry_session\" \"e\" {}\n");
        ws.refused(&["validate"], NO_EPHEMERAL_BLOCKS);
        ws.remove("ephemeral.tf");
    }
    // Only the token; every ephemeral session is closed again.
    assert_eq!(mock.active_sessions(), 1, "{tf}: {}", mock.sessions());
    assert_eq!(ws.plan_exit_code(), 0, "{tf}: not converged after apply");

    ws.write("main.tf", &token_config(tf, 2));
    let plan = ws.plan();
    assert!(
        plan.stdout.contains("defentry_token.t must be replaced"),
        "{tf}: a trigger change must replace the token:\n{}",
        plan.stdout
    );
    ws.apply();
    let second = values_of(&ws, "defentry_token.t");
    assert_ne!(second["token_id"], first["token_id"], "{tf}: not rotated");
    mock.assert_revoked(&s(&first["token"]), format_args!("{tf}: old token"));
    mock.assert_live(&s(&second["token"]), format_args!("{tf}: new token"));
    assert_eq!(ws.plan_exit_code(), 0, "{tf}: not converged after rotation");

    ws.destroy();
    assert!(ws.resources().is_empty(), "{tf}: resources left");
    mock.assert_revoked(&s(&second["token"]), format_args!("{tf}: destroy"));
    assert_eq!(mock.active_sessions(), 0, "{tf}: {}", mock.sessions());
}

#[test]
fn lifecycle_smoke_on_every_terraform() {
    for_each_terraform(lifecycle);
}

/// Terraform before 1.11 ignores the schema's write-only flag and would store the value in
/// state; the provider refuses it at the attribute instead, before any login.
#[test]
fn write_only_arguments_are_refused_before_terraform_1_11() {
    let old: Vec<Terraform> = all_terraforms()
        .into_iter()
        .filter(|t| !t.at_least(1, 11))
        .collect();
    assert!(
        !old.is_empty(),
        "no Terraform older than 1.11 to test with: run `make setup` (tools/ensure_terraform.py)"
    );
    for tf in old {
        let mock = Mock::start();
        let mut ws = Workspace::new(&tf, &mock);
        ws.env("TF_VAR_pw", SERVICE_PASSWORD);
        ws.write(
            "main.tf",
            &format!(
                r#"{REQUIRED_PROVIDERS}
variable "pw" {{
  type      = string
  sensitive = true
}}

resource "defentry_token" "t" {{
  totp_secret = "JBSWY3DPEHPK3PXP"
  password_wo = var.pw
}}
"#
            ),
        );
        for args in [
            &["plan", "-input=false"][..],
            &["apply", "-auto-approve", "-input=false"][..],
        ] {
            let out = ws.refused(args, WRITE_ONLY_NOT_ALLOWED);
            let text = out.combined().replace('\n', " ");
            for needle in [
                "password_wo is write-only",
                "totp_secret is write-only",
                "needs Terraform 1.11 or later",
                "password_wo = var.pw",
            ] {
                assert!(text.contains(needle), "{tf}: no {needle:?} in:\n{text}");
            }
            assert!(!text.contains(SERVICE_PASSWORD), "{tf}: password printed");
        }
        let state = ws.state_text();
        assert!(
            !state.contains(SERVICE_PASSWORD) && !state.contains("JBSWY3DPEHPK3PXP"),
            "{tf}: secret in state:\n{state}"
        );
        assert!(ws.resources().is_empty(), "{tf}: resources in state");
        assert_eq!(mock.sessions()["logins"], 0, "{tf}: nothing may log in");
    }
}
