//! The harness's own tests (tests/common), here once rather than in every test crate that
//! declares `pub mod common;`.

pub mod common;

use std::path::PathBuf;

use common::debug_provider::parse_reattach_line;
use common::mock::*;
use common::terraform::{parse_version, select_versions, Terraform};
use common::workspace::terraform_platform;
use common::{LOGIN_PATH, PROVIDER_ADDR};
use serde_json::{json, Value};

// mock.rs

/// The harness's HTTP path against a real mock: JSON both ways, bearer tokens, and the
/// statuses the helpers insist on.
#[test]
fn speaks_json_to_a_live_mock() {
    let mock = Mock::start();
    let token = mock.login(SERVICE_USER, SERVICE_PASSWORD);
    mock.assert_live(&token, "fresh login");
    assert_eq!(mock.whoami_status("1|not-a-token"), 401);
    mock.fault(json!({"path": LOGIN_PATH, "status": 503}));
    assert_eq!(mock.faults()["faults"].as_array().map(Vec::len), Some(1));
    mock.clear_faults();
    assert_eq!(mock.faults()["faults"].as_array().map(Vec::len), Some(0));
    let (status, body) = mock.http("POST", "/_mock/reset", None, None);
    assert_eq!((status, body), (204, Value::Null));
    mock.assert_revoked(&token, "after reset");
}

/// The helpers also work inside an async test (their requests run on a thread of their own).
#[tokio::test]
async fn works_inside_an_async_runtime() {
    let mock = Mock::start();
    let token = mock.login(SERVICE_USER, SERVICE_PASSWORD);
    mock.assert_live(&token, "inside a runtime");
    assert_eq!(mock.active_sessions(), 1);
}

/// A username with `@` and spaces reaches the mock's filter intact.
#[test]
fn encodes_query_values() {
    let mock = Mock::start();
    let admin = default_user(ADMIN_USER);
    assert_eq!(admin.password, ADMIN_PASSWORD);
    assert_eq!(admin.totp_secret.as_deref(), Some(ADMIN_TOTP_SECRET));
    assert_eq!(default_user(SERVICE_USER).password, SERVICE_PASSWORD);
    mock.login(SERVICE_USER, SERVICE_PASSWORD);
    let mine = mock.sessions_of(SERVICE_USER);
    let none = mock.sessions_of("a b/c@partner.com");
    assert_eq!(mine["active"], 1, "{mine}");
    assert_eq!(none["active"], 0, "{none}");
}

// terraform.rs

#[test]
fn parses_versions() {
    assert_eq!(parse_version("1.15.5"), Some((1, 15, 5)));
    assert_eq!(parse_version("v1.11.4"), Some((1, 11, 4)));
    assert_eq!(parse_version("1.12.0-beta1"), Some((1, 12, 0)));
    assert_eq!(parse_version("1.15"), None);
    assert_eq!(parse_version("1.15.5.1"), None);
    assert_eq!(parse_version("x.y.z"), None);
}

#[test]
fn selects_versions_from_a_list() {
    let tf = |v| Terraform {
        path: PathBuf::from("x"),
        version: v,
    };
    let all = [tf((1, 6, 6)), tf((1, 11, 4)), tf((1, 15, 5))];
    let got = select_versions(&all, " 1.15.5, 1.6.6,1.15.5").expect("both installed");
    assert_eq!(got, vec![tf((1, 6, 6)), tf((1, 15, 5))]);
    let err = select_versions(&all, "1.7.0").expect_err("not installed");
    assert!(
        err.contains("1.7.0 is not installed") && err.contains("terraform 1.11.4"),
        "{err}"
    );
    assert!(select_versions(&all, "1.6").is_err());
}

// debug_provider.rs

#[test]
fn parses_reattach_lines() {
    let line = r#"	TF_REATTACH_PROVIDERS='{"registry.terraform.io/defentry/defentry":{"Protocol":"grpc","ProtocolVersion":6,"Pid":1,"Test":true,"Addr":{"Network":"unix","String":"/tmp/it'"'"'s"}}}'"#;
    let json = parse_reattach_line(line).expect("a reattach line");
    let v: Value = serde_json::from_str(&json).expect("json");
    assert_eq!(
        v[PROVIDER_ADDR]["Addr"]["String"].as_str(),
        Some("/tmp/it's")
    );
    assert_eq!(parse_reattach_line("Provider started."), None);
}

// workspace.rs

#[test]
fn platform_name_looks_like_terraforms() {
    let p = terraform_platform();
    assert!(p.contains('_') && !p.contains("x86_64"), "{p}");
}
