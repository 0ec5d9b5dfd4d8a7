//! HTTP client for the Defentry CRM API.
//!
//! One [`Client`] holds one pooled `reqwest` client (rustls on aws-lc-rs, certificate verification always
//! on, optional extra CA roots). Every call has a per-attempt timeout, is retried on transport errors
//! (except TLS failures, which a retry cannot fix), 429, 502, 503 and 504 with exponential backoff and
//! full jitter (honouring `Retry-After`), and maps the outcome to a typed [`ApiError`] whose message names the host and the cause but never a secret or a
//! response body. Each attempt runs in a `defentry_request` tracing span with method, path, attempt,
//! status and latency_ms; bodies, headers and tokens are never logged.
//!
//! Calls run inside [`stoppable`] obey a stop request: no new attempt starts and a backoff wait
//! ends at once ([`ApiError::Cancelled`]), but an attempt already sent is finished (bounded by
//! `request_timeout`), because the server may have acted on it and its outcome must not be lost.

mod config;
mod error;
mod models;
mod response;
mod retry;
mod secret;

use std::error::Error as StdError;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use serde_json::{json, Map, Value};
use tokio_util::sync::CancellationToken;
use tracing::{field, Instrument};

pub use config::{ApiDomain, ApiDomainError, ClientConfig};
pub use error::{ApiError, ClientBuildError};
pub use models::{LoginResponse, LogoutOutcome, Token, TokenFormatError, TwoFactorSetup};
pub use secret::Secret;

use response::{content_type_essence, RawResponse, MAX_BODY_BYTES};
use retry::{is_retryable_status, parse_retry_after, retry_delay, Replay};

// The endpoint paths of the onboarding page; public so tests name them instead of retyping.
pub const LOGIN: &str = "/api/v1/crm/auth/login";
pub const LOGOUT: &str = "/api/v1/crm/logout";
pub const TWO_FACTOR_SETUP: &str = "/api/v1/2fa/setup";
pub const TWO_FACTOR_VERIFY: &str = "/api/v1/2fa/verify";
pub const PASSWORD_FORGOT: &str = "/api/v1/crm/auth/password/forgot";
pub const PASSWORD_RESET: &str = "/api/v1/crm/auth/password/reset";
/// How long an unused pooled connection is kept.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(15);

tokio::task_local! {
    /// The stop request of the calls running in this task, set by [`stoppable`].
    static STOP: CancellationToken;
}

/// Runs `calls` (any client calls) so that once `stop` is cancelled they start no new attempt
/// and cut backoff waits short, while an attempt already sent is finished. Outside this scope
/// calls never stop early (e.g. a logout that must happen even after Ctrl-C).
pub async fn stoppable<F: Future>(stop: CancellationToken, calls: F) -> F::Output {
    STOP.scope(stop, calls).await
}

fn stop_requested() -> bool {
    STOP.try_with(CancellationToken::is_cancelled)
        .unwrap_or(false)
}

/// Resolves when the current [`stoppable`] scope is stopped; never outside one.
async fn stopped() {
    match STOP.try_with(CancellationToken::clone) {
        Ok(token) => token.cancelled_owned().await,
        Err(_) => std::future::pending().await,
    }
}

/// A Defentry API client. Cheap to clone: clones share one connection pool.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    config: ClientConfig,
    host: String,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("api_domain", &self.inner.config.api_domain)
            .finish_non_exhaustive()
    }
}

/// One API call as the retry loop sees it.
struct Call<'a> {
    endpoint: &'static str,
    /// Serialised JSON; may hold secrets, so it only ever goes on the wire.
    body: Option<Vec<u8>>,
    bearer: Option<&'a Secret>,
    replay: Replay,
}

/// An attempt that produced no usable HTTP response.
struct TransportFailure {
    cause: String,
    /// The connection was never established, so the server cannot have acted on the request.
    not_sent: bool,
    /// Repeating cannot help (a TLS verification failure).
    permanent: bool,
}

