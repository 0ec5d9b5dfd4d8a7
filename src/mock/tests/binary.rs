//! The defentry-mock binary: readiness line, flags, exit status, what it never logs.
//! (Its HTTP behaviour is tested in-process by the root's tests/mock_api.rs.)

use std::process::{Output, Stdio};
use std::time::Duration;

use chrono::{DateTime, TimeDelta};
use defentry_mock::{DEFAULT_SERVICE_ACCOUNT, DEFAULT_SERVICE_ACCOUNT_PASSWORD};
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

const LOGIN: &str = "/api/v1/crm/auth/login";
const WHOAMI: &str = "/_mock/whoami";

#[tokio::test]
async fn binary_prints_url_serves_and_exits_0_on_sigterm() {
    let mut cmd = mock(&["--listen", "127.0.0.1:0", "--token-ttl", "2m"]);
    cmd.env("RUST_LOG", "debug").stderr(Stdio::piped());
    let (mut child, url, mut lines) = start(cmd).await;
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    let http = Client::new();
    let login: Value = login_default(&http, &url).await.json().await.unwrap();
    let token = login["token"].as_str().unwrap().to_owned();
    let who = http
        .get(format!("{url}{WHOAMI}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(who.status(), StatusCode::OK);
    let sessions = get_json(&http, &format!("{url}/_mock/sessions")).await;
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
    assert!(stderr.contains(LOGIN), "{stderr}");
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

/// The binary's command with `args`: stdout piped for the readiness line, stderr dropped.
fn mock(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_defentry-mock"));
    cmd.args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    cmd
}

/// Spawns `cmd` and returns it with its base URL (the first stdout line) and the rest of stdout.
async fn start(mut cmd: Command) -> (Child, String, Lines<BufReader<ChildStdout>>) {
    let mut child = cmd.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("no readiness line")
        .unwrap()
        .unwrap();
    (child, url, lines)
}

/// Starts the binary with `args` and returns it with its base URL.
async fn start_binary(args: &[&str]) -> (Child, String) {
    let (child, url, _) = start(mock(args)).await;
    (child, url)
}

/// Runs the binary with `args` to its end.
async fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_defentry-mock"))
        .args(args)
        .output()
        .await
        .unwrap()
}

async fn get_json(http: &Client, url: &str) -> Value {
    http.get(url).send().await.unwrap().json().await.unwrap()
}

async fn login(http: &Client, url: &str, username: &str, password: &str) -> Response {
    http.post(format!("{url}{LOGIN}"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
}

/// Logs the default service account in.
async fn login_default(http: &Client, url: &str) -> Response {
    login(
        http,
        url,
        DEFAULT_SERVICE_ACCOUNT,
        DEFAULT_SERVICE_ACCOUNT_PASSWORD,
    )
    .await
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
    let ci = login(&http, &url, "ci@example.com", "ci-password").await;
    assert_eq!(ci.status(), StatusCode::OK);
    let bob: Value = login(&http, &url, "bob", "bob-password")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(bob["two_factor_required"], json!(true));
    let default = login_default(&http, &url).await;
    assert_eq!(default.status(), StatusCode::UNAUTHORIZED);
    child.kill().await.unwrap();
}

#[tokio::test]
async fn binary_rejects_a_bad_user_without_echoing_its_password() {
    let output = run(&["--user", "bob:Sup3rSecret:not-base32!"]).await;
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
    let settings = get_json(&http, &format!("{url}/_mock/settings")).await;
    assert_eq!(settings["rate_limit"], json!(2));
    assert_eq!(settings["rate_limit_window_secs"], json!(90));
    assert_eq!(settings["allow_totp_reuse"], json!(true));
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(login_default(&http, &url).await.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 429]);
    child.kill().await.unwrap();

    let output = run(&["--rate-limit-window", "0"]).await;
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
}

#[tokio::test]
async fn binary_help_documents_the_rate_limit_default() {
    let output = run(&["--help"]).await;
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(help.contains("--rate-limit <N>"), "{help}");
    assert!(help.contains("0 = off, the default"), "{help}");
    assert!(help.contains("--allow-totp-reuse"), "{help}");
}

#[tokio::test]
async fn binary_rejects_a_bad_duration() {
    let output = run(&["--token-ttl", "soon"]).await;
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
    assert!(String::from_utf8_lossy(&output.stderr).contains("invalid duration"));
}
