//! The middleware: [`observe`] around every route applies injected faults, records the request
//! log and writes the access log (method, path, status, latency; never bodies or headers);
//! [`throttle`] around the `/api/v1` routes is Laravel's `throttle:api`.

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::handlers::bearer;
use super::limiter::Decision;
use super::state::MockState;

/// The client's address, put in each request's extensions by the connection loop.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

const LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
const REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
const RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");

/// Laravel's `throttle:api` (see [`super::limiter`]): a refused request is answered 429
/// `{"message": "Too Many Attempts."}` with `Retry-After`, `X-RateLimit-Reset`, `-Limit` and
/// `-Remaining: 0` and never reaches the handler; any other answer carries `X-RateLimit-Limit`
/// and `-Remaining`. Nothing is added while the limit is off.
pub async fn throttle(State(state): State<MockState>, request: Request, next: Next) -> Response {
    let ip = request.extensions().get::<PeerAddr>().map(|p| p.0.ip());
    let token = bearer(request.headers()).map(str::to_owned);
    let decision = state.with_store(|store| store.throttle(token.as_deref(), ip));
    match decision {
        None => next.run(request).await,
        Some(Decision::Allowed { limit, remaining }) => {
            let mut response = next.run(request).await;
            let headers = response.headers_mut();
            headers.insert(LIMIT, HeaderValue::from(limit));
            headers.insert(REMAINING, HeaderValue::from(remaining));
            response
        }
        Some(Decision::Throttled {
            limit,
            retry_after_secs,
            reset_at,
        }) => {
            // Laravel's ThrottleRequestsException: the 429 with Retry-After, plus its headers.
            let mut response = ApiError::TooManyAttempts { retry_after_secs }.into_response();
            let headers = response.headers_mut();
            headers.insert(RESET, HeaderValue::from(reset_at));
            headers.insert(LIMIT, HeaderValue::from(limit));
            headers.insert(REMAINING, HeaderValue::from(0u32));
            response
        }
    }
}

/// Inspection and control endpoints: never faulted, never recorded, so tests can always
/// observe the mock. `/_mock/whoami` is not one of them: it stands in for a CRM call.
pub fn is_control_path(path: &str) -> bool {
    path.starts_with("/_mock/") && path != "/_mock/whoami"
}

/// See the module docs.
pub async fn observe(State(state): State<MockState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let control = is_control_path(&path);
    // Take the fault under the lock, then release it before any await.
    let fault = if control {
        None
    } else {
        state.with_store(|store| store.faults.take(&method, &path))
    };
    let faulted = fault.is_some();
    let handle = async move {
        match fault {
            Some(fault) => {
                if fault.delay_ms > 0 {
                    tokio::time::sleep(fault.delay()).await;
                }
                match fault.response() {
                    Some(response) => response,
                    None => next.run(request).await,
                }
            }
            None => next.run(request).await,
        }
    };
    // Like a real server, a request that arrived is processed to the end even if the client
    // hangs up meanwhile (a login still creates its session), so tests see what a client
    // that abandons requests would leak.
    let response = match tokio::spawn(handle).await {
        Ok(response) => response,
        Err(e) => {
            tracing::error!(error = %e, "request handler failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    };
    let status = response.status().as_u16();
    if !control {
        state.with_store(|store| store.record_request(&method, &path, status));
    }
    tracing::info!(
        method = %method,
        path = %path,
        status,
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        faulted,
        "request"
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_paths() {
        assert!(is_control_path("/_mock/sessions"));
        assert!(is_control_path("/_mock/faults"));
        assert!(!is_control_path("/_mock/whoami"));
        assert!(!is_control_path("/api/v1/crm/auth/login"));
        assert!(!is_control_path("/_mockery"));
    }
}
