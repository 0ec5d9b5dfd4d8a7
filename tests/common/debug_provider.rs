//! The provider started with `--debug`, for Terraform to attach to through
//! `TF_REATTACH_PROVIDERS`.

use std::process::Child;

use serde_json::Value;
use tempfile::{NamedTempFile, TempDir};

use super::mock::Mock;
use super::process::{clean_command, read_log, start_server};
use super::{provider_binary, PROVIDER_ADDR};

/// The provider started with `--debug`: Terraform attaches to it through
/// `TF_REATTACH_PROVIDERS` instead of launching it. Killed when dropped.
///
/// The provider reads `DEFENTRY_*` from its own environment, so it must be given the mock's
/// settings here, not on the Terraform side.
pub struct DebugProvider {
    /// The JSON value for `TF_REATTACH_PROVIDERS`.
    pub reattach: String,
    child: Child,
    log: NamedTempFile,
    /// TMPDIR of the provider, so a killed provider leaves no socket behind.
    _tmp: TempDir,
}

impl DebugProvider {
    /// Provider pointed at `mock` with the default service account.
    pub fn start(mock: &Mock) -> DebugProvider {
        DebugProvider::start_with_env(&mock.provider_env())
    }

    /// Provider with exactly these extra environment variables (inherited `TF_*`, `DEFENTRY_*`
    /// and `PLUGIN_*` are removed).
    pub fn start_with_env(env: &[(&str, &str)]) -> DebugProvider {
        let tmp = tempfile::Builder::new()
            .prefix("e2e-plugin-")
            .tempdir()
            .expect("temp dir for the provider");
        let mut cmd = clean_command(provider_binary());
        cmd.arg("--debug")
            .env("TMPDIR", tmp.path())
            .env("PLUGIN_UNIX_SOCKET_DIR", tmp.path())
            .envs(env.iter().copied());
        let (child, log, reattach) = start_server("provider --debug", cmd, parse_reattach_line);
        let p = DebugProvider {
            reattach,
            child,
            log,
            _tmp: tmp,
        };
        let v: Value = serde_json::from_str(&p.reattach).unwrap_or_else(|e| {
            panic!(
                "TF_REATTACH_PROVIDERS is not JSON ({e}): {}\n--- stderr ---\n{}",
                p.reattach,
                p.logs()
            )
        });
        assert!(
            v.get(PROVIDER_ADDR).is_some(),
            "TF_REATTACH_PROVIDERS has no {PROVIDER_ADDR} entry: {v}"
        );
        p
    }

    /// What the provider logged to stderr so far.
    pub fn logs(&self) -> String {
        read_log(&self.log)
    }

    /// Process id (e.g. to check it survives a Terraform run).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for DebugProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Extract the JSON from a `TF_REATTACH_PROVIDERS='...'` line (shell single-quote escaping undone).
pub fn parse_reattach_line(line: &str) -> Option<String> {
    const KEY: &str = "TF_REATTACH_PROVIDERS='";
    let start = line.find(KEY)? + KEY.len();
    let end = line.rfind('\'')?;
    (end >= start).then(|| line[start..end].replace(r#"'"'"'"#, "'"))
}
