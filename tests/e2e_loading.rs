//! The provider as stock Terraform loads it, with the Terraforms of `terraforms()`: through
//! `dev_overrides` (schema), through a filesystem mirror and `terraform init` (apply/destroy),
//! through `--debug` reattach (apply/destroy), and Ctrl-C during a long RPC (Terraform stops the
//! provider with StopProvider; the provider survives the SIGINT and exits cleanly afterwards).
//!
//! Terraform runs with `TF_LOG=debug` where the test needs evidence from its plugin client:
//! AutoMTLS being configured, the provider's own `tls=true` listening line, and how each plugin
//! process exited.

pub mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

/// `terraform { required_providers { ... } }` for the provider (any version).
fn required_providers(version: Option<&str>) -> String {
    let version = version
        .map(|v| format!(", version = {}", hcl_str(v)))
        .unwrap_or_default();
    format!(
        "terraform {{\n  required_providers {{\n    defentry = {{ source = {}{version} }}\n  }}\n}}\n",
        hcl_str(PROVIDER_SOURCE)
    )
}

/// One token resource; `provider_block` goes into `provider "defentry" {}`.
fn token_config(version: Option<&str>, provider_block: &str) -> String {
    format!(
        "{}\nprovider \"defentry\" {{\n{provider_block}}}\n\nresource \"defentry_token\" \"t\" {{}}\n",
        required_providers(version)
    )
}

/// `required optional computed sensitive write_only`, in that order, for the flags set.
fn flags(attr: &Value) -> String {
    [
        "required",
        "optional",
        "computed",
        "sensitive",
        "write_only",
    ]
    .into_iter()
    .filter(|f| attr[*f].as_bool() == Some(true))
    .collect::<Vec<_>>()
    .join(" ")
}

/// Checks a schema block from `providers schema -json` against `(name, type, flags)` rows:
/// exactly these attributes, with exactly these flags, Markdown descriptions.
fn check_block(tf: &Terraform, what: &str, schema: &Value, want: &[(&str, Value, &str)]) {
    let block = &schema["block"];
    let attrs = block["attributes"]
        .as_object()
        .unwrap_or_else(|| panic!("{tf}: {what} has no attributes: {schema}"));
    let mut got: Vec<&String> = attrs.keys().collect();
    got.sort();
    let mut names: Vec<&str> = want.iter().map(|w| w.0).collect();
    names.sort();
    assert_eq!(got, names, "{tf}: attributes of {what}");
    for (name, ty, want_flags) in want {
        let a = &attrs[*name];
        assert_eq!(&a["type"], ty, "{tf}: type of {what}.{name}: {a}");
        // Terraform before 1.11 does not know the write_only flag, so it does not show it.
        let want_flags = if tf.at_least(1, 11) {
            want_flags.to_string()
        } else {
            want_flags.replace(" write_only", "")
        };
        assert_eq!(flags(a), want_flags, "{tf}: flags of {what}.{name}: {a}");
        assert_eq!(
            a["description_kind"], "markdown",
            "{tf}: {what}.{name} description kind: {a}"
        );
        assert!(
            a["description"].as_str().is_some_and(|d| !d.is_empty()),
            "{tf}: {what}.{name} is undocumented: {a}"
        );
    }
    assert!(
        block["description"].as_str().is_some_and(|d| !d.is_empty()),
        "{tf}: {what} has no description"
    );
}

fn s() -> Value {
    json!("string")
}

/// The session attributes shared by the data source and the ephemeral resource.
fn session_attrs() -> Vec<(&'static str, Value, &'static str)> {
    vec![
        ("username", s(), "optional"),
        ("password", s(), "optional sensitive"),
        ("keep_logged", json!("bool"), "optional"),
        ("totp_secret", s(), "optional sensitive"),
        ("two_factor_code", s(), "optional sensitive"),
        ("id", s(), "computed"),
        ("token_id", s(), "computed"),
        ("token", s(), "computed sensitive"),
        ("authorization_header", s(), "computed sensitive"),
        ("issued_at", s(), "computed"),
    ]
}

/// Evidence in a `TF_LOG=debug` stderr that the plugin connection used AutoMTLS: Terraform
/// configured it and the provider listened with TLS.
fn assert_auto_mtls(tf: &Terraform, log: &str) {
    assert!(
        log.contains("configuring client automatic mTLS"),
        "{tf}: Terraform did not configure AutoMTLS:\n{log}"
    );
    let listening: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("plugin server listening"))
        .collect();
    assert!(
        !listening.is_empty() && listening.iter().all(|l| l.contains("tls=true")),
        "{tf}: the provider did not listen with TLS: {listening:?}\n{log}"
    );
}

