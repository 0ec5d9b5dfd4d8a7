//! Client configuration: the validated API base URL and the transport knobs.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use url::{Host, Url};

/// The validated base URL of a Defentry API, e.g. `https://api.example.com` or `https://gw.example.com/defentry`.
///
/// Absolute `http(s)` URL; `https` unless the host is loopback (127.0.0.0/8, `::1`, `localhost`); no
/// userinfo, query or fragment. A path prefix is kept and endpoints are joined under it; trailing slashes
/// are irrelevant. [`ApiDomain::as_str`] is the normalised form without a trailing slash.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiDomain {
    url: Url,
    /// Path prefix without trailing slash; "" at the root.
    prefix: String,
    normalized: String,
}

/// Why a string is not a usable API domain. Messages never repeat the input (it might hold credentials).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiDomainError {
    /// Empty or blank.
    #[error("api_domain is empty: set it to the Defentry API base URL assigned by your account manager, e.g. https://api.example.com")]
    Empty,
    /// Not an absolute URL.
    #[error("api_domain is not a valid absolute URL ({reason}): write it with its scheme, e.g. https://api.example.com")]
    NotAUrl {
        /// The URL parser's complaint.
        reason: String,
    },
    /// Not http or https (often a missing scheme, e.g. `localhost:8080`).
    #[error("api_domain must start with https:// (or http:// for a loopback host such as 127.0.0.1 or localhost)")]
    UnsupportedScheme,
    /// No host part.
    #[error("api_domain has no host: write it as https://HOST[:PORT][/PREFIX]")]
    MissingHost,
    /// Plain http to a non-loopback host.
    #[error("api_domain uses plain http:// for {host}, which would send passwords and tokens unencrypted: use https:// (http:// is only accepted for loopback hosts: 127.0.0.0/8, ::1 and localhost)")]
    InsecureScheme {
        /// The offending host.
        host: String,
    },
    /// `user:pass@` present.
    #[error("api_domain must not contain a username or password (user:pass@host): give only https://HOST[:PORT][/PREFIX]; credentials are configured separately")]
    HasUserinfo,
    /// `?query` present.
    #[error(
        "api_domain must not contain a query string (?...): give only https://HOST[:PORT][/PREFIX]"
    )]
    HasQuery,
    /// `#fragment` present.
    #[error(
        "api_domain must not contain a fragment (#...): give only https://HOST[:PORT][/PREFIX]"
    )]
    HasFragment,
}

impl ApiDomain {
    /// Validates and normalises an API base URL.
    pub fn parse(s: &str) -> Result<ApiDomain, ApiDomainError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(ApiDomainError::Empty);
        }
        let url = Url::parse(s).map_err(|e| ApiDomainError::NotAUrl {
            reason: e.to_string(),
        })?;
        if url.scheme() != "https" && url.scheme() != "http" {
            return Err(ApiDomainError::UnsupportedScheme);
        }
        // Checked before anything that might print the host, and never printed itself.
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ApiDomainError::HasUserinfo);
        }
        let host = url.host().ok_or(ApiDomainError::MissingHost)?;
        if host_is_empty(&host) {
            return Err(ApiDomainError::MissingHost);
        }
        if url.query().is_some() {
            return Err(ApiDomainError::HasQuery);
        }
        if url.fragment().is_some() {
            return Err(ApiDomainError::HasFragment);
        }
        if url.scheme() == "http" && !is_loopback(&host) {
            return Err(ApiDomainError::InsecureScheme {
                host: host_port(&url),
            });
        }
        let prefix = url.path().trim_end_matches('/').to_owned();
        let normalized = format!("{}{}", url.origin().ascii_serialization(), prefix);
        let mut url = url;
        url.set_path(if prefix.is_empty() { "/" } else { &prefix });
        Ok(ApiDomain {
            url,
            prefix,
            normalized,
        })
    }

    /// Host and, when not the scheme's default, port: `api.example.com`, `127.0.0.1:41234`, `[::1]:8080`.
    pub fn host(&self) -> String {
        host_port(&self.url)
    }

    /// The normalised base URL, without trailing slash.
    pub fn as_str(&self) -> &str {
        &self.normalized
    }

    /// Plain http (only ever a loopback host).
    pub(crate) fn is_plain_http(&self) -> bool {
        self.url.scheme() == "http"
    }

    /// `endpoint` (starting with '/') joined under the path prefix.
    pub(crate) fn endpoint(&self, endpoint: &str) -> Url {
        let mut url = self.url.clone();
        url.set_path(&format!("{}{}", self.prefix, endpoint));
        url
    }
}

