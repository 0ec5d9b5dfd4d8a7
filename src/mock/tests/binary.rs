//! The defentry-mock binary: readiness line, flags, exit status, what it never logs.
//! (Its HTTP behaviour is tested in-process by the root's tests/mock_api.rs.)

use std::process::Stdio;
use std::time::Duration;

use chrono::{DateTime, TimeDelta};
use defentry_mock::{DEFAULT_SERVICE_ACCOUNT, DEFAULT_SERVICE_ACCOUNT_PASSWORD};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::Command;

const LOGIN: &str = "/api/v1/crm/auth/login";
const WHOAMI: &str = "/_mock/whoami";

#[tokio::test]
async fn binary_prints_url_serves_and_exits_0_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_defentry-mock"))
        .args(["--listen", "127.0.0.1:0", "--token-ttl", "2m"])
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let url = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("no readiness line")
        .unwrap()
        .unwrap();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    let http = Client::new();
    let login: Value = http
        .post(format!("{url}{LOGIN}"))
        .json(&json!({"username": DEFAULT_SERVICE_ACCOUNT, "password": DEFAULT_SERVICE_ACCOUNT_PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap().to_owned();
    let who = http
        .get(format!("{url}{WHOAMI}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(who.status(), StatusCode::OK);
    let sessions: Value = http
        .get(format!("{url}/_mock/sessions"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let s = &sessions["sessions"][0];
    let created = DateTime::parse_from_rfc3339(s["created_at"].as_str().unwrap()).unwrap();
    let expires = DateTime::parse_from_rfc3339(s["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!(expires - created, TimeDelta::minutes(2));

    let pid = child.id().unwrap().to_string();
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("mock did not exit after SIGTERM")
        .unwrap();
    assert!(status.success(), "{status:?}");

    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .await
        .unwrap();
    assert!(stderr.contains("/api/v1/crm/auth/login"), "{stderr}");
    let (_, secret) = token.split_once('|').unwrap();
    assert!(!stderr.contains(secret), "token secret logged");
    assert!(
        !stderr.contains(DEFAULT_SERVICE_ACCOUNT_PASSWORD),
        "password logged"
    );
    assert!(
        lines.next_line().await.unwrap().is_none(),
        "stdout has only the URL"
    );
}

/// Starts the binary and returns it with its base URL (read from the first stdout line).
async fn start_binary(args: &[&str]) -> (tokio::process::Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_defentry-mock"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let url = tokio::time::timeout(
        Duration::from_secs(30),
        BufReader::new(stdout).lines().next_line(),
    )
    .await
    .expect("no readiness line")
    .unwrap()
    .unwrap();
    (child, url)
}

#[tokio::test]
async fn binary_users_file_replaces_defaults_and_user_flag_adds() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("users.json");
    std::fs::write(
        &file,
        r#"[{"username": "ci@example.com", "password": "ci-password"}]"#,
    )
    .unwrap();
    let (mut child, url) = start_binary(&[
        "--hints",
        "--users",
        file.to_str().unwrap(),
        "--user",
        "bob:bob-password:JBSWY3DPEHPK3PXP",
    ])
    .await;
    let http = Client::new();
    let login = |user: &'static str, password: &'static str| {
        http.post(format!("{url}{LOGIN}"))
            .json(&json!({"username": user, "password": password}))
            .send()
    };
    let ci = login("ci@example.com", "ci-password").await.unwrap();
    assert_eq!(ci.status(), StatusCode::OK);
    let bob: Value = login("bob", "bob-password")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(bob["two_factor_required"], json!(true));
    let default = login(DEFAULT_SERVICE_ACCOUNT, DEFAULT_SERVICE_ACCOUNT_PASSWORD)
        .await
        .unwrap();
    assert_eq!(default.status(), StatusCode::UNAUTHORIZED);
    child.kill().await.unwrap();
}

#[tokio::test]
async fn binary_rejects_a_bad_user_without_echoing_its_password() {
    let output = Command::new(env!("CARGO_BIN_EXE_defentry-mock"))
        .args(["--user", "bob:Sup3rSecret:not-base32!"])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("bob"), "{stderr}");
    assert!(!stderr.contains("Sup3rSecret"), "{stderr}");
}

#[tokio::test]
async fn binary_rate_limit_and_totp_reuse_flags() {
    let (mut child, url) = start_binary(&[
        "--rate-limit",
        "2",
        "--rate-limit-window",
        "90",
        "--allow-totp-reuse",
    ])
    .await;
    let http = Client::new();
    let settings: Value = http
        .get(format!("{url}/_mock/settings"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(settings["rate_limit"], json!(2));
    assert_eq!(settings["rate_limit_window_secs"], json!(90));
    assert_eq!(settings["allow_totp_reuse"], json!(true));
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let r = http
            .post(format!("{url}{LOGIN}"))
            .json(&json!({"username": DEFAULT_SERVICE_ACCOUNT, "password": DEFAULT_SERVICE_ACCOUNT_PASSWORD}))
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 429]);
    child.kill().await.unwrap();

    let output = Command::new(env!("CARGO_BIN_EXE_defentry-mock"))
        .args(["--rate-limit-window", "0"])
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
}

#[tokio::test]
async fn binary_help_documents_the_rate_limit_default() {
    let output = Command::new(env!("CARGO_BIN_EXE_defentry-mock"))
        .arg("--help")
        .output()
        .await
        .unwrap();
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(help.contains("--rate-limit <N>"), "{help}");
    assert!(help.contains("0 = off, the default"), "{help}");
    assert!(help.contains("--allow-totp-reuse"), "{help}");
}

#[tokio::test]
async fn binary_rejects_a_bad_duration() {
    let output = Command::new(env!("CARGO_BIN_EXE_defentry-mock"))
        .args(["--token-ttl", "soon"])
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
    assert!(String::from_utf8_lossy(&output.stderr).contains("invalid duration"));
}