/// pids from go-plugin's `plugin started: path=...terraform-provider-defentry... pid=N` lines.
fn provider_pids(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains("plugin started:") && l.contains("terraform-provider-defentry"))
        .filter_map(|l| l.split("pid=").nth(1))
        .map(|p| p.split_whitespace().next().unwrap_or("").to_string())
        .collect()
}

/// Every provider process Terraform started was logged as exiting cleanly: go-plugin logs
/// `plugin process exited: ... id=N` (`pid=N` before Terraform 1.9) at `[INFO]` (`[DEBUG]`
/// before 1.9) for exit status 0, and `[ERROR] ... error="signal: interrupt"` (or the exit
/// status) otherwise.
fn assert_clean_plugin_exits(tf: &Terraform, log: &str) {
    let pids = provider_pids(log);
    assert!(!pids.is_empty(), "{tf}: no provider started?\n{log}");
    for pid in &pids {
        let exits: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("plugin process exited") && l.contains(&format!("id={pid}")))
            .collect();
        assert_eq!(
            exits.len(),
            1,
            "{tf}: provider pid {pid} has no (or several) exit records:\n{log}"
        );
        let clean_level = if tf.at_least(1, 9) {
            "[INFO]"
        } else {
            "[DEBUG]"
        };
        assert!(
            exits[0].contains(clean_level) && !exits[0].contains("error="),
            "{tf}: provider pid {pid} did not exit cleanly: {}",
            exits[0]
        );
    }
    assert!(
        !log.contains("signal: interrupt") && !log.contains("signal: killed"),
        "{tf}: a plugin died from a signal:\n{log}"
    );
}

#[test]
fn dev_overrides_schema_json_shows_the_provider_schema() {
    for tf in terraforms() {
        let mut ws = Workspace::bare_with(&tf, &required_providers(None));
        ws.env("TF_LOG", "debug");
        let out = ws.ok(&["providers", "schema", "-json"]);
        assert_auto_mtls(&tf, &out.stderr);
        assert_clean_plugin_exits(&tf, &out.stderr);
        let v: Value = serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("{tf}: schema -json is not JSON ({e}):\n{}", out.stdout));
        let p = &v["provider_schemas"][PROVIDER_ADDR];
        assert!(p.is_object(), "{tf}: no {PROVIDER_ADDR} in {v}");

        check_block(
            &tf,
            "provider",
            &p["provider"],
            &[
                ("api_domain", s(), "optional"),
                ("username", s(), "optional"),
                ("password", s(), "optional sensitive"),
                ("keep_logged", json!("bool"), "optional"),
                ("request_timeout", s(), "optional"),
                ("max_retries", json!("number"), "optional"),
                ("rate_limit_timeout", s(), "optional"),
                ("ca_cert_pem", s(), "optional"),
                ("totp_secret", s(), "optional sensitive"),
            ],
        );

        let resources = p["resource_schemas"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            resources.keys().collect::<Vec<_>>(),
            ["defentry_token"],
            "{tf}"
        );
        check_block(
            &tf,
            "defentry_token",
            &resources["defentry_token"],
            &[
                ("username", s(), "optional computed"),
                ("password_wo", s(), "optional sensitive write_only"),
                ("password_wo_version", s(), "optional"),
                ("keep_logged", json!("bool"), "optional computed"),
                ("totp_secret", s(), "optional sensitive write_only"),
                ("two_factor_code", s(), "optional sensitive write_only"),
                ("rotation_period", s(), "optional"),
                ("rotation_anchor", s(), "optional"),
                ("triggers", json!(["map", "string"]), "optional"),
                ("id", s(), "computed"),
                ("token_id", s(), "computed"),
                ("token", s(), "computed sensitive"),
                ("authorization_header", s(), "computed sensitive"),
                ("created_at", s(), "computed"),
                ("rotate_at", s(), "computed"),
                ("overlap", s(), "optional"),
                ("previous_token", s(), "computed sensitive"),
                ("previous_token_id", s(), "computed"),
                ("previous_revoke_at", s(), "computed"),
            ],
        );
        assert_eq!(resources["defentry_token"]["version"], 0, "{tf}");

        // Terraform shows ephemeral resource schemas from 1.10 on.
        let kinds: &[&str] = if tf.at_least(1, 10) {
            &["data_source_schemas", "ephemeral_resource_schemas"]
        } else {
            assert!(p.get("ephemeral_resource_schemas").is_none(), "{tf}: {p}");
            &["data_source_schemas"]
        };
        for kind in kinds {
            let m = p[*kind].as_object().cloned().unwrap_or_default();
            assert_eq!(m.keys().collect::<Vec<_>>(), ["defentry_session"], "{tf}");
            check_block(
                &tf,
                &format!("{kind}.defentry_session"),
                &m["defentry_session"],
                &session_attrs(),
            );
        }

        // Terraform shows action schemas from 1.14 on (protocol 6.10).
        if tf.at_least(1, 14) {
            let actions = p["action_schemas"].as_object().cloned().unwrap_or_default();
            let mut names: Vec<&String> = actions.keys().collect();
            names.sort();
            assert_eq!(
                names,
                [
                    "defentry_logout",
                    "defentry_password_forgot",
                    "defentry_password_reset"
                ],
                "{tf}"
            );
            check_block(
                &tf,
                "defentry_logout",
                &actions["defentry_logout"],
                &[("token", s(), "required sensitive")],
            );
            check_block(
                &tf,
                "defentry_password_forgot",
                &actions["defentry_password_forgot"],
                &[("email", s(), "required")],
            );
            check_block(
                &tf,
                "defentry_password_reset",
                &actions["defentry_password_reset"],
                &[
                    ("token", s(), "required sensitive"),
                    ("password", s(), "required sensitive"),
                ],
            );
        }
    }
}

