//! Shared end-to-end harness: the Terraforms under `.tools/bin`, a `defentry-mock` on a free port,
//! and a throw-away Terraform working directory wired to the freshly built provider.
//!
//! Use it from a test file with `mod common;`. Everything here panics with context on failure
//! (these are tests), and nothing waits a fixed time: servers are ready when they print their
//! readiness line. Each test owns its temp dirs and mock, so tests run in parallel safely.
//!
//! A missing Terraform is a failure, never a skip: run `make setup` (or `tools/ensure-terraform`).
#![allow(dead_code)] // each test file uses its own subset

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fmt;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;
use tempfile::{NamedTempFile, TempDir};

/// Provider source address as users write it in `required_providers`.
pub const PROVIDER_SOURCE: &str = "defentry/defentry";
/// The `terraform { required_providers { ... } }` block every e2e configuration starts with.
pub const REQUIRED_PROVIDERS: &str = r#"
terraform {
  required_providers {
    defentry = {
      source = "defentry/defentry"
    }
  }
}
"#;
/// Fully qualified provider address (reattach keys, mirror layout, `show -json`).
pub const PROVIDER_ADDR: &str = "registry.terraform.io/defentry/defentry";
/// Provider version, as published to a mirror.
pub const PROVIDER_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The mock's default service account (no 2FA).
pub const SERVICE_USER: &str = "acme-backend-integration@partner.com";
pub const SERVICE_PASSWORD: &str = "your_service_account_password";
/// The mock's default interactive admin, enrolled in TOTP 2FA.
pub const ADMIN_USER: &str = "admin@partner.com";
pub const ADMIN_PASSWORD: &str = "break-glass-password";
pub const ADMIN_TOTP_SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

/// Longest a server may take to print its readiness line.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// Default limit for one Terraform command (override with `E2E_TF_TIMEOUT_SECS`).
const TF_TIMEOUT_SECS: u64 = 600;

/// Inherited variables that would change what Terraform, the provider or the mock do.
fn is_foreign_env(key: &OsStr) -> bool {
    let k = key.to_string_lossy();
    ["TF_", "DEFENTRY_", "PLUGIN_", "CHECKPOINT_"]
        .iter()
        .any(|p| k.starts_with(p))
}

fn scrub_env(cmd: &mut Command) {
    for (k, _) in std::env::vars_os() {
        if is_foreign_env(&k) {
            cmd.env_remove(k);
        }
    }
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The provider binary cargo built for this test run.
pub fn provider_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_terraform-provider-defentry"))
}

/// The mock binary: the `defentry-mock` crate's, built into the same target directory as the
/// provider (`cargo build --bins` or a workspace `cargo test` builds it).
pub fn mock_binary() -> PathBuf {
    let name = format!("defentry-mock{}", std::env::consts::EXE_SUFFIX);
    let path = provider_binary().with_file_name(name);
    assert!(
        path.is_file(),
        "{} is missing: run `cargo build --bins` first",
        path.display()
    );
    path
}

/// Quote a string for HCL (JSON string escapes are valid HCL escapes).
pub fn hcl_str(s: impl AsRef<str>) -> String {
    serde_json::to_string(s.as_ref()).expect("a string always serialises")
}

// ---------------------------------------------------------------------------------------------
// Terraform binaries

/// One Terraform CLI the suite runs against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Terraform {
    pub path: PathBuf,
    pub version: (u32, u32, u32),
}

impl Terraform {
    /// True if this Terraform is `major.minor` or newer.
    pub fn at_least(&self, major: u32, minor: u32) -> bool {
        (self.version.0, self.version.1) >= (major, minor)
    }

    /// `terraform 1.15.5`, for messages.
    pub fn label(&self) -> String {
        let (a, b, c) = self.version;
        format!("terraform {a}.{b}.{c}")
    }

    /// Ask the binary itself (`terraform version -json`).
    pub fn probe(path: &Path) -> Terraform {
        let mut cmd = Command::new(path);
        scrub_env(&mut cmd);
        let out = cmd
            .args(["version", "-json"])
            .env("CHECKPOINT_DISABLE", "1")
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {} version: {e}", path.display()));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{} version -json failed ({}):\n{stdout}\n{}",
            path.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{} version -json: {e}:\n{stdout}", path.display()));
        let ver = v["terraform_version"]
            .as_str()
            .unwrap_or_else(|| panic!("no terraform_version in {stdout}"));
        Terraform {
            path: path.to_path_buf(),
            version: parse_version(ver)
                .unwrap_or_else(|| panic!("{}: bad version {ver:?}", path.display())),
        }
    }
}