fn host_is_empty(host: &Host<&str>) -> bool {
    matches!(host, Host::Domain(d) if d.is_empty())
}

fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(d) => {
            d.eq_ignore_ascii_case("localhost") || d.eq_ignore_ascii_case("localhost.")
        }
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => ip.is_loopback(),
    }
}

fn host_port(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

impl fmt::Display for ApiDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.normalized)
    }
}

impl fmt::Debug for ApiDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ApiDomain").field(&self.normalized).finish()
    }
}

impl FromStr for ApiDomain {
    type Err = ApiDomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ApiDomain::parse(s)
    }
}

/// Everything a [`super::Client`] needs. Build with [`ClientConfig::new`] and adjust fields.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Base URL of the API.
    pub api_domain: ApiDomain,
    /// Timeout of one attempt: connect, send, and read the whole response.
    pub request_timeout: Duration,
    /// Retries after a network failure or a server error (502, 503, 504) before giving up.
    pub max_retries: u32,
    /// How long the calls of one operation may wait, in total, for the CRM's rate limit (429,
    /// a spent window) before giving up. Such waits do not count against `max_retries`. A 503
    /// asking for a longer wait than this is not waited for.
    pub rate_limit_timeout: Duration,
    /// Extra trusted CA certificate(s), PEM; added to the system roots (verification stays on).
    pub ca_cert_pem: Option<String>,
    /// `User-Agent` header.
    pub user_agent: String,
    /// Backoff base: retry n waits a random time in `[0, min(retry_max_delay, base * 2^n)]`.
    pub retry_base_delay: Duration,
    /// Longest backoff between attempts after a failure. A server's `Retry-After` is never capped.
    pub retry_max_delay: Duration,
}