/// The token in state (sensitive values are in the clear in `show -json`).
fn state_token(tf: &Terraform, ws: &Workspace) -> String {
    let res = ws.resources();
    assert_eq!(res.len(), 1, "{tf}: {res:?}");
    assert_eq!(res[0]["address"], "defentry_token.t", "{tf}");
    assert_eq!(res[0]["provider_name"], PROVIDER_ADDR, "{tf}");
    let values = &res[0]["values"];
    assert!(
        values["password_wo"].is_null(),
        "{tf}: write-only value in state"
    );
    values["token"]
        .as_str()
        .unwrap_or_else(|| panic!("{tf}: no token in state: {values}"))
        .to_string()
}

#[test]
fn filesystem_mirror_init_apply_destroy() {
    for tf in terraforms() {
        let mock = Mock::start();
        let mut ws = mirror_workspace(&tf, &mock);
        ws.write("main.tf", &token_config(Some(PROVIDER_VERSION), ""));
        let init = ws.init();
        assert!(
            init.stdout
                .contains(&format!("Installing {PROVIDER_SOURCE} v{PROVIDER_VERSION}")),
            "{tf}: {}",
            init.stdout
        );
        let lock = ws.read(".terraform.lock.hcl");
        let version_line = lock
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with("version "));
        assert!(
            lock.contains(&format!("provider {}", hcl_str(PROVIDER_ADDR)))
                && version_line.is_some_and(|l| l.ends_with(&hcl_str(PROVIDER_VERSION))),
            "{tf}: lock file:\n{lock}"
        );
        let installed = ws
            .path()
            .join(".terraform/providers")
            .join(PROVIDER_ADDR)
            .join(PROVIDER_VERSION)
            .join(terraform_platform());
        assert!(installed.is_dir(), "{tf}: {} missing", installed.display());

        ws.env("TF_LOG", "debug");
        let out = ws.apply();
        assert_auto_mtls(&tf, &out.stderr);
        assert_clean_plugin_exits(&tf, &out.stderr);
        let token = state_token(&tf, &ws);
        mock.assert_live(&token, format_args!("{tf}: token not valid"));
        assert_eq!(mock.active_sessions(), 1, "{tf}");
        assert_eq!(ws.plan_exit_code(), 0, "{tf}: not converged after apply");

        let out = ws.destroy();
        assert_clean_plugin_exits(&tf, &out.stderr);
        assert!(ws.resources().is_empty(), "{tf}: left in state");
        mock.assert_revoked(&token, format_args!("{tf}: token not revoked"));
        assert_eq!(mock.active_sessions(), 0, "{tf}: {}", mock.sessions());
    }
}