impl Client {
    /// Builds the client. Fails on an unusable `ca_cert_pem`, `user_agent` or `request_timeout`.
    pub fn new(config: ClientConfig) -> Result<Client, ClientBuildError> {
        if config.request_timeout.is_zero() {
            return Err(ClientBuildError::ZeroTimeout);
        }
        let user_agent = HeaderValue::from_str(&config.user_agent)
            .map_err(|_| ClientBuildError::InvalidUserAgent)?;
        let mut headers = HeaderMap::new();
        // Laravel answers auth failures with a redirect to a login page unless JSON is asked for.
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let mut builder = reqwest::Client::builder()
            .user_agent(user_agent)
            .default_headers(headers)
            // A redirect would turn POST into GET or carry credentials elsewhere: report it instead.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(config.request_timeout)
            // Servers close idle keep-alive connections (defentry-mock after 30 s, proxies often
            // after 60 s); dropping ours first avoids sending a request on one being closed.
            .pool_idle_timeout(POOL_IDLE_TIMEOUT);
        let extra_roots = match &config.ca_cert_pem {
            Some(pem) => parse_ca_pem(pem)?,
            None => Vec::new(),
        };
        builder = if config.api_domain.is_plain_http() {
            // Loopback http never does TLS (redirects are not followed): do not require a system CA
            // store, which minimal CI containers lack.
            builder.tls_certs_only(extra_roots)
        } else {
            builder.tls_certs_merge(extra_roots)
        };
        let http = builder.build().map_err(|e| ClientBuildError::Http {
            cause: error_chain(&e),
        })?;
        let host = config.api_domain.host();
        Ok(Client {
            inner: Arc::new(Inner { http, config, host }),
        })
    }

    /// The API base URL this client talks to.
    pub fn api_domain(&self) -> &ApiDomain {
        &self.inner.config.api_domain
    }

    /// `POST /api/v1/crm/auth/login`. 401 → [`ApiError::InvalidCredentials`]; 401 and 422 are never retried.
    pub async fn login(
        &self,
        username: &str,
        password: &Secret,
        keep_logged: bool,
    ) -> Result<LoginResponse, ApiError> {
        let body = json!({
            "username": username,
            "password": password.expose(),
            "keep_logged": keep_logged,
        });
        let resp = self
            .execute(Call {
                endpoint: LOGIN,
                body: Some(body.to_string().into_bytes()),
                bearer: None,
                replay: Replay::Safe,
            })
            .await?;
        match resp.status {
            200..=299 => {
                let map = resp.json_object().map_err(|r| self.unexpected(&resp, r))?;
                parse_login(&map).map_err(|r| self.unexpected(&resp, r))
            }
            401 => Err(ApiError::InvalidCredentials {
                username: username.to_owned(),
            }),
            _ => Err(self.status_error(&resp)),
        }
    }

    /// `POST /api/v1/crm/logout`: revokes only this token. A 401 means it is already unusable, which is
    /// what logout wants, hence `Ok(AlreadyInvalid)`.
    pub async fn logout(&self, token: &Secret) -> Result<LogoutOutcome, ApiError> {
        let resp = match self
            .execute(Call {
                endpoint: LOGOUT,
                body: None,
                bearer: Some(token),
                replay: Replay::Safe,
            })
            .await
        {
            Ok(resp) => resp,
            Err(ApiError::Unauthenticated) => return Ok(LogoutOutcome::AlreadyInvalid),
            Err(e) => return Err(e),
        };
        match resp.status {
            // The vendor documents no response body for logout: any 2xx is success.
            200..=299 => Ok(LogoutOutcome::LoggedOut),
            401 => Ok(LogoutOutcome::AlreadyInvalid),
            _ => Err(self.status_error(&resp)),
        }
    }

    /// `POST /api/v1/2fa/setup`, the first step of the challenge. Any 2xx is success whatever its
    /// body (the vendor documents none); known fields are read as hints (see [`TwoFactorSetup`]).
    pub async fn two_factor_setup(&self, token: &Secret) -> Result<TwoFactorSetup, ApiError> {
        let resp = self
            .execute(Call {
                endpoint: TWO_FACTOR_SETUP,
                body: None,
                bearer: Some(token),
                replay: Replay::Safe,
            })
            .await?;
        match resp.status {
            200..=299 => Ok(parse_two_factor_setup(
                &resp.json_object().unwrap_or_default(),
            )),
            _ => Err(self.status_error(&resp)),
        }
    }