impl fmt::Display for Terraform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

fn parse_version(s: &str) -> Option<(u32, u32, u32)> {
    let core = s.trim_start_matches('v').split(['-', '+']).next()?;
    let mut it = core.split('.').map(|p| p.parse::<u32>().ok());
    let v = (it.next()??, it.next()??, it.next()??);
    it.next().is_none().then_some(v)
}

/// Terraform before 1.10 on an `ephemeral` block (its own refusal).
pub const NO_EPHEMERAL_BLOCKS: &str = r#"Blocks of type "ephemeral" are not expected here."#;
/// Terraform before 1.10 on `ephemeral = true` in a variable (its own refusal).
pub const NO_EPHEMERAL_VARIABLES: &str = r#"An argument named "ephemeral" is not expected here."#;
/// The provider's refusal of a write-only argument from a Terraform before 1.11, which would
/// store the value in state.
pub const WRITE_ONLY_NOT_ALLOWED: &str = "Write-only attribute not allowed";

/// What a Terraform before 1.11 answers to a configuration with both `ephemeral` blocks and
/// write-only arguments: 1.10 knows ephemeral blocks, so the provider refuses the write-only
/// argument; older ones already refuse the block.
pub fn too_old_for_write_only(tf: &Terraform) -> &'static str {
    if tf.at_least(1, 10) {
        WRITE_ONLY_NOT_ALLOWED
    } else {
        NO_EPHEMERAL_BLOCKS
    }
}

/// Environment variable choosing the Terraforms of the e2e suites: `all`, or a comma-separated
/// list of versions from `.tools/bin` (`1.6.6,1.15.5`). Unset: see `terraforms()`.
pub const TF_VERSIONS_ENV: &str = "DEFENTRY_TF_VERSIONS";

/// The Terraforms the full e2e suites run on, oldest first: the oldest and the newest of
/// `.tools/bin` (the features in between are covered by `all_terraforms()` smoke tests).
/// `$TERRAFORM` (one binary) or `$DEFENTRY_TF_VERSIONS` override it. Panics if there is none.
pub fn terraforms() -> Vec<Terraform> {
    if let Some(chosen) = chosen_terraforms() {
        return chosen;
    }
    let mut all = installed_terraforms();
    if all.len() > 2 {
        all.drain(1..all.len() - 1);
    }
    all
}

/// Every Terraform in `.tools/bin`, oldest first, for the per-version smoke; the same
/// overrides as `terraforms()` apply.
pub fn all_terraforms() -> Vec<Terraform> {
    chosen_terraforms().unwrap_or_else(installed_terraforms)
}

/// What `$TERRAFORM` or `$DEFENTRY_TF_VERSIONS` select, if either is set.
fn chosen_terraforms() -> Option<Vec<Terraform>> {
    if let Some(p) = std::env::var_os("TERRAFORM").filter(|p| !p.is_empty()) {
        return Some(vec![Terraform::probe(Path::new(&p))]);
    }
    let spec = std::env::var(TF_VERSIONS_ENV)
        .ok()
        .filter(|s| !s.trim().is_empty())?;
    let all = installed_terraforms();
    if spec.trim() == "all" {
        return Some(all);
    }
    let chosen = select_versions(&all, &spec).unwrap_or_else(|e| panic!("{TF_VERSIONS_ENV}: {e}"));
    Some(chosen)
}

/// The entries of `all` named by a `1.6.6,1.15.5`-style list, oldest first.
fn select_versions(all: &[Terraform], spec: &str) -> Result<Vec<Terraform>, String> {
    let mut chosen = Vec::new();
    for want in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let v = parse_version(want).ok_or_else(|| format!("{want:?} is not X.Y.Z or `all`"))?;
        let tf = all.iter().find(|t| t.version == v).ok_or_else(|| {
            let have: Vec<String> = all.iter().map(|t| t.label()).collect();
            format!(
                "Terraform {want} is not installed (have: {})",
                have.join(", ")
            )
        })?;
        if !chosen.contains(tf) {
            chosen.push(tf.clone());
        }
    }
    chosen.sort_by_key(|t| t.version);
    Ok(chosen)
}

