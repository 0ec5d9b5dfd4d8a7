//! Every example and the `terraform test` suite, proven with every available Terraform:
//! formatted, and (those that need only this provider and Terraform's built-ins) applied and
//! destroyed against defentry-mock with no session left behind. The Vault, AWS and Kubernetes
//! examples need providers that cannot be installed offline, so they get `fmt` only.

pub mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Copies the Terraform files (`*.tf`, `*.tftest.hcl`) of one example folder into the workspace.
fn copy_example(ws: &Workspace, dir: &str) {
    let src = repo().join(dir);
    let mut copied = 0;
    for e in fs::read_dir(&src).unwrap_or_else(|e| panic!("{}: {e}", src.display())) {
        let p = e.expect("dir entry").path();
        let name = p
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if p.is_file() && (name.ends_with(".tf") || name.ends_with(".tftest.hcl")) {
            let text = fs::read_to_string(&p).expect("read example");
            ws.write(&name, &text);
            copied += 1;
        }
    }
    assert!(copied > 0, "no Terraform files in {dir}");
}

/// A workspace holding the provider block plus one tfplugindocs snippet folder.
fn snippet_workspace(tf: &Terraform, mock: &Mock, dir: &str) -> Workspace {
    let ws = Workspace::new(tf, mock);
    copy_example(&ws, "examples/provider");
    copy_example(&ws, dir);
    ws
}

fn output_str(ws: &Workspace, name: &str) -> String {
    let out = ws.output_json();
    out[name]["value"]
        .as_str()
        .unwrap_or_else(|| panic!("{}: output {name} is not a string: {out}", ws.terraform()))
        .to_string()
}

/// A sensitive output, read the way a user would (`terraform output -raw`).
fn raw_output(ws: &Workspace, name: &str) -> String {
    ws.ok(&["output", "-raw", name]).stdout
}

fn assert_no_sessions_left(mock: &Mock, tf: &Terraform, what: &str) {
    assert_eq!(
        mock.active_sessions(),
        0,
        "{tf}: {what} left sessions behind: {}",
        mock.sessions()
    );
}

/// `terraform destroy`, after which no session is left at the mock.
fn destroy_leaves_no_sessions(ws: &Workspace, mock: &Mock, tf: &Terraform, what: &str) {
    ws.destroy();
    assert_no_sessions_left(mock, tf, what);
}

/// One [`Setup`] per Terraform, with the Terraform files of the example folder `dir` copied
/// into its workspace.
fn example_setups(dir: &'static str) -> impl Iterator<Item = Setup> {
    setups().inspect(move |Setup { ws, .. }| copy_example(ws, dir))
}