    /// `POST /api/v1/2fa/verify` with a TOTP code. A wrong code is a 422 [`ApiError::Validation`]. Any
    /// other 2xx is success whatever its body (the vendor documents none), unless the body says
    /// `"verified": false`: a server that says so is believed.
    pub async fn two_factor_verify(&self, token: &Secret, code: &Secret) -> Result<(), ApiError> {
        let body = json!({ "code": code.expose() });
        let resp = self
            .execute(Call {
                endpoint: TWO_FACTOR_VERIFY,
                body: Some(body.to_string().into_bytes()),
                bearer: Some(token),
                // A replayed code may be refused after the first attempt succeeded unseen.
                replay: Replay::Unsafe,
            })
            .await?;
        match resp.status {
            200..=299 => match resp
                .json_object()
                .ok()
                .and_then(|m| m.get("verified").cloned())
            {
                Some(Value::Bool(false)) => {
                    Err(self.unexpected(&resp, "\"verified\" is false".to_owned()))
                }
                _ => Ok(()),
            },
            _ => Err(self.status_error(&resp)),
        }
    }

    /// `POST /api/v1/crm/auth/password/forgot`. Returns the server's message (the same for unknown
    /// addresses: the API does not reveal which accounts exist).
    pub async fn password_forgot(&self, email: &str) -> Result<String, ApiError> {
        let body = json!({ "email": email });
        let resp = self
            .execute(Call {
                endpoint: PASSWORD_FORGOT,
                body: Some(body.to_string().into_bytes()),
                bearer: None,
                replay: Replay::Safe,
            })
            .await?;
        self.message_result(&resp, "Password reset link requested.")
    }

    /// `POST /api/v1/crm/auth/password/reset` with the emailed single-use token; the confirmation sent is
    /// `password` itself. Returns the server's message.
    pub async fn password_reset(
        &self,
        reset_token: &Secret,
        password: &Secret,
    ) -> Result<String, ApiError> {
        let body = json!({
            "token": reset_token.expose(),
            "password": password.expose(),
            "password_confirmation": password.expose(),
        });
        let resp = self
            .execute(Call {
                endpoint: PASSWORD_RESET,
                body: Some(body.to_string().into_bytes()),
                bearer: None,
                // The reset token is single-use: a blind replay would report "invalid token" for a reset
                // that in fact succeeded.
                replay: Replay::Unsafe,
            })
            .await?;
        self.message_result(&resp, "Password reset.")
    }

    fn message_result(&self, resp: &RawResponse, default: &str) -> Result<String, ApiError> {
        match resp.status {
            // The vendor documents no response body here: any 2xx is success, a message a bonus.
            200..=299 => Ok(resp.message().unwrap_or_else(|| default.to_owned())),
            _ => Err(self.status_error(resp)),
        }
    }

    fn unexpected(&self, resp: &RawResponse, reason: String) -> ApiError {
        ApiError::UnexpectedResponse {
            host: self.inner.host.clone(),
            status: resp.status,
            reason,
        }
    }

    /// Maps a non-success final response to its error.
    fn status_error(&self, resp: &RawResponse) -> ApiError {
        let host = self.inner.host.clone();
        match resp.status {
            401 => ApiError::Unauthenticated,
            403 => ApiError::Forbidden {
                message: resp.message().unwrap_or_else(|| "Forbidden.".to_owned()),
            },
            422 => ApiError::Validation {
                message: resp
                    .message()
                    .unwrap_or_else(|| "The given data was invalid.".to_owned()),
                fields: resp.field_errors(),
            },
            429 => ApiError::RateLimited {
                host,
                attempts: resp.attempts,
                retry_after: resp.retry_after,
            },
            500..=599 => ApiError::Server {
                host,
                status: resp.status,
                attempts: resp.attempts,
            },
            status => ApiError::UnexpectedStatus { host, status },
        }
    }

