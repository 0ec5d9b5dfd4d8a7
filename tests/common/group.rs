//! Terraform as a shell job in its own process group, for Ctrl-C and SIGTERM tests.

use std::fs;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::mock::Mock;
use super::workspace::Workspace;

/// `terraform <args>` running as a shell job, in its own process group: the provider Terraform
/// starts joins the group, so [`GroupJob::interrupt`] reaches both, as Ctrl-C in a terminal
/// does. Output goes to files; the whole group is killed on drop, so a failing test leaves no
/// Terraform or provider behind.
pub struct GroupJob {
    child: Child,
    logs: TempDir,
}

impl GroupJob {
    pub fn start(ws: &Workspace, args: &[&str]) -> GroupJob {
        let logs = tempfile::tempdir().expect("temp dir");
        let mut cmd = ws.command(args);
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd
            .stdout(fs::File::create(logs.path().join("stdout")).expect("stdout file"))
            .stderr(fs::File::create(logs.path().join("stderr")).expect("stderr file"))
            .spawn()
            .expect("start terraform");
        GroupJob { child, logs }
    }

    pub fn stdout(&self) -> String {
        fs::read_to_string(self.logs.path().join("stdout")).unwrap_or_default()
    }

    pub fn stderr(&self) -> String {
        fs::read_to_string(self.logs.path().join("stderr")).unwrap_or_default()
    }

    /// Both streams, labelled, for failure messages.
    pub fn output(&self) -> String {
        format!(
            "--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout(),
            self.stderr()
        )
    }

    /// The job's process group: Terraform's pid.
    pub fn pgid(&self) -> u32 {
        self.child.id()
    }

    /// Polls `ready` until it holds; panics if Terraform ends first or `limit` passes.
    pub fn wait_for(&mut self, what: &str, limit: Duration, mut ready: impl FnMut() -> bool) {
        let deadline = Instant::now() + limit;
        while !ready() {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                panic!(
                    "terraform ended ({status}) before {what}:\n{}",
                    self.output()
                );
            }
            assert!(
                Instant::now() < deadline,
                "no {what} after {limit:?}:\n{}",
                self.output()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits (at most 5 minutes) until the mock has taken every queued fault: the mock takes a
    /// fault when the matching request arrives, so the job is then inside that request. Panics
    /// if Terraform exits first.
    pub fn wait_for_faults_taken(&mut self, mock: &Mock, label: &str, request: &str) {
        self.wait_for(
            &format!("{label}: the {request} request"),
            Duration::from_secs(300),
            || {
                mock.faults()["faults"]
                    .as_array()
                    .is_some_and(Vec::is_empty)
            },
        );
    }

    /// Sends `SIG<name>` (e.g. "INT", "TERM") to the whole group.
    pub fn signal(&self, name: &str) {
        let pgid = self.pgid();
        let status = Command::new("kill")
            .args([&format!("-{name}"), "--", &format!("-{pgid}")])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} -{pgid} failed");
    }

    /// Waits at most `limit` for Terraform to exit; returns its status and how long it took.
    pub fn wait(&mut self, limit: Duration, label: &str) -> (std::process::ExitStatus, Duration) {
        let since = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return (status, since.elapsed());
            }
            assert!(
                since.elapsed() < limit,
                "{label}: terraform did not exit after the signal:\n{}",
                self.output()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGINT to the group and waits at most `limit` for Terraform to exit; returns its
    /// status and how long it took after the signal.
    pub fn interrupt(
        &mut self,
        limit: Duration,
        label: &str,
    ) -> (std::process::ExitStatus, Duration) {
        self.signal("INT");
        self.wait(limit, label)
    }
}

impl Drop for GroupJob {
    fn drop(&mut self) {
        // Leave nothing behind when a test fails half-way.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.wait();
    }
}
