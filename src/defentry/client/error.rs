//! Errors of the Defentry client. Every message is a sentence saying what happened and what to do, naming
//! the host or user where useful and never a secret or a response body.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use crate::defentry::time::duration::format_duration;

/// A failed Defentry API call.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 401 at login: wrong username or password (never retried).
    #[error("Defentry rejected the login of user \"{username}\" (HTTP 401): the username or password is wrong; check the credentials configured for this account")]
    InvalidCredentials {
        /// The username that was tried.
        username: String,
    },
    /// 401 on a token-authenticated call.
    #[error("Defentry rejected the token (HTTP 401): it has expired, been revoked or was never valid; log in again to get a new token")]
    Unauthenticated,
    /// 403.
    #[error("Defentry refused the request (HTTP 403): {message}{hint}", hint = forbidden_hint(.message))]
    Forbidden {
        /// The server's message, e.g. "Two-factor authentication required.".
        message: String,
    },
    /// 422 (never retried).
    #[error("Defentry rejected the request as invalid (HTTP 422): {message}{details}", details = field_details(.fields))]
    Validation {
        /// The server's summary message.
        message: String,
        /// The server's messages per request field.
        fields: BTreeMap<String, Vec<String>>,
    },
    /// The CRM's rate limit did not let the call through within the time allowed for waiting.
    #[error("Defentry at {host} is rate limiting requests (HTTP 429, too many requests for this account or address per minute) and the call had waited {waited} of the {timeout} allowed by rate_limit_timeout{wait}", waited = format_duration(*.waited), timeout = format_duration(*.timeout), wait = retry_after_note(.retry_after))]
    RateLimited {
        /// API host.
        host: String,
        /// Time the call (and its operation) had already waited for the rate limit.
        waited: Duration,
        /// The time budget for such waits (`rate_limit_timeout`).
        timeout: Duration,
        /// The wait still needed, as the server asked, if known.
        retry_after: Option<Duration>,
    },
    /// 5xx on the last attempt (502/503/504 retried, others not).
    #[error("Defentry at {host} answered with a server error (HTTP {status}) after {attempts} attempt(s): the service is failing or unavailable; try again later")]
    Server {
        /// API host.
        host: String,
        /// HTTP status.
        status: u16,
        /// Attempts made.
        attempts: u32,
    },
    /// Any other status (3xx, 404, 405, ...).
    #[error("Defentry at {host} answered with unexpected HTTP status {status}: {hint}", hint = unexpected_status_hint(*.status))]
    UnexpectedStatus {
        /// API host.
        host: String,
        /// HTTP status.
        status: u16,
    },
    /// No usable HTTP response: DNS, connection refused, TLS, timeout, connection reset.
    #[error("could not reach Defentry at {host} after {attempts} attempt(s): {cause}; check api_domain, the network path to the host and its TLS certificate")]
    Transport {
        /// API host.
        host: String,
        /// What failed, e.g. "timed out after 30s".
        cause: String,
        /// Attempts made.
        attempts: u32,
    },
    /// A response of the expected status whose body is not what the API sends.
    #[error("Defentry at {host} sent an unexpected response (HTTP {status}): {reason}; check that api_domain points at the Defentry API and not at a proxy or web page")]
    UnexpectedResponse {
        /// API host.
        host: String,
        /// HTTP status.
        status: u16,
        /// What was wrong, e.g. "not JSON (text/html)"; never the body itself.
        reason: String,
    },
    /// A stop request ended the call before another attempt was sent (see `stoppable`).
    #[error("the request to Defentry was cancelled")]
    Cancelled,
}

impl ApiError {
    /// Whether the same call might succeed if repeated later (transient network or server trouble).
    pub fn is_retryable(&self) -> bool {
        match self {
            ApiError::Transport { .. } | ApiError::RateLimited { .. } => true,
            ApiError::Server { status, .. } => matches!(status, 502..=504),
            _ => false,
        }
    }
}

fn forbidden_hint(message: &str) -> &'static str {
    if message.to_ascii_lowercase().contains("two-factor") {
        " (the login is pending two-factor verification: verify it with a TOTP code first)"
    } else {
        " (the account lacks permission for this operation)"
    }
}

fn field_details(fields: &BTreeMap<String, Vec<String>>) -> String {
    let mut out = String::new();
    for (i, (field, messages)) in fields.iter().enumerate() {
        out.push_str(if i == 0 { " [" } else { "; " });
        let _ = write!(out, "{field}: {}", messages.join(" "));
    }
    if !out.is_empty() {
        out.push(']');
    }
    out
}