    /// Sends a call with retries and returns its final response, or the transport error of the last attempt.
    async fn execute(&self, call: Call<'_>) -> Result<RawResponse, ApiError> {
        let inner = &*self.inner;
        let url = inner.config.api_domain.endpoint(call.endpoint);
        let auth = match call.bearer {
            Some(token) => match bearer_header(token) {
                Some(value) => Some(value),
                None => {
                    // The server answers 401 to a malformed token; spare the round trip.
                    tracing::debug!(
                        path = url.path(),
                        "token cannot be sent in a header; treated as rejected"
                    );
                    return Err(ApiError::Unauthenticated);
                }
            },
            None => None,
        };
        let max_attempts = inner.config.max_retries.saturating_add(1);
        let mut attempt: u32 = 1;
        loop {
            if stop_requested() {
                tracing::debug!(path = url.path(), attempt, "stop requested; no new attempt");
                return Err(ApiError::Cancelled);
            }
            let span = tracing::debug_span!(
                "defentry_request",
                method = "POST",
                path = url.path(),
                attempt,
                status = field::Empty,
                latency_ms = field::Empty,
            );
            let retries_left = attempt < max_attempts;
            let outcome = self
                .attempt(&url, &call, auth.as_ref(), attempt, retries_left)
                .instrument(span.clone())
                .await;
            let delay = match outcome {
                Ok(resp) if retries_left && is_retryable_status(resp.status, call.replay) => {
                    let delay = self.delay(attempt, resp.retry_after);
                    span.in_scope(|| {
                        tracing::warn!(
                            status = resp.status,
                            delay_ms = delay.as_millis() as u64,
                            "Defentry answered with a retryable status; retrying"
                        )
                    });
                    delay
                }
                Ok(resp) => return Ok(resp),
                Err(failure)
                    if retries_left
                        && !failure.permanent
                        && (failure.not_sent || call.replay == Replay::Safe) =>
                {
                    let delay = self.delay(attempt, None);
                    span.in_scope(|| {
                        tracing::warn!(
                            error = %failure.cause,
                            delay_ms = delay.as_millis() as u64,
                            "request to Defentry failed; retrying"
                        )
                    });
                    delay
                }
                Err(failure) => {
                    return Err(ApiError::Transport {
                        host: inner.host.clone(),
                        cause: failure.cause,
                        attempts: attempt,
                    })
                }
            };
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = stopped() => {
                    tracing::debug!(path = url.path(), "stop requested; backoff cut short");
                    return Err(ApiError::Cancelled);
                }
            }
            attempt += 1;
        }
    }

    fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let c = &self.inner.config;
        retry_delay(
            attempt - 1,
            retry_after,
            c.retry_base_delay,
            c.retry_max_delay,
        )
    }

    /// One attempt, run inside its span. The body is read (capped) unless the response will be retried.
    async fn attempt(
        &self,
        url: &url::Url,
        call: &Call<'_>,
        auth: Option<&HeaderValue>,
        attempt: u32,
        retries_left: bool,
    ) -> Result<RawResponse, TransportFailure> {
        let inner = &*self.inner;
        let timeout = inner.config.request_timeout;
        let started = Instant::now();
        let mut req = inner.http.post(url.clone()).timeout(timeout);
        if let Some(auth) = auth {
            req = req.header(AUTHORIZATION, auth.clone());
        }
        req = match &call.body {
            Some(body) => req
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone()),
            None => req.body(Vec::new()),
        };
        let result = match req.send().await {
            Ok(mut response) => {
                let status = response.status().as_u16();
                let span = tracing::Span::current();
                span.record("status", status);
                let retry_after = response
                    .headers()
                    .get(RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| parse_retry_after(v, SystemTime::now()));
                let content_type = response
                    .headers()
                    .get(CONTENT_TYPE)
                    .map(|v| content_type_essence(v.as_bytes()));
                let will_retry = retries_left && is_retryable_status(status, call.replay);
                let body = if will_retry {
                    Ok(None)
                } else {
                    read_capped(&mut response).await
                };
                body.map(|body| RawResponse {
                    status,
                    content_type,
                    body,
                    retry_after,
                    attempts: attempt,
                })
                .map_err(|e| describe_transport_error(&e, timeout, true))
            }
            Err(e) => Err(describe_transport_error(&e, timeout, false)),
        };
        let latency_ms = started.elapsed().as_millis() as u64;
        tracing::Span::current().record("latency_ms", latency_ms);
        match &result {
            Ok(resp) => tracing::debug!(
                status = resp.status,
                latency_ms,
                "Defentry request finished"
            ),
            Err(f) => tracing::debug!(error = %f.cause, latency_ms, "Defentry request failed"),
        }
        result
    }
}

