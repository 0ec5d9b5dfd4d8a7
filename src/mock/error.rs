//! HTTP errors in Laravel's JSON shape: `{"message": ...}` plus `errors` on 422.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

/// Message Laravel's `auth:sanctum` guard answers with.
pub const UNAUTHENTICATED: &str = "Unauthenticated.";
/// Message of a failed login.
pub const INVALID_CREDENTIALS: &str = "These credentials do not match our records.";
/// Message for pending-2FA tokens on other CRM endpoints.
pub const TWO_FACTOR_REQUIRED: &str = "Two-factor authentication required.";

/// Field errors of a failed validation, in the order the rules ran.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ValidationErrors(Vec<(String, Vec<String>)>);

impl ValidationErrors {
    /// No errors yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `message` to `field`.
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        match self.0.iter_mut().find(|(f, _)| f == field) {
            Some((_, messages)) => messages.push(message.into()),
            None => self.0.push((field.to_owned(), vec![message.into()])),
        }
    }

    /// True when every rule passed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `field` has an error already (later rules for it are skipped, as with `bail`).
    pub fn has(&self, field: &str) -> bool {
        self.0.iter().any(|(f, _)| f == field)
    }

    /// `Ok(())` when empty, else the 422 error.
    pub fn into_result(self) -> Result<(), ApiError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self))
        }
    }

    /// Laravel's summary: the first message, plus `(and N more error[s])`.
    pub fn summary(&self) -> String {
        let mut all = self.0.iter().flat_map(|(_, m)| m.iter());
        let Some(first) = all.next() else {
            return "The given data was invalid.".to_owned();
        };
        match all.count() {
            0 => first.clone(),
            1 => format!("{first} (and 1 more error)"),
            n => format!("{first} (and {n} more errors)"),
        }
    }

    fn to_json(&self) -> Value {
        let map: Map<String, Value> = self
            .0
            .iter()
            .map(|(field, messages)| (field.clone(), json!(messages)))
            .collect();
        Value::Object(map)
    }
}

/// Every error a mock endpoint can answer with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 401: missing, malformed, unknown, expired or revoked token.
    #[error("unauthenticated")]
    Unauthenticated,
    /// 401: unknown user or wrong password.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// 403: a pending-2FA token on an endpoint that needs a verified one.
    #[error("two-factor authentication required")]
    TwoFactorRequired,
    /// 422: validation failed.
    #[error("validation failed")]
    Validation(ValidationErrors),
    /// 429: login rate limit hit.
    #[error("too many attempts")]
    TooManyAttempts {
        /// Seconds until an attempt is allowed again.
        retry_after_secs: u64,
    },
    /// 404: no such route.
    #[error("not found")]
    NotFound,
    /// 405: route exists, method does not.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 408: the request body stalled.
    #[error("request timeout")]
    RequestTimeout,
    /// 413: the request body is larger than the mock accepts.
    #[error("payload too large")]
    PayloadTooLarge,
}

impl ApiError {
    /// A 422 with a single field error.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let mut errors = ValidationErrors::new();
        errors.add(field, message);
        Self::Validation(errors)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            Self::Unauthenticated => message_response(StatusCode::UNAUTHORIZED, UNAUTHENTICATED),
            Self::InvalidCredentials => {
                message_response(StatusCode::UNAUTHORIZED, INVALID_CREDENTIALS)
            }
            Self::TwoFactorRequired => message_response(StatusCode::FORBIDDEN, TWO_FACTOR_REQUIRED),
            Self::Validation(errors) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(json!({"message": errors.summary(), "errors": errors.to_json()})),
            )
                .into_response(),
            Self::TooManyAttempts { retry_after_secs } => {
                let mut response =
                    message_response(StatusCode::TOO_MANY_REQUESTS, "Too Many Attempts.");
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
                response
            }
            Self::NotFound => message_response(StatusCode::NOT_FOUND, "Not Found."),
            Self::MethodNotAllowed => {
                message_response(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed.")
            }
            Self::RequestTimeout => {
                message_response(StatusCode::REQUEST_TIMEOUT, "Request Timeout.")
            }
            Self::PayloadTooLarge => {
                message_response(StatusCode::PAYLOAD_TOO_LARGE, "Content Too Large.")
            }
        }
    }
}

/// `{"message": message}` with `status`.
pub fn message_response(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "message": message }))).into_response()
}

/// The message Laravel's exception handler gives a bare HTTP status (used for injected faults).
pub fn default_message(status: StatusCode) -> String {
    match status.as_u16() {
        401 => UNAUTHENTICATED.to_owned(),
        403 => "This action is unauthorized.".to_owned(),
        419 => "Page Expired.".to_owned(),
        422 => "The given data was invalid.".to_owned(),
        429 => "Too Many Attempts.".to_owned(),
        500 => "Server Error.".to_owned(),
        _ => match status.canonical_reason() {
            Some(reason) => format!("{reason}."),
            None => "Error.".to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_counts_remaining_errors_like_laravel() {
        let mut e = ValidationErrors::new();
        assert_eq!(e.summary(), "The given data was invalid.");
        e.add("username", "The username field is required.");
        assert_eq!(e.summary(), "The username field is required.");
        e.add("password", "The password field is required.");
        assert_eq!(
            e.summary(),
            "The username field is required. (and 1 more error)"
        );
        e.add("password", "again");
        assert_eq!(
            e.summary(),
            "The username field is required. (and 2 more errors)"
        );
        assert!(e.has("password") && !e.has("email"));
    }

    #[test]
    fn default_messages() {
        assert_eq!(
            default_message(StatusCode::SERVICE_UNAVAILABLE),
            "Service Unavailable."
        );
        assert_eq!(
            default_message(StatusCode::INTERNAL_SERVER_ERROR),
            "Server Error."
        );
        assert_eq!(default_message(StatusCode::BAD_GATEWAY), "Bad Gateway.");
        assert_eq!(
            default_message(StatusCode::from_u16(599).unwrap()),
            "Error."
        );
    }
}