impl ClientConfig {
    /// Defaults: 30 s timeout, 4 retries, 10 minutes for rate limits, system roots only,
    /// `terraform-provider-defentry/<version>`, 250 ms backoff base, 30 s maximum backoff.
    pub fn new(api_domain: ApiDomain) -> Self {
        Self {
            api_domain,
            request_timeout: Duration::from_secs(30),
            max_retries: 4,
            rate_limit_timeout: Duration::from_secs(600),
            ca_cert_pem: None,
            user_agent: format!("terraform-provider-defentry/{}", env!("CARGO_PKG_VERSION")),
            retry_base_delay: Duration::from_millis(250),
            retry_max_delay: Duration::from_secs(30),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> ApiDomain {
        ApiDomain::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn accepts_and_normalises() {
        let cases = [
            (
                "https://api.example.com",
                "https://api.example.com",
                "api.example.com",
            ),
            (
                "https://api.example.com/",
                "https://api.example.com",
                "api.example.com",
            ),
            (
                "  https://API.Example.com  ",
                "https://api.example.com",
                "api.example.com",
            ),
            (
                "https://api.example.com:443/",
                "https://api.example.com",
                "api.example.com",
            ),
            (
                "https://api.example.com:8443",
                "https://api.example.com:8443",
                "api.example.com:8443",
            ),
            (
                "https://gw.example.com/defentry",
                "https://gw.example.com/defentry",
                "gw.example.com",
            ),
            (
                "https://gw.example.com/defentry//",
                "https://gw.example.com/defentry",
                "gw.example.com",
            ),
            (
                "https://gw.example.com/a/b/",
                "https://gw.example.com/a/b",
                "gw.example.com",
            ),
            (
                "http://127.0.0.1:41234",
                "http://127.0.0.1:41234",
                "127.0.0.1:41234",
            ),
            ("http://127.1.2.3", "http://127.1.2.3", "127.1.2.3"),
            (
                "http://localhost:8080/",
                "http://localhost:8080",
                "localhost:8080",
            ),
            ("http://LOCALHOST", "http://localhost", "localhost"),
            ("http://[::1]:8080", "http://[::1]:8080", "[::1]:8080"),
            ("https://10.0.0.1", "https://10.0.0.1", "10.0.0.1"),
        ];
        for (input, normalized, host) in cases {
            let d = ok(input);
            assert_eq!(d.as_str(), normalized, "{input}");
            assert_eq!(d.to_string(), normalized, "{input}");
            assert_eq!(d.host(), host, "{input}");
        }
        assert_eq!(ok("https://a.example.com/"), ok("https://a.example.com"));
    }

    #[test]
    fn joins_endpoints_under_the_prefix() {
        let login = "/api/v1/crm/auth/login";
        for (input, want) in [
            (
                "https://api.example.com",
                "https://api.example.com/api/v1/crm/auth/login",
            ),
            (
                "https://api.example.com/",
                "https://api.example.com/api/v1/crm/auth/login",
            ),
            (
                "https://gw.example.com/def",
                "https://gw.example.com/def/api/v1/crm/auth/login",
            ),
            (
                "https://gw.example.com/def/",
                "https://gw.example.com/def/api/v1/crm/auth/login",
            ),
            (
                "https://gw.example.com/a%20b/",
                "https://gw.example.com/a%20b/api/v1/crm/auth/login",
            ),
            (
                "http://127.0.0.1:9/x",
                "http://127.0.0.1:9/x/api/v1/crm/auth/login",
            ),
        ] {
            assert_eq!(ok(input).endpoint(login).as_str(), want, "{input}");
        }
    }

    #[test]
    fn rejects_bad_domains() {
        use ApiDomainError::*;
        let cases: &[(&str, ApiDomainError)] = &[
            ("", Empty),
            ("   ", Empty),
            ("ftp://api.example.com", UnsupportedScheme),
            ("localhost:8080", UnsupportedScheme),
            ("file:///etc/passwd", UnsupportedScheme),
            ("https://user:pw@api.example.com", HasUserinfo),
            ("https://user@api.example.com", HasUserinfo),
            ("http://user:pw@api.example.com", HasUserinfo),
            ("https://api.example.com/?a=1", HasQuery),
            ("https://api.example.com?", HasQuery),
            ("https://api.example.com/#frag", HasFragment),
            ("https://api.example.com#", HasFragment),
            (
                "http://api.example.com",
                InsecureScheme {
                    host: "api.example.com".into(),
                },
            ),
            (
                "http://10.0.0.1:8080",
                InsecureScheme {
                    host: "10.0.0.1:8080".into(),
                },
            ),
            (
                "http://[::ffff:127.0.0.1]",
                InsecureScheme {
                    host: "[::ffff:7f00:1]".into(),
                },
            ),
            (
                "http://localhost.example.com",
                InsecureScheme {
                    host: "localhost.example.com".into(),
                },
            ),
            (
                "http://128.0.0.1",
                InsecureScheme {
                    host: "128.0.0.1".into(),
                },
            ),
        ];
        for (input, want) in cases {
            assert_eq!(&ApiDomain::parse(input).unwrap_err(), want, "{input}");
        }
        for input in [
            "api.example.com",
            "/relative",
            "https://",
            "https://exa mple.com",
        ] {
            assert!(
                matches!(ApiDomain::parse(input), Err(NotAUrl { .. })),
                "{input}: {:?}",
                ApiDomain::parse(input)
            );
        }
    }

    #[test]
    fn error_messages_never_echo_credentials() {
        let e = ApiDomain::parse("https://admin:hunter2@api.example.com").unwrap_err();
        let msg = e.to_string();
        assert!(!msg.contains("hunter2") && !msg.contains("admin"), "{msg}");
        assert!(msg.contains("username or password"), "{msg}");
        let e = ApiDomain::parse("http://admin:hunter2@api.example.com").unwrap_err();
        assert!(!e.to_string().contains("hunter2"));
    }

    #[test]
    fn defaults() {
        let c = ClientConfig::new(ok("https://api.example.com"));
        assert_eq!(c.request_timeout, Duration::from_secs(30));
        assert_eq!(c.max_retries, 4);
        assert_eq!(c.rate_limit_timeout, Duration::from_secs(600));
        assert!(c.ca_cert_pem.is_none());
        assert!(c.user_agent.starts_with("terraform-provider-defentry/"));
        assert_eq!(c.retry_base_delay, Duration::from_millis(250));
        assert_eq!(c.retry_max_delay, Duration::from_secs(30));
    }
}