/// Reads at most [`MAX_BODY_BYTES`]; `Ok(None)` if the body is larger (the rest is not read).
async fn read_capped(response: &mut reqwest::Response) -> Result<Option<Vec<u8>>, reqwest::Error> {
    if response
        .content_length()
        .is_some_and(|n| n > MAX_BODY_BYTES as u64)
    {
        return Ok(None);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

/// `Bearer <token>` as a sensitive header value (hyper and h2 then never print or index it), or `None`
/// if the token could not possibly be valid on the wire.
fn bearer_header(token: &Secret) -> Option<HeaderValue> {
    let raw = token.expose();
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    let mut value = HeaderValue::from_str(&format!("Bearer {raw}")).ok()?;
    value.set_sensitive(true);
    Some(value)
}

fn parse_login(map: &Map<String, Value>) -> Result<LoginResponse, String> {
    let token = match map.get("token") {
        None | Some(Value::Null) => return Err("no token field".to_owned()),
        Some(Value::String(s)) => Token::parse(s).map_err(|e| e.to_string())?,
        Some(_) => return Err("token field is not a string".to_owned()),
    };
    let two_factor_required = match map.get("two_factor_required") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        // Guessing could hand out a pending token as usable, or the reverse.
        Some(_) => return Err("two_factor_required is not a boolean".to_owned()),
    };
    Ok(LoginResponse {
        token,
        two_factor_required,
    })
}

/// Reads the hints of a setup response; never fails, since the vendor documents no body.
fn parse_two_factor_setup(map: &Map<String, Value>) -> TwoFactorSetup {
    let hint = |name: &str| match map.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Some(Secret::new(s.as_str())),
        _ => None,
    };
    let secret = hint("secret");
    let otpauth_url = hint("otpauth_url");
    // A revealed seed means a new enrolment has been offered: the account is not enrolled.
    let enrolled = if secret.is_some() || otpauth_url.is_some() {
        Some(false)
    } else {
        map.get("enabled").and_then(Value::as_bool)
    };
    TwoFactorSetup {
        enrolled,
        secret,
        otpauth_url,
    }
}

/// Every CERTIFICATE block of `pem`, each checked to be a usable trust anchor.
fn parse_ca_pem(pem: &str) -> Result<Vec<reqwest::Certificate>, ClientBuildError> {
    let mut certs = Vec::new();
    for (i, item) in CertificateDer::pem_slice_iter(pem.as_bytes()).enumerate() {
        let der = item.map_err(|e| ClientBuildError::CaPemInvalid {
            reason: pem_error_reason(&e).to_owned(),
        })?;
        let index = i + 1;
        webpki::anchor_from_trusted_cert(&der).map_err(|e| {
            ClientBuildError::CaCertificateInvalid {
                index,
                reason: e.to_string(),
            }
        })?;
        let cert = reqwest::Certificate::from_der(der.as_ref()).map_err(|e| {
            ClientBuildError::CaCertificateInvalid {
                index,
                reason: error_chain(&e),
            }
        })?;
        certs.push(cert);
    }
    if certs.is_empty() {
        return Err(ClientBuildError::CaPemNoCertificates);
    }
    Ok(certs)
}

/// Our own wording: the parser's would quote lines of the input.
fn pem_error_reason(e: &rustls_pki_types::pem::Error) -> &'static str {
    use rustls_pki_types::pem::Error;
    match e {
        Error::MissingSectionEnd { .. } => "a block has no -----END line",
        Error::IllegalSectionStart { .. } => "a -----BEGIN line is malformed",
        Error::Base64Decode(_) => "a block is not valid base64",
        Error::SectionTooLarge => "a block is too large",
        _ => "unreadable PEM",
    }
}

