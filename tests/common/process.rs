//! Child-process plumbing shared by the mock, the debug-mode provider and Terraform runs: an
//! environment without the runner's `TF_*`/`DEFENTRY_*`/`PLUGIN_*` settings, and readiness
//! read from a server's stdout (never a fixed wait).

use std::ffi::OsStr;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use tempfile::NamedTempFile;

/// Longest a server may take to print its readiness line.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Inherited variables that would change what Terraform, the provider or the mock do.
fn is_foreign_env(key: &OsStr) -> bool {
    let k = key.to_string_lossy();
    ["TF_", "DEFENTRY_", "PLUGIN_", "CHECKPOINT_"]
        .iter()
        .any(|p| k.starts_with(p))
}

/// `program` with the runner's foreign settings removed; the caller adds its own after.
pub(super) fn clean_command(program: impl AsRef<OsStr>) -> Command {
    let mut cmd = Command::new(program);
    scrub_env(&mut cmd);
    cmd
}

/// Starts a server (stdin closed, stderr to a log file) and waits for the first stdout line
/// `pick` accepts; returns the child, its log and what `pick` made of that line.
pub(super) fn start_server(
    what: &str,
    mut cmd: Command,
    pick: impl Fn(&str) -> Option<String> + Send + 'static,
) -> (Child, NamedTempFile, String) {
    let log = NamedTempFile::new().expect("temp file for server logs");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log.reopen().expect("reopen the server log"))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what} ({:?}): {e}", cmd.get_program()));
    let stdout = child.stdout.take().expect("piped stdout");
    let rx = watch_stdout(stdout, pick);
    let ready = await_ready(what, &mut child, &rx, &log);
    (child, log, ready)
}

fn scrub_env(cmd: &mut Command) {
    for (k, _) in std::env::vars_os() {
        if is_foreign_env(&k) {
            cmd.env_remove(k);
        }
    }
}

pub(super) fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Drain a child's stdout on a thread; the first line that `pick` accepts is sent back, and
/// reading goes on (so the child never blocks on a full pipe) until EOF.
fn watch_stdout(
    stdout: ChildStdout,
    pick: impl Fn(&str) -> Option<String> + Send + 'static,
) -> mpsc::Receiver<Result<String, String>> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut seen = String::new();
        let mut line = String::new();
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => {
                    let _ = tx.send(Err(seen));
                    return;
                }
                Ok(_) => {
                    if let Some(v) = pick(line.trim_end_matches(['\r', '\n'])) {
                        let _ = tx.send(Ok(v));
                        break;
                    }
                    seen.push_str(&line);
                }
            }
        }
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });
    rx
}

pub(super) fn read_log(f: &NamedTempFile) -> String {
    fs::read_to_string(f.path()).unwrap_or_default()
}

/// Wait for the readiness value from `watch_stdout`, or panic with everything known.
fn await_ready(
    what: &str,
    child: &mut Child,
    rx: &mpsc::Receiver<Result<String, String>>,
    log: &NamedTempFile,
) -> String {
    let failure = match rx.recv_timeout(READY_TIMEOUT) {
        Ok(Ok(v)) => return v,
        Ok(Err(stdout)) => {
            let status = child.wait().map(|s| s.to_string()).unwrap_or_default();
            format!("exited ({status}) before it was ready; stdout:\n{stdout}")
        }
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            format!("was not ready after {READY_TIMEOUT:?}")
        }
    };
    panic!("{what} {failure}\n--- stderr ---\n{}", read_log(log));
}
