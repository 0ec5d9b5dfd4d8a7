//! A `defentry-mock` process on a free loopback port, spoken to over HTTP with reqwest, and the
//! fixtures it starts with (imported from the mock, not retyped).

use std::collections::BTreeSet;
use std::fmt::Display;
use std::process::Child;
use std::time::Duration;

use defentry_mock::{MockConfig, MockUser};
use serde_json::{json, Value};
use tempfile::NamedTempFile;
use terraform_provider_defentry::defentry::client::LOGIN as LOGIN_PATH;

use super::process::{clean_command, read_log, start_server};

pub use defentry_mock::{
    DEFAULT_ADMIN as ADMIN_USER, DEFAULT_ADMIN_PASSWORD as ADMIN_PASSWORD,
    DEFAULT_ADMIN_TOTP_SECRET as ADMIN_TOTP_SECRET, DEFAULT_SERVICE_ACCOUNT as SERVICE_USER,
    DEFAULT_SERVICE_ACCOUNT_PASSWORD as SERVICE_PASSWORD,
};

/// Longest one request to the mock may take (a deadline for a hung mock, not a delay).
const HTTP_TIMEOUT: Duration = Duration::from_secs(120);

/// The mock binary cargo built for this test run.
/// The mock binary: the `defentry-mock` crate's, built into the same target directory as the
/// provider (`cargo build --bins` or a workspace `cargo test` builds it).
pub fn mock_binary() -> std::path::PathBuf {
    let name = format!("defentry-mock{}", std::env::consts::EXE_SUFFIX);
    let path = super::provider_binary().with_file_name(name);
    assert!(
        path.is_file(),
        "{} is missing: run `cargo build --bins` first",
        path.display()
    );
    path
}

/// The mock's default user called `username` (its password, TOTP secret, e-mail).
pub fn default_user(username: &str) -> MockUser {
    MockConfig::default_users()
        .into_iter()
        .find(|u| u.username == username)
        .unwrap_or_else(|| panic!("{username} is not one of the mock's default users"))
}

/// A blocking HTTP client for synchronous and async tests alike: each request runs on a
/// thread of its own with a single-thread runtime, so it neither needs a runtime nor nests in
/// the caller's. No pooled connections, since each runtime ends with its request.
struct Http {
    client: reqwest::Client,
}

impl Http {
    fn new() -> Http {
        let client = reqwest::Client::builder()
            .timeout(HTTP_TIMEOUT)
            .pool_max_idle_per_host(0)
            .build()
            .expect("an HTTP client");
        Http { client }
    }

    /// One request; the status and the body text.
    fn send(
        &self,
        method: &str,
        url: reqwest::Url,
        bearer: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, String) {
        let verb = reqwest::Method::from_bytes(method.as_bytes())
            .unwrap_or_else(|e| panic!("{method:?} is not an HTTP method: {e}"));
        let mut req = self
            .client
            .request(verb, url.clone())
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(t) = bearer {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let exchange = async {
            let resp = req.send().await?;
            let status = resp.status().as_u16();
            Ok::<_, reqwest::Error>((status, resp.text().await?))
        };
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("a runtime for one request")
                        .block_on(exchange)
                })
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"))
    }
}

/// A `defentry-mock` on a free loopback port, killed when dropped.
pub struct Mock {
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub url: String,
    child: Child,
    log: NamedTempFile,
    http: Http,
}

impl Mock {
    /// The mock with its default users.
    pub fn start() -> Mock {
        Mock::start_with(&[])
    }

    /// The mock with extra CLI arguments, e.g. `&["--token-ttl", "2s"]`.
    pub fn start_with(args: &[&str]) -> Mock {
        let mut cmd = clean_command(mock_binary());
        cmd.args(["--listen", "127.0.0.1:0"]).args(args);
        let (child, log, url) = start_server("defentry-mock", cmd, |l| Some(l.to_string()));
        let mock = Mock {
            url,
            child,
            log,
            http: Http::new(),
        };
        assert!(
            mock.url.starts_with("http://127.0.0.1:"),
            "defentry-mock's first stdout line is not its base URL: {:?}\n--- stderr ---\n{}",
            mock.url,
            mock.logs()
        );
        mock
    }

