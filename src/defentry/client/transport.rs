//! One attempt: send the request, read the status, the rate-limit headers and (capped) the
//! body, or describe why there is no response.

use std::time::{Duration, Instant, SystemTime};

use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};

use crate::sdk::errors::{causes, root_cause};

use super::headers::{read_retry_after, RateHeaders};
use super::parse::{content_type_essence, RawResponse, MAX_BODY_BYTES};
use super::secret::Secret;
use crate::defentry::time::duration::format_duration;

/// Whether repeating a request the server may already have processed is harmless.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Replay {
    /// Repeating is harmless (login issues another token, logout is idempotent, setup replaces its secret,
    /// forgot sends another mail): every retryable failure is retried.
    Safe,
    /// Repeating could turn a success into a misleading error (a single-use reset token, a 2FA code):
    /// retried only when the server certainly did not act: connection not established, 429 or 503.
    Unsafe,
}

/// One API call as the retry loop sees it.
pub(super) struct Call<'a> {
    pub endpoint: &'static str,
    /// Serialised JSON; may hold secrets, so it only ever goes on the wire.
    pub body: Option<Vec<u8>>,
    pub bearer: Option<&'a Secret>,
    pub replay: Replay,
}

impl<'a> Call<'a> {
    /// A call without a body that may be repeated blindly ([`Replay::Safe`]).
    pub fn new(endpoint: &'static str, bearer: Option<&'a Secret>) -> Self {
        Call {
            endpoint,
            body: None,
            bearer,
            replay: Replay::Safe,
        }
    }

    /// The same call with `body` sent as JSON.
    pub fn json(self, body: &serde_json::Value) -> Self {
        Call {
            body: Some(body.to_string().into_bytes()),
            ..self
        }
    }

    /// The same call, never repeated blindly ([`Replay::Unsafe`]).
    pub fn unsafe_to_replay(self) -> Self {
        Call {
            replay: Replay::Unsafe,
            ..self
        }
    }
}

/// An attempt that produced no usable HTTP response.
pub(super) struct TransportFailure {
    pub cause: String,
    /// The connection was never established, so the server cannot have acted on the request.
    pub not_sent: bool,
    /// Repeating cannot help (a TLS verification failure).
    pub permanent: bool,
}

/// Sends one attempt (run inside its `defentry_request` span). The body is read, up to
/// [`MAX_BODY_BYTES`], unless `skip_body(status)` says the response will be retried anyway.
pub(super) async fn send(
    http: &reqwest::Client,
    url: &url::Url,
    call: &Call<'_>,
    auth: Option<&HeaderValue>,
    timeout: Duration,
    skip_body: impl Fn(u16) -> bool,
) -> Result<RawResponse, TransportFailure> {
    let started = Instant::now();
    let mut req = http.post(url.clone()).timeout(timeout);
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
            tracing::Span::current().record("status", status);
            let now = SystemTime::now();
            let headers = response.headers();
            let retry_after = read_retry_after(headers, now);
            let rate = RateHeaders::read(headers, now);
            let content_type = headers
                .get(CONTENT_TYPE)
                .map(|v| content_type_essence(v.as_bytes()));
            let body = if skip_body(status) {
                Ok(None)
            } else {
                read_capped(&mut response).await
            };
            body.map(|body| RawResponse {
                status,
                content_type,
                body,
                retry_after,
                rate,
                attempts: 1,
            })
            .map_err(|e| describe(&e, timeout, true))
        }
        Err(e) => Err(describe(&e, timeout, false)),
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
pub(super) fn bearer_header(token: &Secret) -> Option<HeaderValue> {
    let raw = token.expose();
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    let mut value = HeaderValue::from_str(&format!("Bearer {raw}")).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// A short cause for a failed attempt. reqwest's own top-level message (which includes the URL) is
/// skipped; the innermost causes say what actually happened.
fn describe(e: &reqwest::Error, timeout: Duration, reading_body: bool) -> TransportFailure {
    let not_sent = e.is_connect();
    let mut permanent = false;
    let tls = causes(e).find_map(|c| c.downcast_ref::<rustls::Error>());
    let cause = if e.is_timeout() {
        format!("timed out after {}", format_duration(timeout))
    } else if let Some(tls) = tls {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