/// A short cause for a failed attempt. reqwest's own top-level message (which includes the URL) is
/// skipped; the innermost causes say what actually happened.
fn describe_transport_error(
    e: &reqwest::Error,
    timeout: Duration,
    reading_body: bool,
) -> TransportFailure {
    let not_sent = e.is_connect();
    let mut permanent = false;
    let cause = if e.is_timeout() {
        format!("timed out after {}", error::format_duration(timeout))
    } else if let Some(tls) = find_rustls_error(e) {
        // A certificate or protocol mismatch will be the same on the next attempt.
        permanent = true;
        let hint = match tls {
            rustls::Error::InvalidCertificate(_) => {
                " (if the server's certificate is issued by a private CA, set ca_cert_pem)"
            }
            _ => "",
        };
        format!("TLS handshake failed: {tls}{hint}")
    } else {
        let root = root_cause(e);
        if not_sent {
            format!("could not connect: {root}")
        } else if reading_body {
            format!("connection failed while reading the response: {root}")
        } else {
            format!("request failed: {root}")
        }
    };
    TransportFailure {
        cause,
        not_sent,
        permanent,
    }
}

fn find_rustls_error<'a>(e: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
    let mut current = Some(e);
    while let Some(err) = current {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        current = next_in_chain(err);
    }
    None
}

