//! The retry loop. Two budgets: network failures and server errors (502, 503, 504) are
//! retried `max_retries` times with jittered exponential backoff; waiting for the CRM's rate
//! limit (429, a spent window) is bounded by time, `rate_limit_timeout`, because a fleet may
//! need several windows. A wait the server asks for (`Retry-After`) is never shortened below
//! what it asked. The policy itself is in [`policy`].

pub(crate) mod policy;

use std::time::Duration;

use tracing::{field, Instrument};

use super::call::CallCtx;
use super::config::ClientConfig;
use super::error::ApiError;
use super::limiter::{self, Bucket, Feedback, LimitKey, Refusal};
use super::parse::RawResponse;
use super::transport::Replay;
use super::transport::{self, bearer_header, Call};
use crate::defentry::time::duration::format_duration;
use policy::{backoff_delay, is_retryable_status, server_wait};

/// Sends a call and returns its final response, or the error that ended it: waiting out
/// rate limits within `rate_limit_timeout`, retrying failures up to `max_retries`, and
/// obeying `cx`'s stop request between attempts.
pub(crate) async fn execute(
    http: &reqwest::Client,
    config: &ClientConfig,
    cx: &CallCtx,
    call: Call<'_>,
) -> Result<RawResponse, ApiError> {
    let host = config.api_domain.host();
    let url = config.api_domain.endpoint(call.endpoint);
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
    let bucket = match call.bearer {
        None => Bucket::Ip,
        Some(_) => Bucket::Account(cx.account().map(str::to_owned)),
    };
    let limiter = limiter::shared(LimitKey::new(config.api_domain.as_str(), bucket));
    let mut attempt: u32 = 0;
    let mut failures: u32 = 0;
    let mut last_asked = None;
    loop {
        if cx.is_stopped() {
            tracing::debug!(path = url.path(), attempt, "stop requested; no new attempt");
            return Err(ApiError::Cancelled);
        }
        let permit = match limiter.acquire(cx, config.rate_limit_timeout).await {
            Ok(permit) => permit,
            Err(Refusal::Stopped) => {
                tracing::debug!(
                    path = url.path(),
                    "stop requested; rate-limit wait cut short"
                );
                return Err(ApiError::Cancelled);
            }
            Err(Refusal::OutOfTime { asked }) => {
                return Err(ApiError::RateLimited {
                    host: host.clone(),
                    waited: cx.waited().rate_limit,
                    timeout: config.rate_limit_timeout,
                    retry_after: asked.or(last_asked),
                })
            }
        };
        attempt += 1;
        let retries_left = failures < config.max_retries;
        let span = tracing::debug_span!(
            "defentry_request",
            method = "POST",
            path = url.path(),
            attempt,
            status = field::Empty,
            latency_ms = field::Empty,
        );
        // The body of a response that will be retried is not needed.
        let will_retry = |status: u16| {
            status == 429 || (retries_left && is_retryable_status(status, call.replay))
        };
        let outcome = transport::send(
            http,
            &url,
            &call,
            auth.as_ref(),
            config.request_timeout,
            will_retry,
        )
        .instrument(span.clone())
        .await;
        let (failure, delay) = match outcome {
            Ok(mut resp) => {
                let wait = server_wait(resp.status, resp.retry_after, &resp.rate);
                let throttled = resp.status == 429;
                // Only a 429 speaks for the whole bucket (the window is spent for every call);
                // a 503's Retry-After is this call's wait.
                permit.finish(Feedback {
                    wait: wait.filter(|_| throttled),
                    remaining: resp.rate.remaining,
                });
                if throttled {
                    cx.add_throttled();
                    last_asked = wait;
                    span.in_scope(|| {
                        tracing::info!(
                            asked = %format_duration(wait.unwrap_or_default()),
                            "Defentry is rate limiting (HTTP 429); waiting for its window to reset"
                        )
                    });
                    continue;
                }
                // A wait asked for beyond rate_limit_timeout is not started: the answer stands.
                let too_long = wait.is_some_and(|w| w > config.rate_limit_timeout);
                if !will_retry(resp.status) || too_long {
                    resp.attempts = attempt;
                    return Ok(resp);
                }
                failures += 1;
                let delay = match wait {
                    Some(asked) => limiter::at_least_floor(asked),
                    None => backoff(config, failures),
                };
                (format!("HTTP {}", resp.status), delay)
            }
            Err(failure)
                if retries_left
                    && !failure.permanent
                    && (failure.not_sent || call.replay == Replay::Safe) =>
            {
                drop(permit);
                failures += 1;
                (failure.cause, backoff(config, failures))
            }
            Err(failure) => {
                return Err(ApiError::Transport {
                    host: host.clone(),
                    cause: failure.cause,
                    attempts: attempt,
                })
            }
        };
        span.in_scope(|| {
            tracing::warn!(
                error = %failure,
                delay_ms = delay.as_millis() as u64,
                "request to Defentry failed; retrying"
            )
        });
        tokio::select! {
            biased;
            () = cx.stopped() => {
                tracing::debug!(path = url.path(), "stop requested; backoff cut short");
                return Err(ApiError::Cancelled);
            }
            () = tokio::time::sleep(delay) => cx.add_backoff(delay),
        }
    }
}

/// The jittered exponential backoff before retry number `failures` (counting from 1).
fn backoff(config: &ClientConfig, failures: u32) -> Duration {
    backoff_delay(
        failures - 1,
        config.retry_base_delay,
        config.retry_max_delay,
        &mut rand::rng(),
    )
}