/// Every `.tools/bin/terraform-X.Y.Z`, oldest first. Panics if there is none.
fn installed_terraforms() -> Vec<Terraform> {
    let bin = repo_root().join(".tools/bin");
    let mut found: Vec<Terraform> = fs::read_dir(&bin)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let version = parse_version(name.strip_prefix("terraform-")?)?;
                    let path = e.path();
                    path.exists().then_some(Terraform { path, version })
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort_by_key(|t| t.version);
    assert!(
        !found.is_empty(),
        "no Terraform found in {}: run `make setup` / tools/ensure-terraform (or set TERRAFORM)",
        bin.display()
    );
    found
}

/// The newest available Terraform.
pub fn newest_terraform() -> Terraform {
    terraforms().pop().expect("terraforms() is never empty")
}

// ---------------------------------------------------------------------------------------------
// Background servers

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

fn read_log(f: &NamedTempFile) -> String {
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

/// A `defentry-mock` on a free loopback port, killed when dropped.
pub struct Mock {
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub url: String,
    child: Child,
    log: NamedTempFile,
}

impl Mock {
    /// The mock with its default users.
    pub fn start() -> Mock {
        Mock::start_with(&[])
    }

    /// The mock with extra CLI arguments, e.g. `&["--token-ttl", "2s"]`.
    pub fn start_with(args: &[&str]) -> Mock {
        let log = NamedTempFile::new().expect("temp file for mock logs");
        let mut cmd = Command::new(mock_binary());
        scrub_env(&mut cmd);
        let mut child = cmd
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log.reopen().expect("reopen mock log"))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", mock_binary().display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let rx = watch_stdout(stdout, |l| Some(l.to_string()));
        let url = await_ready("defentry-mock", &mut child, &rx, &log);
        let mock = Mock { url, child, log };
        assert!(
            mock.url.starts_with("http://127.0.0.1:"),
            "defentry-mock's first stdout line is not its base URL: {:?}\n--- stderr ---\n{}",
            mock.url,
            mock.logs()
        );
        mock
    }

    /// What the mock logged to stderr so far.
    pub fn logs(&self) -> String {
        read_log(&self.log)
    }

    /// `host:port` of the listener.
    pub fn addr(&self) -> &str {
        self.url.trim_start_matches("http://")
    }

    /// One HTTP request; returns the status and the body (JSON `null` if empty or not JSON).
    pub fn http(
        &self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let (status, text) = http_request(self.addr(), method, path, bearer, body);
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// GET a mock endpoint that must answer 200 with JSON.
    fn get_json(&self, path: &str) -> Value {
        let (status, text) = http_request(self.addr(), "GET", path, None, None);
        assert_eq!(status, 200, "GET {path}: {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("GET {path}: {e}: {text}"))
    }

    /// `GET /_mock/sessions`.
    pub fn sessions(&self) -> Value {
        self.get_json("/_mock/sessions")
    }

    /// `GET /_mock/sessions?username=U`.
    pub fn sessions_of(&self, username: &str) -> Value {
        let q: String = url_encode(username);
        self.get_json(&format!("/_mock/sessions?username={q}"))
    }

    /// Number of tokens that are neither expired nor revoked.
    pub fn active_sessions(&self) -> u64 {
        let s = self.sessions();
        s["active"]
            .as_u64()
            .unwrap_or_else(|| panic!("no numeric `active` in /_mock/sessions: {s}"))
    }

    /// Status of `GET /_mock/whoami` with this bearer token (200 valid, 401 revoked, 403 2FA).
    pub fn whoami_status(&self, token: &str) -> u16 {
        http_request(self.addr(), "GET", "/_mock/whoami", Some(token), None).0
    }

    /// Queue a fault (`POST /_mock/faults`), e.g. `json!({"path": "/api/v1/crm/auth/login", "status": 503})`.
    pub fn fault(&self, spec: Value) {
        let (status, text) = http_request(self.addr(), "POST", "/_mock/faults", None, Some(&spec));
        assert_eq!(status, 201, "POST /_mock/faults {spec}: {text}");
    }

    /// Drop all queued faults.
    pub fn clear_faults(&self) {
        let (status, text) = http_request(self.addr(), "DELETE", "/_mock/faults", None, None);
        assert_eq!(status, 204, "DELETE /_mock/faults: {text}");
    }

    /// Faults not used up yet.
    pub fn faults(&self) -> Value {
        self.get_json("/_mock/faults")
    }

    /// Password-reset mails "sent" so far.
    pub fn outbox(&self) -> Value {
        self.get_json("/_mock/outbox")
    }

    /// Request log (method, path, status, at).
    pub fn requests(&self) -> Value {
        self.get_json("/_mock/requests")
    }

    /// `POST /_mock/reset`: revoke everything, clear faults, outbox, log and counters.
    pub fn reset(&self) {
        let (status, text) = http_request(self.addr(), "POST", "/_mock/reset", None, None);
        assert_eq!(status, 204, "POST /_mock/reset: {text}");
    }

    /// Log in directly against the mock; returns the token (panics unless 200).
    pub fn login(&self, username: &str, password: &str) -> String {
        let body = serde_json::json!({"username": username, "password": password});
        let (status, v) = self.http("POST", "/api/v1/crm/auth/login", None, Some(&body));
        assert_eq!(status, 200, "login as {username}: {v}");
        v["token"]
            .as_str()
            .unwrap_or_else(|| panic!("login as {username}: no token in {v}"))
            .to_string()
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Minimal HTTP/1.1 client for the mock: one request per connection, so no async runtime is
/// needed in synchronous tests.
fn http_request(
    addr: &str,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<&Value>,
) -> (u16, String) {
    let ctx = || format!("{method} http://{addr}{path}");
    let mut stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("{}: {e}", ctx()));
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .expect("set read timeout");
    let payload = body.map(Value::to_string).unwrap_or_default();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAccept: application/json\r\n"
    );
    if let Some(t) = bearer {
        req.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    if body.is_some() {
        req.push_str("Content-Type: application/json\r\n");
    }
    if body.is_some() || !matches!(method, "GET" | "HEAD" | "DELETE") {
        req.push_str(&format!("Content-Length: {}\r\n", payload.len()));
    }
    req.push_str("\r\n");
    req.push_str(&payload);
    stream
        .write_all(req.as_bytes())
        .unwrap_or_else(|e| panic!("{}: {e}", ctx()));
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .unwrap_or_else(|e| panic!("{}: {e}", ctx()));
    parse_http_response(&raw).unwrap_or_else(|| {
        panic!(
            "{}: unparseable response:\n{}",
            ctx(),
            String::from_utf8_lossy(&raw)
        )
    })
}

fn parse_http_response(raw: &[u8]) -> Option<(u16, String)> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let mut rest = &raw[split + 4..];
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let mut chunked = false;
    let mut length = None;
    for l in lines {
        let (k, v) = l.split_once(':')?;
        let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
        if k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked") {
            chunked = true;
        } else if k == "content-length" {
            length = v.parse::<usize>().ok();
        }
    }
    let body = if chunked {
        let mut out = Vec::new();
        loop {
            let eol = rest.windows(2).position(|w| w == b"\r\n")?;
            let size_field = std::str::from_utf8(&rest[..eol]).ok()?;
            let size = usize::from_str_radix(size_field.split(';').next()?.trim(), 16).ok()?;
            rest = &rest[eol + 2..];
            if size == 0 {
                break;
            }
            out.extend_from_slice(rest.get(..size)?);
            rest = rest.get(size + 2..)?;
        }
        out
    } else {
        match length {
            Some(n) => rest.get(..n)?.to_vec(),
            None => rest.to_vec(),
        }
    };
    Some((status, String::from_utf8_lossy(&body).into_owned()))
}

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
        DebugProvider::start_with_env(&[
            ("DEFENTRY_API_DOMAIN", mock.url.as_str()),
            ("DEFENTRY_USERNAME", SERVICE_USER),
            ("DEFENTRY_PASSWORD", SERVICE_PASSWORD),
        ])
    }

    /// Provider with exactly these extra environment variables (inherited `TF_*`, `DEFENTRY_*`
    /// and `PLUGIN_*` are removed).
    pub fn start_with_env(env: &[(&str, &str)]) -> DebugProvider {
        let log = NamedTempFile::new().expect("temp file for provider logs");
        let tmp = tempfile::Builder::new()
            .prefix("e2e-plugin-")
            .tempdir()
            .expect("temp dir for the provider");
        let mut cmd = Command::new(provider_binary());
        scrub_env(&mut cmd);
        let mut child = cmd
            .arg("--debug")
            .env("TMPDIR", tmp.path())
            .env("PLUGIN_UNIX_SOCKET_DIR", tmp.path())
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log.reopen().expect("reopen provider log"))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", provider_binary().display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let rx = watch_stdout(stdout, parse_reattach_line);
        let reattach = await_ready("provider --debug", &mut child, &rx, &log);
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