/// Paths and statuses of the mock's request log, in order.
fn request_log(mock: &Mock) -> Vec<(String, u64)> {
    mock.requests()["requests"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|r| {
            (
                r["path"].as_str().unwrap_or_default().to_string(),
                r["status"].as_u64().unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn examples_and_the_test_suite_are_formatted() {
    for tf in terraforms() {
        let ws = Workspace::bare(&tf);
        for dir in ["examples", "tests/terraform"] {
            let path = repo().join(dir);
            let path = path.to_string_lossy();
            let args = ["fmt", "-check", "-recursive", "-diff", path.as_ref()];
            let out = ws.run(&args);
            assert_eq!(
                out.code,
                0,
                "{dir} is not formatted; run `terraform fmt -recursive {dir}`\n{}",
                ws.failure(&args, &out)
            );
        }
    }
}

/// The HCL blocks of README.md, one file each, in a scratch workspace.
fn readme_hcl_blocks(ws: &Workspace) -> usize {
    let readme = fs::read_to_string(repo().join("README.md")).expect("README.md");
    let mut n = 0;
    let mut block: Option<String> = None;
    for line in readme.lines() {
        match (&mut block, line) {
            (None, "```hcl") => block = Some(String::new()),
            (Some(b), "```") => {
                n += 1;
                ws.write(&format!("readme-{n}.tf"), b);
                block = None;
            }
            (Some(b), l) => {
                b.push_str(l);
                b.push('\n');
            }
            (None, _) => {}
        }
    }
    n
}

#[test]
fn readme_example_is_formatted() {
    for tf in terraforms() {
        let ws = Workspace::bare(&tf);
        assert!(readme_hcl_blocks(&ws) > 0, "no ```hcl block in README.md");
        let args = ["fmt", "-check", "-diff", "."];
        let out = ws.run(&args);
        assert_eq!(out.code, 0, "README.md HCL: {}", ws.failure(&args, &out));
    }
}

#[test]
fn quickstart_issues_a_working_token_and_destroy_logs_it_out() {
    for Setup { tf, mock, ws } in example_setups("examples/quickstart") {
        ws.apply();
        let token_id = output_str(&ws, "token_id");
        assert!(!token_id.is_empty(), "{tf}");
        assert!(!output_str(&ws, "rotate_at").is_empty(), "{tf}");
        let token = raw_output(&ws, "token");
        assert!(token.starts_with(&format!("{token_id}|")), "{tf}");
        mock.assert_live(&token, format_args!("{tf}: token not accepted"));
        assert_eq!(ws.plan_exit_code(), 0, "{tf}: not converged after apply");
        ws.destroy();
        mock.assert_revoked(&token, format_args!("{tf}: token still valid"));
        assert_no_sessions_left(&mock, &tf, "quickstart");
    }
}

/// The CI samples' steps, verbatim: `plan -detailed-exitcode -out=tfplan` exits 0 before
/// `rotate_at` and 2 after it, `apply tfplan` rotates, and the next rotation stays on the
/// `rotation_anchor` grid.
#[test]
fn scheduled_rotation_runs_as_the_ci_samples_run_it() {
    let ci_plan = ["plan", "-detailed-exitcode", "-out=tfplan"];
    for Setup { tf, mock, mut ws } in example_setups("examples/scheduled-rotation") {
        // A grid point shortly after creation is the first rotation; the example's 24h period
        // puts the next one a day later. The margin covers a slow apply and plan.
        let anchor = chrono::Utc::now() + chrono::Duration::seconds(20);
        let anchor = anchor.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        ws.env("TF_VAR_rotation_anchor", &anchor);
        ws.apply();
        let first = output_str(&ws, "token_id");
        let first_token = raw_output_token(&ws);
        assert_eq!(output_str(&ws, "rotate_at"), anchor, "{tf}");
        ws.ok(&ci_plan);

        // Wait for the clock to pass rotate_at (a deadline, not a guess about a server).
        let due = chrono::DateTime::parse_from_rfc3339(&anchor)
            .unwrap_or_else(|e| panic!("{tf}: {anchor:?}: {e}"))
            .with_timezone(&chrono::Utc);
        let wait = (due - chrono::Utc::now()).to_std().unwrap_or_default();
        std::thread::sleep(wait + std::time::Duration::from_millis(1100));

        let out = ws.run(&ci_plan);
        assert_eq!(out.code, 2, "{}", ws.failure(&ci_plan, &out));
        assert!(
            out.stdout.contains("must be replaced"),
            "{tf}: {}",
            out.stdout
        );
        ws.ok(&["apply", "tfplan"]);
        let second = output_str(&ws, "token_id");
        assert_ne!(first, second, "{tf}: not rotated");
        let next =
            (due + chrono::Duration::hours(24)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        assert_eq!(output_str(&ws, "rotate_at"), next, "{tf}: off the grid");
        mock.assert_revoked(&first_token, format_args!("{tf}: old token alive"));
        assert_eq!(mock.active_sessions(), 1, "{tf}: {}", mock.sessions());
        ws.ok(&ci_plan);
        destroy_leaves_no_sessions(&ws, &mock, &tf, "scheduled-rotation");
    }
}

/// The token of a configuration without a `token` output, from the state.
fn raw_output_token(ws: &Workspace) -> String {
    ws.resources()
        .iter()
        .find(|r| r["type"] == "defentry_token")
        .and_then(|r| r["values"]["token"].as_str().map(str::to_string))
        .unwrap_or_else(|| panic!("{}: no defentry_token in state", ws.terraform()))
}

#[test]
fn zero_downtime_rotation_logs_in_before_it_logs_out() {
    for Setup { tf, mock, ws } in example_setups("examples/zero-downtime-rotation") {
        ws.apply();
        let first = output_str(&ws, "token_id");
        let first_token = raw_output_token(&ws);
        assert_eq!(output_str(&ws, "release_token_id"), first, "{tf}");
        assert_eq!(ws.plan_exit_code(), 0, "{tf}");
        let before = request_log(&mock).len();

        ws.ok(&["apply", "-auto-approve", "-replace=defentry_token.app"]);
        let second = output_str(&ws, "token_id");
        assert_ne!(first, second, "{tf}: not rotated");
        assert_eq!(output_str(&ws, "release_token_id"), second, "{tf}");
        mock.assert_revoked(&first_token, format_args!("{tf}: old token alive"));
        mock.assert_live(
            &raw_output_token(&ws),
            format_args!("{tf}: new token rejected"),
        );
        assert_eq!(mock.active_sessions(), 1, "{tf}: {}", mock.sessions());
        let log = request_log(&mock).split_off(before);
        let login = log.iter().position(|(p, s)| p == LOGIN_PATH && *s == 200);
        let logout = log.iter().position(|(p, s)| p == LOGOUT_PATH && *s == 200);
        match (login, logout) {
            (Some(i), Some(o)) => assert!(i < o, "{tf}: logged out before logging in: {log:?}"),
            _ => panic!("{tf}: no login and logout during the rotation: {log:?}"),
        }
        destroy_leaves_no_sessions(&ws, &mock, &tf, "zero-downtime-rotation");
    }
}

#[test]
fn local_exec_hands_the_token_to_a_command_through_the_environment() {
    for Setup { tf, mock, mut ws } in example_setups("examples/local-exec") {
        ws.env(
            "TF_VAR_publish_command",
            "printf '%s' \"$DEFENTRY_TOKEN\" > published-token",
        );
        let out = ws.apply();
        let published = ws.read("published-token");
        assert!(!published.is_empty(), "{tf}: the command did not run");
        mock.assert_live(&published, &tf);
        assert!(
            !out.combined().contains(&published),
            "{tf}: the token appeared in Terraform's output"
        );
        destroy_leaves_no_sessions(&ws, &mock, &tf, "local-exec");
    }
}

#[test]
fn interactive_login_example_answers_the_2fa_challenge_and_logs_out() {
    for Setup { tf, mock, mut ws } in example_setups("examples/interactive-login") {
        ws.env("TF_VAR_admin_password", ADMIN_PASSWORD);
        ws.env("TF_VAR_admin_totp_secret", ADMIN_TOTP_SECRET);
        // `required_version = ">= 1.11"`; before 1.10 the parser stops earlier, at the
        // ephemeral variables.
        if plan_refused_before_1_11(&tf, &ws, &mock, "Unsupported Terraform Core version") {
            continue;
        }
        ws.apply();
        let log = request_log(&mock);
        assert!(
            log.iter()
                .any(|(p, s)| p == TWO_FACTOR_VERIFY_PATH && *s == 200),
            "{tf}: no successful 2FA verification: {log:?}"
        );
        let admin = mock.sessions_of(ADMIN_USER);
        assert!(admin["logins"].as_u64().unwrap_or(0) >= 1, "{tf}: {admin}");
        assert_no_sessions_left(&mock, &tf, "the ephemeral admin session");
        assert!(!ws.state_text().contains("Bearer"), "{tf}: token in state");
        destroy_leaves_no_sessions(&ws, &mock, &tf, "interactive-login");
    }
}

#[test]
fn token_resource_snippets_apply_and_destroy() {
    for tf in terraforms() {
        let mock = Mock::start();
        let mut ws = snippet_workspace(&tf, &mock, "examples/resources/defentry_token");
        ws.env("TF_VAR_defentry_password", SERVICE_PASSWORD);
        // write-only-password.tf needs 1.11; resource.tf alone works everywhere.
        if plan_refused_before_1_11(&tf, &ws, &mock, WRITE_ONLY_NOT_ALLOWED) {
            ws.remove("write-only-password.tf");
            ws.apply();
            assert!(!output_str(&ws, "backend_token_id").is_empty(), "{tf}");
            // resource.tf and overlap.tf: one token each.
            assert_eq!(mock.active_sessions(), 2, "{tf}: {}", mock.sessions());
            assert_eq!(ws.plan_exit_code(), 0, "{tf}");
            destroy_leaves_no_sessions(&ws, &mock, &tf, "the defentry_token snippet");
            continue;
        }
        ws.apply();
        assert!(!output_str(&ws, "backend_token_id").is_empty(), "{tf}");
        // backend, reporting and (overlap.tf) api.
        assert_eq!(mock.active_sessions(), 3, "{tf}: {}", mock.sessions());
        assert!(
            !ws.state_text().contains(SERVICE_PASSWORD),
            "{tf}: the write-only password reached the state"
        );
        assert_eq!(ws.plan_exit_code(), 0, "{tf}");
        destroy_leaves_no_sessions(&ws, &mock, &tf, "the defentry_token snippets");
    }
}

/// The data source works, and its documented caveat holds: its sessions are never logged out.
#[test]
fn data_source_snippet_reads_a_session_that_is_never_logged_out() {
    for tf in terraforms() {
        let mock = Mock::start();
        let ws = snippet_workspace(&tf, &mock, "examples/data-sources/defentry_session");
        ws.apply();
        let id = output_str(&ws, "session_token_id");
        assert!(!id.is_empty(), "{tf}");
        ws.destroy();
        let s = mock.sessions();
        assert!(s["active"].as_u64().unwrap_or(0) >= 1, "{tf}: {s}");
        assert_eq!(s["logouts"].as_u64(), Some(0), "{tf}: {s}");
    }
}

#[test]
fn ephemeral_snippet_logs_out_and_stores_nothing() {
    for tf in terraforms() {
        let mock = Mock::start();
        let ws = snippet_workspace(&tf, &mock, "examples/ephemeral-resources/defentry_session");
        if !tf.at_least(1, 10) {
            ws.refused(&["plan", "-input=false"], NO_EPHEMERAL_BLOCKS);
            assert_eq!(mock.sessions()["logins"], 0, "{tf}");
            continue;
        }
        ws.apply();
        let s = mock.sessions();
        assert!(s["logins"].as_u64().unwrap_or(0) >= 1, "{tf}: {s}");
        assert_eq!(s["logins"], s["logouts"], "{tf}: {s}");
        assert_no_sessions_left(&mock, &tf, "the ephemeral session");
        let state = ws.state_text();
        assert!(state.contains("terraform_data"), "{tf}: nothing applied");
        assert!(!state.contains("Bearer"), "{tf}: token in state");
        ws.destroy();
    }
}

fn invoke(ws: &Workspace, action: &str) -> Output {
    ws.ok(&[
        "apply",
        "-auto-approve",
        "-input=false",
        &format!("-invoke=action.{action}"),
    ])
}

/// Actions need Terraform 1.14; older versions must refuse the snippets cleanly.
#[test]
fn action_snippets_do_what_they_say() {
    let admin_email = ADMIN_USER;
    for tf in terraforms() {
        let mock = Mock::start();
        if !tf.at_least(1, 14) {
            let ws = snippet_workspace(&tf, &mock, "examples/actions/defentry_logout");
            if tf.at_least(1, 13) {
                // 1.13 parses (and ignores) action blocks, but cannot invoke one.
                ws.refused(
                    &[
                        "apply",
                        "-auto-approve",
                        "-invoke=action.defentry_logout.leaked",
                    ],
                    "flag provided but not defined: -invoke",
                );
                continue;
            }
            let out = ws.run(&["validate"]);
            assert_ne!(out.code, 0, "{tf} accepted an action block");
            assert!(
                out.combined().contains("action"),
                "{tf}: {}",
                out.combined()
            );
            continue;
        }
        // defentry_logout revokes the given token.
        let token = mock.login(SERVICE_USER, SERVICE_PASSWORD);
        let mut ws = snippet_workspace(&tf, &mock, "examples/actions/defentry_logout");
        ws.env("TF_VAR_leaked_token", &token);
        invoke(&ws, "defentry_logout.leaked");
        mock.assert_revoked(&token, format_args!("{tf}: token still valid"));

        // defentry_password_forgot sends the recovery mail.
        let ws = snippet_workspace(&tf, &mock, "examples/actions/defentry_password_forgot");
        invoke(&ws, "defentry_password_forgot.admin");
        let outbox = mock.outbox();
        let mail: Vec<&Value> = outbox["messages"]
            .as_array()
            .map(|m| m.iter().filter(|m| m["to"] == admin_email).collect())
            .unwrap_or_default();
        assert_eq!(mail.len(), 1, "{tf}: {outbox}");
        let reset_token = mail[0]["reset_token"].as_str().unwrap_or_default();
        assert!(!reset_token.is_empty(), "{tf}: {outbox}");

        // defentry_password_reset sets the new password; the old one stops working.
        let new_password = "rotated-break-glass-password";
        let mut ws = snippet_workspace(&tf, &mock, "examples/actions/defentry_password_reset");
        ws.env("TF_VAR_reset_token", reset_token);
        ws.env("TF_VAR_new_password", new_password);
        let out = invoke(&ws, "defentry_password_reset.admin");
        assert!(
            !out.combined().contains(new_password),
            "{tf}: password printed"
        );
        let login = |password: &str| {
            let body = serde_json::json!({"username": ADMIN_USER, "password": password});
            mock.http("POST", LOGIN_PATH, None, Some(&body)).0
        };
        assert_eq!(login(ADMIN_PASSWORD), 401, "{tf}: old password still works");
        assert_eq!(login(new_password), 200, "{tf}: new password rejected");
    }
}

#[test]
fn terraform_test_suite_passes_against_the_mock() {
    for Setup { tf, mock, ws } in example_setups("tests/terraform") {
        let out = ws.ok(&["test"]);
        let stdout = &out.stdout;
        assert!(
            stdout.contains("6 passed, 0 failed"),
            "{tf}: unexpected summary:\n{stdout}"
        );
        assert_no_sessions_left(&mock, &tf, "terraform test");
        let logins = mock.sessions()["logins"].as_u64().unwrap_or(0);
        assert_eq!(
            logins,
            2,
            "{tf}: one token, then one rotation: {}",
            mock.sessions()
        );
    }
}

#[test]
fn secret_store_examples_reference_real_write_only_arguments() {
    // Their providers are not installable offline; at least pin the argument names and the
    // numeric version conversion the docs promise.
    let cases = [
        (
            "examples/vault/main.tf",
            &["data_json_wo", "data_json_wo_version = tonumber("][..],
        ),
        (
            "examples/aws-secrets-manager/main.tf",
            &["secret_string_wo ", "secret_string_wo_version = tonumber("][..],
        ),
        (
            "examples/kubernetes-secret/main.tf",
            &["data_wo ", "data_wo_revision = tonumber("][..],
        ),
    ];
    for (file, needles) in cases {
        let text = fs::read_to_string(repo().join(file)).expect(file);
        for n in needles {
            assert!(text.contains(n), "{file} lacks {n:?}");
        }
        assert!(text.contains("defentry_token.backend.token_id"), "{file}");
    }
    assert!(Path::new(&repo().join("examples/README.md")).exists());
}
