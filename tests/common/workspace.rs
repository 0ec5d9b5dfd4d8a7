//! A throw-away Terraform working directory (its own HOME, CLI config and environment) wired
//! to the freshly built provider through `dev_overrides` or a filesystem mirror.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;

use super::debug_provider::DebugProvider;
use super::mock::Mock;
use super::process::clean_command;
use super::terraform::Terraform;
use super::{config, hcl_str, provider_binary, PROVIDER_ADDR, PROVIDER_SOURCE, PROVIDER_VERSION};

/// Default limit for one Terraform command (override with `E2E_TF_TIMEOUT_SECS`).
const TF_TIMEOUT_SECS: u64 = 600;

/// Result of one Terraform command.
#[derive(Clone, Debug)]
pub struct Output {
    /// Exit code; -1 if killed by a signal.
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// stdout followed by stderr, for substring checks that don't care which.
    pub fn combined(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// A temporary Terraform working directory with its own CLI config and environment.
pub struct Workspace {
    /// The working directory (`.tf` files, state).
    pub dir: TempDir,
    /// HOME and CLI config live here, outside the working directory.
    home: TempDir,
    tf: Terraform,
    env: BTreeMap<String, String>,
}

impl Workspace {
    /// Workspace whose Terraform uses the freshly built provider via `dev_overrides` and talks
    /// to `mock` as the default service account. No `terraform init` is needed (or wanted:
    /// Terraform warns about overridden providers during init).
    pub fn new(tf: &Terraform, mock: &Mock) -> Workspace {
        let mut ws = Workspace::bare(tf);
        for (k, v) in mock.provider_env() {
            ws.env(k, v);
        }
        ws
    }

    /// Like `new` (same `dev_overrides`), but with no mock and no `DEFENTRY_*` settings.
    pub fn bare(tf: &Terraform) -> Workspace {
        let provider_dir = provider_binary()
            .parent()
            .expect("provider binary has a directory")
            .to_path_buf();
        let config = format!(
            "provider_installation {{\n  dev_overrides {{\n    {} = {}\n  }}\n  direct {{}}\n}}\n",
            hcl_str(PROVIDER_SOURCE),
            hcl_str(provider_dir.to_string_lossy())
        );
        Workspace::with_cli_config(tf, &config)
    }

    /// A [`bare`](Workspace::bare) workspace whose `main.tf` is `main_tf`.
    pub fn bare_with(tf: &Terraform, main_tf: &str) -> Workspace {
        let ws = Workspace::bare(tf);
        ws.write("main.tf", main_tf);
        ws
    }

    /// Workspace with a CLI config of the caller's (no `DEFENTRY_*` settings).
    pub fn with_cli_config(tf: &Terraform, cli_config: &str) -> Workspace {
        let dir = tempfile::Builder::new()
            .prefix("e2e-work-")
            .tempdir()
            .expect("temp working dir");
        let home = tempfile::Builder::new()
            .prefix("e2e-home-")
            .tempdir()
            .expect("temp home dir");
        let cfg = home.path().join("terraform.tfrc");
        fs::write(&cfg, cli_config).expect("write CLI config");
        let mut ws = Workspace {
            dir,
            home,
            tf: tf.clone(),
            env: BTreeMap::new(),
        };
        ws.env("TF_CLI_CONFIG_FILE", &cfg.to_string_lossy());
        let home = ws.home.path().to_string_lossy().into_owned();
        ws.env("HOME", &home);
        ws.env("CHECKPOINT_DISABLE", "1");
        ws.env("TF_IN_AUTOMATION", "1");
        ws.env("TF_INPUT", "0");
        // Inserted after every subcommand; tests can override it with `env`.
        ws.env("TF_CLI_ARGS", "-no-color");
        ws
    }

    /// The Terraform this workspace runs.
    pub fn terraform(&self) -> &Terraform {
        &self.tf
    }

    /// The working directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Path of the CLI config file (`TF_CLI_CONFIG_FILE`).
    pub fn cli_config_path(&self) -> PathBuf {
        self.home.path().join("terraform.tfrc")
    }

    /// Write a file (e.g. `main.tf`) into the working directory.
    pub fn write(&self, name: &str, contents: &str) {
        let p = self.dir.path().join(name);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).expect("create parent dirs");
        }
        fs::write(&p, contents).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
    }

    /// Write `main.tf`: the `required_providers` block, then `body`.
    pub fn write_config(&self, body: &str) {
        self.write("main.tf", &config(body));
    }

    /// Read a file of the working directory ("" if absent).
    pub fn read(&self, name: &str) -> String {
        fs::read_to_string(self.dir.path().join(name)).unwrap_or_default()
    }

