//! HTTP client for the Defentry CRM API: the front door. [`Client`] and its six endpoint
//! methods live here; the rooms behind it each have one job:
//! - [`transport`]: one attempt (capped body read, transport errors described);
//! - [`retry`]: the retry loop and its policy, `Retry-After` and `X-RateLimit-*`;
//! - [`limiter`]: one process-wide limiter per CRM rate-limit bucket;
//! - [`parse`]: response bodies (login, 2FA setup, messages, Laravel errors);
//! - [`ca`]: extra trusted CA roots; [`call`]: the per-operation [`CallCtx`].
//!
//! One [`Client`] holds one pooled `reqwest` client (rustls on aws-lc-rs, certificate verification
//! always on). Every call takes a [`CallCtx`]: its stop request ends waits at once (an attempt
//! already sent is finished, as the server may have acted on it), and it records what the call
//! waited. Errors are typed [`ApiError`]s naming the host and the cause, never a secret or a
//! response body. Each attempt runs in a `defentry_request` tracing span with method, path,
//! attempt, status and latency_ms; bodies, headers and tokens are never logged.

mod ca;
mod call;
mod config;
mod error;
mod headers;
mod limiter;
mod models;
mod parse;
mod retry;
mod secret;
mod transport;

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT};
use serde_json::{json, Value};

use crate::sdk::errors::chain_text;

pub use call::{CallCtx, Waited};
pub use config::{ApiDomain, ApiDomainError, ClientConfig};
pub use error::{ApiError, ClientBuildError};
pub use models::{LoginResponse, LogoutOutcome, Token, TokenFormatError, TwoFactorSetup};
pub use secret::Secret;

use parse::{parse_login, parse_two_factor_setup, RawResponse};
use transport::Call;

// The endpoint paths of the onboarding page; public so tests name them instead of retyping.
pub const LOGIN: &str = "/api/v1/crm/auth/login";
pub const LOGOUT: &str = "/api/v1/crm/logout";
pub const TWO_FACTOR_SETUP: &str = "/api/v1/2fa/setup";
pub const TWO_FACTOR_VERIFY: &str = "/api/v1/2fa/verify";
pub const PASSWORD_FORGOT: &str = "/api/v1/crm/auth/password/forgot";
pub const PASSWORD_RESET: &str = "/api/v1/crm/auth/password/reset";
/// How long an unused pooled connection is kept.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(15);

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
            Some(pem) => ca::parse_ca_pem(pem)?,
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
            cause: chain_text(&e),
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
    /// Counted in the server's per-IP window (see [`limiter`]).
    pub async fn login(
        &self,
        cx: &CallCtx,
        username: &str,
        password: &Secret,
        keep_logged: bool,
    ) -> Result<LoginResponse, ApiError> {
        let body = json!({
            "username": username,
            "password": password.expose(),
            "keep_logged": keep_logged,
        });
        let resp = self.execute(cx, Call::new(LOGIN, None).json(&body)).await?;
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
    pub async fn logout(&self, cx: &CallCtx, token: &Secret) -> Result<LogoutOutcome, ApiError> {
        let resp = match self.execute(cx, Call::new(LOGOUT, Some(token))).await {
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
    pub async fn two_factor_setup(
        &self,
        cx: &CallCtx,
        token: &Secret,
    ) -> Result<TwoFactorSetup, ApiError> {
        let resp = self
            .execute(cx, Call::new(TWO_FACTOR_SETUP, Some(token)))
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
    pub async fn two_factor_verify(
        &self,
        cx: &CallCtx,
        token: &Secret,
        code: &Secret,
    ) -> Result<(), ApiError> {
        let body = json!({ "code": code.expose() });
        // A replayed code may be refused after the first attempt succeeded unseen.
        let resp = self
            .execute(
                cx,
                Call::new(TWO_FACTOR_VERIFY, Some(token))
                    .json(&body)
                    .unsafe_to_replay(),
            )
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
    pub async fn password_forgot(&self, cx: &CallCtx, email: &str) -> Result<String, ApiError> {
        let body = json!({ "email": email });
        let resp = self
            .execute(cx, Call::new(PASSWORD_FORGOT, None).json(&body))
            .await?;
        self.message_result(&resp, "Password reset link requested.")
    }

    /// `POST /api/v1/crm/auth/password/reset` with the emailed single-use token; the confirmation sent is
    /// `password` itself. Returns the server's message.
    pub async fn password_reset(
        &self,
        cx: &CallCtx,
        reset_token: &Secret,
        password: &Secret,
    ) -> Result<String, ApiError> {
        let body = json!({
            "token": reset_token.expose(),
            "password": password.expose(),
            "password_confirmation": password.expose(),
        });
        // The reset token is single-use: a blind replay would report "invalid token" for a reset
        // that in fact succeeded.
        let resp = self
            .execute(
                cx,
                Call::new(PASSWORD_RESET, None)
                    .json(&body)
                    .unsafe_to_replay(),
            )
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

    async fn execute(&self, cx: &CallCtx, call: Call<'_>) -> Result<RawResponse, ApiError> {
        retry::execute(&self.inner.http, &self.inner.config, cx, call).await
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
            500..=599 => ApiError::Server {
                host,
                status: resp.status,
                attempts: resp.attempts,
            },
            status => ApiError::UnexpectedStatus { host, status },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let mut c = config();
        c.ca_cert_pem = Some(bundle);
        Client::new(c).unwrap();
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