// ---------------------------------------------------------------------------------------------
// Terraform working directories

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
        ws.env("DEFENTRY_API_DOMAIN", &mock.url);
        ws.env("DEFENTRY_USERNAME", SERVICE_USER);
        ws.env("DEFENTRY_PASSWORD", SERVICE_PASSWORD);
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
        let mut cmd = Command::new(&self.tf.path);
        scrub_env(&mut cmd);
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
        let mut cmd = Command::new("bash");
        scrub_env(&mut cmd);
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
    ws.env("DEFENTRY_API_DOMAIN", &mock.url);
    ws.env("DEFENTRY_USERNAME", SERVICE_USER);
    ws.env("DEFENTRY_PASSWORD", SERVICE_PASSWORD);
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

// ---------------------------------------------------------------------------------------------
// Ctrl-C

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

// ---------------------------------------------------------------------------------------------
// State and clock helpers for token tests

/// A configuration: the `required_providers` block, then `body`.
pub fn config(body: &str) -> String {
    format!("{REQUIRED_PROVIDERS}\n{body}")
}

/// The text of a JSON string value; empty for anything else.
pub fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// The `show -json` entry of `address`; panics when it is not in state.
pub fn token_of(ws: &Workspace, address: &str) -> Value {
    ws.resources()
        .into_iter()
        .find(|r| r["address"] == address)
        .unwrap_or_else(|| panic!("{address} not in state ({})", ws.terraform()))
}