    /// Remove a file from the working directory (no error if absent).
    pub fn remove(&self, name: &str) {
        let _ = fs::remove_file(self.dir.path().join(name));
    }

    /// Extra environment for every later command (e.g. `TF_LOG`, `TF_REATTACH_PROVIDERS`).
    pub fn env(&mut self, k: &str, v: &str) {
        self.env.insert(k.to_string(), v.to_string());
    }

    /// Stop setting a variable this workspace would set.
    pub fn unset_env(&mut self, k: &str) {
        self.env.remove(k);
    }

    /// Attach Terraform to a provider started with `--debug`.
    pub fn reattach(&mut self, p: &DebugProvider) {
        self.env("TF_REATTACH_PROVIDERS", &p.reattach);
    }

    /// `terraform <args>` set up like `run` does (working directory, environment, no stdin),
    /// for tests that manage the process themselves (e.g. to interrupt it).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = clean_command(&self.tf.path);
        cmd.args(args)
            .envs(&self.env)
            .current_dir(self.dir.path())
            .stdin(Stdio::null());
        cmd
    }

    /// `bash -c <script>` set up like `command` (working directory, environment, no stdin),
    /// with this workspace's Terraform first on PATH as `terraform`: for documented shell
    /// snippets.
    pub fn shell(&self, script: &str) -> Command {
        let bin = self.home.path().join("bin");
        let link = bin.join("terraform");
        if !link.exists() {
            fs::create_dir_all(&bin).expect("create PATH dir");
            std::os::unix::fs::symlink(&self.tf.path, &link).expect("link terraform");
        }
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut dirs = vec![bin];
        dirs.extend(std::env::split_paths(&path));
        let mut cmd = clean_command("bash");
        cmd.args(["-c", script])
            .envs(&self.env)
            .env("PATH", std::env::join_paths(dirs).expect("PATH"))
            .current_dir(self.dir.path())
            .stdin(Stdio::null());
        cmd
    }

    /// Run `terraform <args>` in the working directory. Never panics on a non-zero exit;
    /// panics only if Terraform cannot be started or exceeds the time limit.
    pub fn run(&self, args: &[&str]) -> Output {
        let mut cmd = self.command(args);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let child = cmd.spawn().unwrap_or_else(|e| {
            panic!("cannot start {} ({}): {e}", self.tf, self.tf.path.display())
        });
        let pid = child.id();
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let _ = tx.send(child.wait_with_output());
        });
        let limit = std::env::var("E2E_TF_TIMEOUT_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(TF_TIMEOUT_SECS);
        let res = match rx.recv_timeout(Duration::from_secs(limit)) {
            Ok(r) => r,
            Err(_) => {
                // No `unsafe` for kill(2) in tests: use the kill command.
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
                let partial = rx
                    .recv_timeout(Duration::from_secs(10))
                    .ok()
                    .and_then(Result::ok)
                    .map(|o| {
                        format!(
                            "--- stdout ---\n{}\n--- stderr ---\n{}",
                            String::from_utf8_lossy(&o.stdout),
                            String::from_utf8_lossy(&o.stderr)
                        )
                    })
                    .unwrap_or_default();
                panic!(
                    "terraform {} ({}) took longer than {limit}s in {}; killed\n{partial}",
                    args.join(" "),
                    self.tf,
                    self.dir.path().display()
                );
            }
        };
        let out = res.unwrap_or_else(|e| panic!("waiting for terraform {}: {e}", args.join(" ")));
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Like `run`, but panics with the full output and Terraform version on a non-zero exit.
    pub fn ok(&self, args: &[&str]) -> Output {
        let out = self.run(args);
        if out.code != 0 {
            panic!("{}", self.failure(args, &out));
        }
        out
    }

    /// Panic message for a failed command.
    pub fn failure(&self, args: &[&str], out: &Output) -> String {
        format!(
            "`terraform {}` exited {} ({}, {} in {})\n--- stdout ---\n{}\n--- stderr ---\n{}",
            args.join(" "),
            out.code,
            self.tf,
            self.tf.path.display(),
            self.dir.path().display(),
            out.stdout,
            out.stderr
        )
    }

    /// Run `terraform <args>`, which must fail (any non-zero exit); returns the combined output.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_ne!(
            out.code,
            0,
            "expected failure: {}",
            self.failure(args, &out)
        );
        out.combined()
    }

    /// Run `terraform <args>`, which must fail (exit 1) with `needle` in the output: the way a
    /// Terraform refuses a configuration it is too old for. The provider must not crash on the
    /// way (no panic, no broken plugin connection).
    pub fn refused(&self, args: &[&str], needle: &str) -> Output {
        let out = self.run(args);
        assert_eq!(out.code, 1, "{}", self.failure(args, &out));
        let text = out.combined();
        assert!(
            text.contains(needle),
            "{}: expected {needle:?} from `terraform {}`:\n{text}",
            self.tf,
            args.join(" ")
        );
        for crash in [
            "panic",
            "Plugin did not respond",
            "plugin crashed",
            "rpc error",
        ] {
            assert!(!text.contains(crash), "{}: {crash:?} in:\n{text}", self.tf);
        }
        out
    }

    /// `terraform init` (needed only with `mirror_workspace` or non-overridden providers).
    pub fn init(&self) -> Output {
        self.ok(&["init", "-input=false", "-no-color"])
    }

    /// `terraform apply -auto-approve`; panics on failure (use `run` to expect one).
    pub fn apply(&self) -> Output {
        self.ok(&["apply", "-auto-approve", "-input=false", "-no-color"])
    }

    /// `terraform destroy -auto-approve`; panics on failure.
    pub fn destroy(&self) -> Output {
        self.ok(&["destroy", "-auto-approve", "-input=false", "-no-color"])
    }

    /// `terraform plan`; panics on failure.
    pub fn plan(&self) -> Output {
        self.ok(&["plan", "-input=false", "-no-color"])
    }

    /// `terraform plan -detailed-exitcode`: 0 = no changes, 2 = changes; panics on an error.
    pub fn plan_exit_code(&self) -> i32 {
        let args = ["plan", "-detailed-exitcode", "-input=false", "-no-color"];
        let out = self.run(&args);
        match out.code {
            0 | 2 => out.code,
            _ => panic!("{}", self.failure(&args, &out)),
        }
    }

    /// `terraform show -json`, parsed.
    pub fn show_json(&self) -> Value {
        self.json(&["show", "-json", "-no-color"])
    }

    /// `terraform output -json`, parsed.
    pub fn output_json(&self) -> Value {
        self.json(&["output", "-json", "-no-color"])
    }

    /// Run a command that must succeed and print JSON on stdout.
    pub fn json(&self, args: &[&str]) -> Value {
        let out = self.ok(args);
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "`terraform {}` printed no JSON ({e}) ({})\n{}",
                args.join(" "),
                self.tf,
                out.stdout
            )
        })
    }

    /// Raw `terraform.tfstate` ("" if absent).
    pub fn state_text(&self) -> String {
        self.read("terraform.tfstate")
    }

    /// Resources of the root module in `show -json` (empty when there is no state).
    pub fn resources(&self) -> Vec<Value> {
        self.show_json()["values"]["root_module"]["resources"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

/// `linux_amd64`-style platform name Terraform uses for this machine.
pub fn terraform_platform() -> String {
    let os = std::env::consts::OS;
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    };
    format!("{os}_{arch}")
}

/// Workspace that installs the provider with `terraform init` from a local filesystem mirror
/// (unpacked layout, built binary as version `PROVIDER_VERSION`), never from the network.
/// Sets the mock's `DEFENTRY_*` settings like `Workspace::new`.
pub fn mirror_workspace(tf: &Terraform, mock: &Mock) -> Workspace {
    let mut ws = mirror_workspace_bare(tf);
    for (k, v) in mock.provider_env() {
        ws.env(k, v);
    }
    ws
}

/// `mirror_workspace` without a mock.
pub fn mirror_workspace_bare(tf: &Terraform) -> Workspace {
    let mut ws = Workspace::with_cli_config(tf, "");
    let mirror = ws.home.path().join("mirror");
    let pkg = mirror
        .join(PROVIDER_ADDR)
        .join(PROVIDER_VERSION)
        .join(terraform_platform());
    fs::create_dir_all(&pkg).expect("create mirror dirs");
    let exe = pkg.join(format!("terraform-provider-defentry_v{PROVIDER_VERSION}"));
    // A hard link is a cheap snapshot (cargo replaces, not rewrites, its outputs); copy across
    // file systems.
    if fs::hard_link(provider_binary(), &exe).is_err() {
        fs::copy(provider_binary(), &exe)
            .unwrap_or_else(|e| panic!("copy {} to the mirror: {e}", provider_binary().display()));
    }
    let config = format!(
        "provider_installation {{\n  filesystem_mirror {{\n    path    = {}\n    include = [{}]\n  }}\n  direct {{\n    exclude = [{}]\n  }}\n}}\n",
        hcl_str(mirror.to_string_lossy()),
        hcl_str(PROVIDER_SOURCE),
        hcl_str(PROVIDER_SOURCE)
    );
    fs::write(ws.cli_config_path(), config).expect("write CLI config");
    ws.env(
        "TF_CLI_CONFIG_FILE",
        &ws.cli_config_path().to_string_lossy(),
    );
    ws
}
