//! The shell snippets of README.md and docs/guides/defentry-mock.md that start and stop
//! defentry-mock, run with bash as a new user would (the newest Terraform first on PATH, the
//! provider through `dev_overrides`): they work, and they leave no mock process and no session
//! behind.

pub mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::*;

/// Longest a snippet may run.
const SNIPPET_TIMEOUT: Duration = Duration::from_secs(300);

/// What `terraform test` runs in the snippet's working directory.
const MAIN_TF: &str = r#"
resource "defentry_token" "t" {}
"#;
const TEST_HCL: &str = r#"
run "issues_a_token" {
  assert {
    condition     = defentry_token.t.token_id != ""
    error_message = "No token was issued."
  }
}
"#;

/// The one fenced shell block of `file` that starts the mock as a coprocess.
fn mock_snippet(file: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
    let mut found = Vec::new();
    let mut block: Option<Vec<&str>> = None;
    for line in text.lines() {
        match block.as_mut() {
            None if line == "```sh" || line == "```shell" => block = Some(Vec::new()),
            None => {}
            Some(b) if line == "```" => {
                if b.iter().any(|l| l.contains("coproc MOCK")) {
                    found.push(b.join("\n"));
                }
                block = None;
            }
            Some(b) => b.push(line),
        }
    }
    assert_eq!(
        found.len(),
        1,
        "{file}: expected one shell block with `coproc MOCK`"
    );
    found.remove(0)
}

/// pids of the processes whose working directory is `dir`.
fn processes_in(dir: &Path) -> Vec<(u32, String)> {
    let dir = dir.canonicalize().expect("canonical working dir");
    let me = std::process::id();
    let mut found = Vec::new();
    for e in fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if pid == me || fs::read_link(e.path().join("cwd")).ok().as_deref() != Some(&dir) {
            continue;
        }
        let cmd = fs::read(e.path().join("cmdline"))
            .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
            .unwrap_or_default();
        found.push((pid, cmd));
    }
    found
}

/// Runs `snippet` with bash in a workspace holding `MAIN_TF`, `TEST_HCL` and `target/debug`
/// (the built binaries); it must exit 0. Returns its stdout, and the context for failure
/// messages. Fails if a process is left running in the workspace afterwards (and kills it).
fn run_snippet(file: &str) -> (String, String) {
    let snippet = mock_snippet(file);
    let tf = newest_terraform();
    let ws = Workspace::bare(&tf);
    ws.write("main.tf", &format!("{REQUIRED_PROVIDERS}{MAIN_TF}"));
    ws.write("smoke.tftest.hcl", TEST_HCL);
    let bins: PathBuf = mock_binary().parent().expect("binary dir").to_path_buf();
    fs::create_dir_all(ws.path().join("target")).expect("mkdir target");
    std::os::unix::fs::symlink(&bins, ws.path().join("target/debug")).expect("link target/debug");
    let logs = tempfile::tempdir().expect("log dir");
    // Files, not pipes: a mock left running would hold a pipe open forever.
    let out_path = logs.path().join("stdout");
    let err_path = logs.path().join("stderr");
    let mut child = ws
        // The README's snippet runs `defentry-mock` from PATH, as a user who installed the
        // release's binary does; here the built one stands in for it.
        .shell(&format!(
            "set -euo pipefail\nexport PATH=\"$PWD/target/debug:$PATH\"\n{snippet}\n"
        ))
        .stdout(fs::File::create(&out_path).expect("stdout file"))
        .stderr(fs::File::create(&err_path).expect("stderr file"))
        .spawn()
        .expect("start bash");
    let deadline = Instant::now() + SNIPPET_TIMEOUT;
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait for bash") {
            break Some(st);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(50));
    };
    let left = processes_in(ws.path());
    for (pid, _) in &left {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .stderr(Stdio::null())
            .status();
    }
    let stdout = fs::read_to_string(&out_path).unwrap_or_default();
    let stderr = fs::read_to_string(&err_path).unwrap_or_default();
    let ctx =
        format!("{file} snippet:\n{snippet}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}");
    let status = status.unwrap_or_else(|| panic!("timed out after {SNIPPET_TIMEOUT:?}: {ctx}"));
    assert!(
        left.is_empty(),
        "processes left running by the {ctx}\n--- left ---\n{left:?}"
    );
    let ctx = format!("{file}:\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}");
    // For the guide's snippet, `wait` passes the mock's exit status on: 0 after SIGTERM.
    assert_eq!(status.code().unwrap_or(-1), 0, "{ctx}");
    (stdout, ctx)
}

#[test]
fn readme_mock_snippet_runs_terraform_test_and_stops_the_mock() {
    let (stdout, ctx) = run_snippet("README.md");
    assert!(stdout.contains("1 passed, 0 failed"), "{ctx}");
    // The snippet's own leak check: every session terraform test opened was closed.
    assert!(stdout.contains(r#"{"active":0,"#), "{ctx}");
}

#[test]
fn guide_mock_snippet_logs_in_and_stops_the_mock() {
    let (stdout, ctx) = run_snippet("docs/guides/defentry-mock.md");
    assert!(stdout.contains(r#""token":""#), "{ctx}");
}