fn retry_after_note(retry_after: &Option<Duration>) -> String {
    match retry_after {
        Some(d) => format!("; it asked to wait {} more", format_duration(*d)),
        None => String::new(),
    }
}

fn unexpected_status_hint(status: u16) -> &'static str {
    match status {
        300..=399 => "the API redirected, which the client does not follow; set api_domain to the final URL of the API (https, correct host and path prefix)",
        404 | 405 => "the endpoint does not exist there; check api_domain, including any path prefix",
        _ => "check api_domain and whether the Defentry API version matches this provider",
    }
}

/// A [`super::Client`] could not be built from its configuration.
#[derive(Debug, thiserror::Error)]
pub enum ClientBuildError {
    /// `ca_cert_pem` is not parseable PEM.
    #[error("ca_cert_pem is not valid PEM ({reason}): give one or more -----BEGIN CERTIFICATE----- blocks")]
    CaPemInvalid {
        /// What is malformed.
        reason: String,
    },
    /// `ca_cert_pem` holds no CERTIFICATE block.
    #[error("ca_cert_pem contains no certificate: give one or more -----BEGIN CERTIFICATE----- blocks (keys and other PEM blocks are ignored)")]
    CaPemNoCertificates,
    /// A CERTIFICATE block is not a usable X.509 trust anchor.
    #[error("certificate #{index} in ca_cert_pem is not a valid X.509 certificate ({reason})")]
    CaCertificateInvalid {
        /// 1-based position among the CERTIFICATE blocks.
        index: usize,
        /// The parser's complaint.
        reason: String,
    },
    /// `user_agent` cannot be a header value.
    #[error("user_agent contains characters not allowed in an HTTP header (control characters or non-ASCII)")]
    InvalidUserAgent,
    /// `request_timeout` is zero.
    #[error("request_timeout must be greater than zero")]
    ZeroTimeout,
    /// The HTTP/TLS stack refused the configuration (e.g. no system CA certificates and no ca_cert_pem).
    #[error("could not initialise the HTTPS client: {cause}")]
    Http {
        /// The underlying error chain.
        cause: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_actionable() {
        let e = ApiError::InvalidCredentials {
            username: "svc@partner.com".into(),
        };
        assert!(e.to_string().contains("\"svc@partner.com\""));
        let mut fields = BTreeMap::new();
        fields.insert("password".to_string(), vec!["Too short.".to_string()]);
        fields.insert(
            "token".to_string(),
            vec!["Invalid.".to_string(), "Expired.".to_string()],
        );
        let e = ApiError::Validation {
            message: "The given data was invalid.".into(),
            fields,
        };
        assert_eq!(
            e.to_string(),
            "Defentry rejected the request as invalid (HTTP 422): The given data was invalid. [password: Too short.; token: Invalid. Expired.]"
        );
        let e = ApiError::Server {
            host: "api.example.com".into(),
            status: 503,
            attempts: 5,
        };
        let s = e.to_string();
        assert!(
            s.contains("api.example.com") && s.contains("503") && s.contains("5 attempt"),
            "{s}"
        );
        assert!(e.is_retryable());
        let e = ApiError::Transport {
            host: "127.0.0.1:9".into(),
            cause: "timed out after 30s".into(),
            attempts: 1,
        };
        assert!(e
            .to_string()
            .contains("127.0.0.1:9 after 1 attempt(s): timed out after 30s"));
        let e = ApiError::RateLimited {
            host: "h".into(),
            waited: Duration::from_secs(540),
            timeout: Duration::from_secs(600),
            retry_after: Some(Duration::from_secs(60)),
        };
        let s = e.to_string();
        let missing: Vec<&str> = [
            "HTTP 429",
            "waited 9m of the 10m allowed by rate_limit_timeout",
            "it asked to wait 1m more",
        ]
        .into_iter()
        .filter(|part| !s.contains(part))
        .collect();
        assert!(missing.is_empty(), "{missing:?} not in {s}");
        assert!(e.is_retryable());
        let e = ApiError::Forbidden {
            message: "Two-factor authentication required.".into(),
        };
        assert!(e.to_string().contains("verify it with a TOTP code"), "{e}");
        assert!(!e.is_retryable());
        let e = ApiError::UnexpectedStatus {
            host: "h".into(),
            status: 404,
        };
        assert!(e.to_string().contains("path prefix"), "{e}");
        assert!(!ApiError::Server {
            host: "h".into(),
            status: 500,
            attempts: 1
        }
        .is_retryable());
    }
}