/// Whether a process exists (kill -0), without `unsafe`.
fn alive(pid: u32) -> bool {
    Command::new("kill")
        .args(["-0", &pid.to_string()])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn debug_reattach_applies_and_destroys() {
    for tf in terraforms() {
        let mock = Mock::start();
        let provider = DebugProvider::start_with_env(&[
            ("DEFENTRY_API_DOMAIN", mock.url.as_str()),
            ("DEFENTRY_USERNAME", SERVICE_USER),
            ("DEFENTRY_PASSWORD", SERVICE_PASSWORD),
            ("TF_LOG", "info"),
        ]);
        let v: Value = serde_json::from_str(&provider.reattach).expect("reattach JSON");
        let entry = &v[PROVIDER_ADDR];
        assert_eq!(entry["ProtocolVersion"], 6, "{v}");
        assert_eq!(entry["Test"], true, "{v}");
        assert_eq!(entry["Pid"], provider.pid(), "{v}");

        // No dev_overrides and no DEFENTRY_* on Terraform's side: the reattached process is
        // the only provider Terraform can use, and the only one with credentials.
        let mut ws = Workspace::with_cli_config(&tf, "");
        ws.reattach(&provider);
        ws.env("TF_LOG", "debug");
        ws.write("main.tf", &token_config(None, ""));
        let out = ws.apply();
        assert!(
            !out.stderr.contains("configuring client automatic mTLS"),
            "{tf}: Terraform started a provider instead of reattaching"
        );
        assert!(provider_pids(&out.stderr).is_empty(), "{tf}");
        let token = state_token(&tf, &ws);
        mock.assert_live(&token, &tf);
        assert!(
            provider.logs().contains("defentry_token created"),
            "{tf}: the debug provider did not serve the apply:\n{}",
            provider.logs()
        );

        ws.destroy();
        mock.assert_revoked(&token, &tf);
        assert_eq!(mock.active_sessions(), 0, "{tf}");
        // Terraform never stops a provider it attached to.
        assert!(alive(provider.pid()), "{tf}: debug provider exited");
    }
}

#[test]
fn ctrl_c_during_a_long_login_finishes_it_without_killing_the_provider() {
    // The login is held; the provider's own request timeout is longer. After StopProvider
    // the provider starts nothing new, but a login that reached the CRM is finished and its
    // token recorded in state, so no session exists that Terraform does not know.
    const HOLD: Duration = Duration::from_secs(4);
    for Setup { tf, mock, mut ws } in setups() {
        ws.env("TF_LOG", "debug");
        ws.write(
            "main.tf",
            &token_config(None, "  request_timeout = \"5m\"\n"),
        );
        mock.fault(json!({
            "path": LOGIN_PATH,
            "method": "POST",
            "delay_ms": HOLD.as_millis() as u64,
        }));

        let mut job = GroupJob::start(
            &ws,
            &["apply", "-auto-approve", "-input=false", "-no-color"],
        );
        job.wait_for_faults_taken(&mock, &tf.label(), "login");
        let (status, _took) = job.interrupt(HOLD + Duration::from_secs(60), &tf.label());
        let (stdout, stderr) = (job.stdout(), job.stderr());
        let output = || job.output();
        assert!(status.code().is_some(), "{tf}: {status}\n{}", output());
        assert!(
            stdout.contains("Interrupt received"),
            "{tf}: Terraform did not see the interrupt\n{}",
            output()
        );
        assert!(
            stderr.contains("StopProvider: cancelling in-flight operations"),
            "{tf}: StopProvider was not called\n{}",
            output()
        );
        assert!(
            stderr.contains("defentry_token created"),
            "{tf}: the login in flight was not finished\n{}",
            output()
        );
        assert!(
            !stderr.contains("Plugin did not respond"),
            "{tf}: the provider went away during the apply\n{}",
            output()
        );
        assert_clean_plugin_exits(&tf, &stderr);

        // State is consistent: the finished login is recorded, is the one session, the lock
        // is free, and a new apply has nothing to do.
        let token = state_token(&tf, &ws);
        mock.assert_live(&token, &tf);
        assert_eq!(mock.active_sessions(), 1, "{tf}: {}", mock.sessions());
        ws.unset_env("TF_LOG");
        ws.apply();
        assert_eq!(state_token(&tf, &ws), token, "{tf}: the token was replaced");
        ws.destroy();
        mock.assert_revoked(&token, &tf);
        assert_eq!(mock.active_sessions(), 0, "{tf}: {}", mock.sessions());
    }
}