/// The next error of a chain. `io::Error::source()` skips the error it wraps (it returns the wrapped
/// error's source), so descend into it explicitly: that is where rustls errors sit.
fn next_in_chain<'a>(e: &'a (dyn StdError + 'static)) -> Option<&'a (dyn StdError + 'static)> {
    if let Some(inner) = e
        .downcast_ref::<std::io::Error>()
        .and_then(|io| io.get_ref())
    {
        let inner: &(dyn StdError + 'static) = inner;
        return Some(inner);
    }
    e.source()
}

/// The innermost error's message.
fn root_cause(e: &(dyn StdError + 'static)) -> String {
    let mut last = e;
    while let Some(next) = next_in_chain(last) {
        last = next;
    }
    last.to_string()
}

/// `a: b: c` of a whole chain, for build errors where every level adds information.
fn error_chain(e: &(dyn StdError + 'static)) -> String {
    let mut out = e.to_string();
    let mut current = e.source();
    while let Some(err) = current {
        let msg = err.to_string();
        if !out.contains(&msg) {
            out.push_str(": ");
            out.push_str(&msg);
        }
        current = err.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn login_bodies() {
        let ok = parse_login(&obj(json!({"token": "7|abc"}))).unwrap();
        assert_eq!(ok.token.id(), "7");
        assert!(!ok.two_factor_required);
        let ok = parse_login(&obj(json!({"token": "8|abc", "two_factor_required": true}))).unwrap();
        assert!(ok.two_factor_required);
        let ok = parse_login(&obj(json!({"token": "8|abc", "two_factor_required": null}))).unwrap();
        assert!(!ok.two_factor_required);
        let cases = [
            (json!({}), "no token field"),
            (json!({"token": null}), "no token field"),
            (json!({"token": 7}), "token field is not a string"),
            (
                json!({"token": "abc"}),
                "token not of the form <id>|<secret>",
            ),
            (
                json!({"token": "7|abc", "two_factor_required": "yes"}),
                "two_factor_required is not a boolean",
            ),
        ];
        for (body, want) in cases {
            let err = parse_login(&obj(body.clone())).unwrap_err();
            assert!(err.starts_with(want), "{body}: {err}");
            assert!(!err.contains("abc"), "{err}");
        }
    }

    #[test]
    fn two_factor_setup_bodies() {
        let s = parse_two_factor_setup(&obj(json!({
            "enabled": false, "secret": "JBSWY3DP", "otpauth_url": "otpauth://totp/x?secret=JBSWY3DP"
        })));
        assert_eq!(s.enrolled, Some(false));
        assert_eq!(s.secret.unwrap().expose(), "JBSWY3DP");
        assert!(s.otpauth_url.is_some());
        let s = parse_two_factor_setup(&obj(json!({"enabled": true, "message": "m"})));
        assert!(s.enrolled == Some(true) && s.secret.is_none() && s.otpauth_url.is_none());
        // A revealed secret wins over a contradicting `enabled`.
        let s = parse_two_factor_setup(&obj(json!({"enabled": true, "secret": "JBSWY3DP"})));
        assert_eq!(s.enrolled, Some(false));
        // Bodies the vendor page allows (it shows none): no hint, no error.
        for body in [
            json!({}),
            json!({"message": "Two-factor authentication enabled."}),
            json!({"enabled": "no", "secret": 5, "otpauth_url": ""}),
        ] {
            let s = parse_two_factor_setup(&obj(body.clone()));
            assert!(
                s.enrolled.is_none() && s.secret.is_none() && s.otpauth_url.is_none(),
                "{body}"
            );
        }
    }

    #[test]
    fn bearer_headers_are_sensitive() {
        let v = bearer_header(&Secret::new("7|abc")).unwrap();
        assert!(v.is_sensitive());
        assert_eq!(v.to_str().unwrap(), "Bearer 7|abc");
        assert!(!format!("{v:?}").contains("abc"));
        assert!(bearer_header(&Secret::new("")).is_none());
        assert!(bearer_header(&Secret::new("7|a b")).is_none());
        assert!(bearer_header(&Secret::new("7|a\nb")).is_none());
    }

    fn config() -> ClientConfig {
        ClientConfig::new(ApiDomain::parse("https://api.example.com").unwrap())
    }

    #[test]
    fn rejects_bad_client_configs() {
        let mut c = config();
        c.request_timeout = Duration::ZERO;
        assert!(matches!(Client::new(c), Err(ClientBuildError::ZeroTimeout)));
        let mut c = config();
        c.user_agent = "ua\n".into();
        assert!(matches!(
            Client::new(c),
            Err(ClientBuildError::InvalidUserAgent)
        ));
        for pem in [
            "",
            "not a pem",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        ] {
            let mut c = config();
            c.ca_cert_pem = Some(pem.into());
            let e = Client::new(c).unwrap_err();
            assert!(
                matches!(e, ClientBuildError::CaPemNoCertificates),
                "{pem:?}: {e}"
            );
        }
        let mut c = config();
        c.ca_cert_pem = Some("-----BEGIN CERTIFICATE-----\nAAAA\n".into());
        let e = Client::new(c).unwrap_err();
        assert!(matches!(e, ClientBuildError::CaPemInvalid { .. }), "{e}");
        let mut c = config();
        c.ca_cert_pem =
            Some("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".into());
        let e = Client::new(c).unwrap_err();
        assert!(
            matches!(e, ClientBuildError::CaCertificateInvalid { index: 1, .. }),
            "{e}"
        );
        assert!(e.to_string().contains("certificate #1"), "{e}");
    }

    #[test]
    fn accepts_a_ca_bundle() {
        let a = rcgen::generate_simple_self_signed(vec!["a.example".into()]).unwrap();
        let b = rcgen::generate_simple_self_signed(vec!["b.example".into()]).unwrap();
        let bundle = format!("{}\n{}", a.cert.pem(), b.cert.pem());
        assert_eq!(parse_ca_pem(&bundle).unwrap().len(), 2);
        let mut c = config();
        c.ca_cert_pem = Some(bundle);
        Client::new(c).unwrap();
        // A good certificate followed by garbage is still an error, naming the bad one.
        let bad = format!(
            "{}-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            a.cert.pem()
        );
        assert!(matches!(
            parse_ca_pem(&bad),
            Err(ClientBuildError::CaCertificateInvalid { index: 2, .. })
        ));
    }

    #[test]
    fn client_debug_shows_no_secrets() {
        let client = Client::new(config()).unwrap();
        assert_eq!(
            format!("{client:?}"),
            r#"Client { api_domain: ApiDomain("https://api.example.com"), .. }"#
        );
        assert_eq!(client.api_domain().as_str(), "https://api.example.com");
    }
}