/// The attribute values of `address` in `show -json`; panics when it is not in state.
pub fn values_of(ws: &Workspace, address: &str) -> Value {
    token_of(ws, address)["values"].clone()
}

/// The wall clock, in seconds since the epoch.
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

/// Seconds since the epoch of an RFC 3339 UTC timestamp like `2026-11-28T00:00:18Z`.
pub fn parse_rfc3339(t: &str) -> f64 {
    let (date, time) = t.trim_end_matches('Z').split_once('T').expect("RFC 3339");
    let d: Vec<i64> = date.split('-').map(|x| x.parse().expect("date")).collect();
    let hms: Vec<i64> = time.split(':').map(|x| x.parse().expect("time")).collect();
    // Days from civil (Howard Hinnant's algorithm).
    let (y, m, day) = (if d[1] <= 2 { d[0] - 1 } else { d[0] }, d[1], d[2]);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    (days * 86_400 + hms[0] * 3600 + hms[1] * 60 + hms[2]) as f64
}

/// Sleeps until the wall clock passes `t` (a rotation time, not a server's readiness).
pub fn wait_until(t: f64) {
    let now = unix_now();
    if t > now {
        std::thread::sleep(Duration::from_secs_f64(t - now));
    }
}

#[cfg(test)]
mod harness_tests {
    use super::*;

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

    #[test]
    fn parses_http_responses() {
        let plain = b"HTTP/1.1 200 OK\r\ncontent-length: 7\r\n\r\n{\"a\":1}";
        assert_eq!(parse_http_response(plain), Some((200, "{\"a\":1}".into())));
        let chunked = b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n4\r\n\":1}\r\n0\r\n\r\n";
        assert_eq!(
            parse_http_response(chunked),
            Some((201, "{\"a\":1}".into()))
        );
        let empty = b"HTTP/1.1 204 No Content\r\n\r\n";
        assert_eq!(parse_http_response(empty), Some((204, String::new())));
        assert_eq!(parse_http_response(b"garbage"), None);
    }

    #[test]
    fn encodes_query_values() {
        assert_eq!(url_encode("admin@partner.com"), "admin%40partner.com");
        assert_eq!(url_encode("a b/c"), "a%20b%2Fc");
    }

    #[test]
    fn platform_name_looks_like_terraforms() {
        let p = terraform_platform();
        assert!(p.contains('_') && !p.contains("x86_64"), "{p}");
    }
}