    /// The provider settings that point it at this mock as the default service account.
    pub fn provider_env(&self) -> [(&'static str, &str); 3] {
        [
            ("DEFENTRY_API_DOMAIN", self.url.as_str()),
            ("DEFENTRY_USERNAME", SERVICE_USER),
            ("DEFENTRY_PASSWORD", SERVICE_PASSWORD),
        ]
    }

    /// What the mock logged to stderr so far.
    pub fn logs(&self) -> String {
        read_log(&self.log)
    }

    /// `host:port` of the listener.
    pub fn addr(&self) -> &str {
        self.url.trim_start_matches("http://")
    }

    /// The URL of `path` (which may carry a query) on this mock.
    fn url_of(&self, path: &str) -> reqwest::Url {
        reqwest::Url::parse(&format!("{}{path}", self.url))
            .unwrap_or_else(|e| panic!("{}{path}: {e}", self.url))
    }

    /// One HTTP request; returns the status and the body (JSON `null` if empty or not JSON).
    pub fn http(
        &self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let (status, text) = self.http.send(method, self.url_of(path), bearer, body);
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// GET a mock endpoint that must answer 200 with JSON.
    fn get_json(&self, url: reqwest::Url) -> Value {
        let (status, text) = self.http.send("GET", url.clone(), None, None);
        assert_eq!(status, 200, "GET {url}: {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("GET {url}: {e}: {text}"))
    }

    /// A request that must answer `want`.
    fn expect(&self, method: &str, path: &str, body: Option<&Value>, want: u16) {
        let (status, answer) = self.http(method, path, None, body);
        let shown = body.map(Value::to_string).unwrap_or_default();
        assert_eq!(status, want, "{method} {path} {shown}: {answer}");
    }

    /// `GET /_mock/sessions`.
    pub fn sessions(&self) -> Value {
        self.get_json(self.url_of("/_mock/sessions"))
    }

    /// `GET /_mock/sessions?username=U`.
    pub fn sessions_of(&self, username: &str) -> Value {
        let mut url = self.url_of("/_mock/sessions");
        url.query_pairs_mut().append_pair("username", username);
        self.get_json(url)
    }

    /// Token ids of the sessions active at the mock.
    pub fn active_ids(&self) -> BTreeSet<String> {
        self.sessions()["sessions"]
            .as_array()
            .expect("sessions list")
            .iter()
            .map(|s| s["token_id"].as_str().expect("token_id").to_owned())
            .collect()
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
        self.http("GET", "/_mock/whoami", Some(token), None).0
    }

    /// Asserts that the API accepts `token` (`/_mock/whoami` answers 200); `context` leads
    /// the failure message.
    pub fn assert_live(&self, token: &str, context: impl Display) {
        assert_eq!(
            self.whoami_status(token),
            200,
            "{context} (the API must accept the token)"
        );
    }

    /// Asserts that `token` was logged out (`/_mock/whoami` answers 401); `context` leads the
    /// failure message.
    pub fn assert_revoked(&self, token: &str, context: impl Display) {
        assert_eq!(
            self.whoami_status(token),
            401,
            "{context} (the token must be logged out)"
        );
    }

    /// Queue a fault (`POST /_mock/faults`), e.g. `json!({"path": LOGIN_PATH, "status": 503})`.
    pub fn fault(&self, spec: Value) {
        self.expect("POST", "/_mock/faults", Some(&spec), 201);
    }

    /// Drop all queued faults.
    pub fn clear_faults(&self) {
        self.expect("DELETE", "/_mock/faults", None, 204);
    }

    /// `GET /_mock/rate-limit`: limit, window, 429s answered, windows seen, buckets.
    pub fn rate_limit(&self) -> Value {
        self.get_json(self.url_of("/_mock/rate-limit"))
    }

    /// Faults not used up yet.
    pub fn faults(&self) -> Value {
        self.get_json(self.url_of("/_mock/faults"))
    }

    /// Password-reset mails "sent" so far.
    pub fn outbox(&self) -> Value {
        self.get_json(self.url_of("/_mock/outbox"))
    }

    /// Request log (method, path, status, at).
    pub fn requests(&self) -> Value {
        self.get_json(self.url_of("/_mock/requests"))
    }

    /// `POST /_mock/reset`: revoke everything, clear faults, outbox, log and counters.
    pub fn reset(&self) {
        self.expect("POST", "/_mock/reset", None, 204);
    }

    /// Log in directly against the mock; returns the token (panics unless 200).
    pub fn login(&self, username: &str, password: &str) -> String {
        let body = json!({"username": username, "password": password});
        let (status, v) = self.http("POST", LOGIN_PATH, None, Some(&body));
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
