//! Axum handlers for the vendor endpoints and `/_mock/*`, and the body extractor that turns
//! anything but a JSON object into an empty input (so validation answers 422 like Laravel).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use super::error::{ApiError, ValidationErrors};
use super::faults::Fault;
use super::state::MockState;
use super::store::{Authenticated, SetupOutcome, StoreError};

/// What an API handler answers: a JSON body, or the error Laravel would render.
type JsonResult = Result<Json<Value>, ApiError>;

/// Laravel's message for a bad TOTP code (also for a missing or malformed one).
pub const INVALID_CODE: &str = "The provided two factor authentication code was invalid.";
/// `/2fa/setup` for an enrolled user.
pub const ALREADY_ENABLED: &str = "Two-factor authentication is already enabled.";
/// `/2fa/setup` for a user who is not enrolled, without hints (the pending secret is not shown).
pub const SETUP_STARTED: &str = "Two-factor authentication setup started.";
/// Laravel's message for an unknown, used or expired reset token.
pub const INVALID_RESET_TOKEN: &str = "This password reset token is invalid.";

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unauthenticated => Self::Unauthenticated,
            StoreError::InvalidCredentials => Self::InvalidCredentials,
            StoreError::RateLimited { retry_after_secs } => {
                Self::TooManyAttempts { retry_after_secs }
            }
            StoreError::InvalidTwoFactorCode => Self::field("code", INVALID_CODE),
            StoreError::InvalidResetToken => Self::field("token", INVALID_RESET_TOKEN),
        }
    }
}

/// The largest request body the mock reads (2 MiB: room for a fault body larger than a
/// client accepts); larger ones are answered 413.
pub const MAX_BODY_BYTES: usize = 2 << 20;

/// The request body as a JSON object. Like Laravel, input that is not JSON (wrong content
/// type, malformed, not an object, unreadable) is treated as no input at all, so the
/// endpoint's validation answers 422 with per-field errors instead of axum's plain text.
/// A body over [`MAX_BODY_BYTES`] is 413, one that stalls for the idle timeout is 408.
pub struct JsonBody(pub Map<String, Value>);

impl FromRequest<MockState> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &MockState) -> Result<Self, Self::Rejection> {
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
            return Err(ApiError::PayloadTooLarge);
        }
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json" || mime.ends_with("+json")
            })
            .unwrap_or(false);
        if !is_json {
            tracing::debug!("request body ignored: content type is not JSON");
            return Ok(Self(Map::new()));
        }
        let read = tokio::time::timeout(state.idle_timeout(), Bytes::from_request(req, state));
        let bytes = match read.await {
            Err(_) => return Err(ApiError::RequestTimeout),
            Ok(Err(rejection)) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(ApiError::PayloadTooLarge)
            }
            Ok(Err(_)) => {
                tracing::debug!("request body ignored: unreadable");
                return Ok(Self(Map::new()));
            }
            Ok(Ok(bytes)) => bytes,
        };
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => Ok(Self(map)),
            Ok(_) => {
                tracing::debug!("request body ignored: not a JSON object");
                Ok(Self(Map::new()))
            }
            Err(_) => {
                tracing::debug!("request body ignored: malformed JSON");
                Ok(Self(Map::new()))
            }
        }
    }
}

/// `field` must be a non-empty string (after trimming, unless `trim` is false: Laravel does
/// not trim passwords).
fn required_string(
    body: &Map<String, Value>,
    field: &str,
    trim: bool,
    errors: &mut ValidationErrors,
) -> Option<String> {
    let label = field.replace('_', " ");
    match body.get(field) {
        Some(Value::String(s)) => {
            let value = if trim { s.trim() } else { s.as_str() };
            if value.is_empty() {
                errors.add(field, format!("The {label} field is required."));
                None
            } else {
                Some(value.to_owned())
            }
        }
        None | Some(Value::Null) => {
            errors.add(field, format!("The {label} field is required."));
            None
        }
        Some(_) => {
            errors.add(field, format!("The {label} field must be a string."));
            None
        }
    }
}

/// The token of `Authorization: Bearer <token>`, if present.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Any valid token, pending 2FA or not.
fn authenticate(state: &MockState, headers: &HeaderMap) -> Result<Authenticated, ApiError> {
    let token = bearer(headers).ok_or(ApiError::Unauthenticated)?;
    Ok(state.store().authenticate(token)?)
}

/// A valid token that has passed 2FA (what every other CRM endpoint requires).
fn authenticate_verified(
    state: &MockState,
    headers: &HeaderMap,
) -> Result<Authenticated, ApiError> {
    let auth = authenticate(state, headers)?;
    if !auth.two_factor_verified {
        return Err(ApiError::TwoFactorRequired);
    }
    Ok(auth)
}

/// `POST /api/v1/crm/auth/login`
pub async fn login(State(state): State<MockState>, JsonBody(body): JsonBody) -> JsonResult {
    let mut errors = ValidationErrors::new();
    let username = required_string(&body, "username", true, &mut errors);
    let password = required_string(&body, "password", false, &mut errors);
    let keep_logged = match body.get("keep_logged") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            errors.add(
                "keep_logged",
                "The keep logged field must be true or false.",
            );
            false
        }
    };
    errors.into_result()?;
    let (Some(username), Some(password)) = (username, password) else {
        return Err(ApiError::Validation(ValidationErrors::new()));
    };
    let (outcome, hints) = state.with_store(|s| {
        let outcome = s.login(&username, &password, keep_logged);
        (outcome, s.settings().hints)
    });
    let outcome = outcome?;
    // The vendor page documents `{"token"}` alone; the 2FA flag is a hint.
    let mut response = json!({ "token": outcome.token.expose() });
    if hints && outcome.two_factor_required {
        response["two_factor_required"] = Value::Bool(true);
    }
    Ok(Json(response))
}

/// `POST /api/v1/crm/logout`
pub async fn logout(State(state): State<MockState>, headers: HeaderMap) -> JsonResult {
    let token = bearer(&headers).ok_or(ApiError::Unauthenticated)?;
    state.store().logout(token)?;
    Ok(Json(json!({ "message": "Logged out." })))
}

/// `POST /api/v1/2fa/setup`
pub async fn two_factor_setup(State(state): State<MockState>, headers: HeaderMap) -> JsonResult {
    let auth = authenticate(&state, &headers)?;
    let (outcome, hints) = state.with_store(|s| {
        let outcome = s.setup_two_factor(&auth);
        (outcome, s.settings().hints)
    });
    // The vendor page documents no body: a plain message unless hints are on.
    Ok(Json(match (outcome?, hints) {
        (SetupOutcome::AlreadyEnabled, false) => json!({ "message": ALREADY_ENABLED }),
        (SetupOutcome::AlreadyEnabled, true) => json!({
            "enabled": true,
            "message": ALREADY_ENABLED,
        }),
        (SetupOutcome::NewSecret { .. }, false) => json!({ "message": SETUP_STARTED }),
        (
            SetupOutcome::NewSecret {
                secret,
                otpauth_url,
            },
            true,
        ) => json!({
            "enabled": false,
            "secret": secret.expose(),
            "otpauth_url": otpauth_url.expose(),
        }),
    }))
}

/// `POST /api/v1/2fa/verify`
pub async fn two_factor_verify(
    State(state): State<MockState>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> JsonResult {
    let auth = authenticate(&state, &headers)?;
    let code = match body.get("code") {
        Some(Value::String(s)) => s.trim().to_owned(),
        // A client may send the code as a number; six digits either way.
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::field("code", INVALID_CODE));
    }
    let hints = state.with_store(|s| {
        s.verify_two_factor(&auth, &code)
            .map(|()| s.settings().hints)
    })?;
    let mut response = json!({ "message": "Two-factor authentication verified." });
    if hints {
        response["verified"] = Value::Bool(true);
    }
    Ok(Json(response))
}

/// Laravel's `email` rule, loosely: one `@`, something on both sides, no whitespace.
fn looks_like_email(value: &str) -> bool {
    match value.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !value.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

/// `POST /api/v1/crm/auth/password/forgot`
pub async fn password_forgot(
    State(state): State<MockState>,
    JsonBody(body): JsonBody,
) -> JsonResult {
    let mut errors = ValidationErrors::new();
    let email = required_string(&body, "email", true, &mut errors);
    if let Some(email) = &email {
        if !looks_like_email(email) {
            errors.add("email", "The email field must be a valid email address.");
        }
    }
    errors.into_result()?;
    if let Some(email) = email {
        state.store().forgot_password(&email);
    }
    Ok(Json(
        json!({ "message": "We have emailed your password reset link." }),
    ))
}

/// `POST /api/v1/crm/auth/password/reset`
pub async fn password_reset(
    State(state): State<MockState>,
    JsonBody(body): JsonBody,
) -> JsonResult {
    let mut errors = ValidationErrors::new();
    let token = required_string(&body, "token", true, &mut errors);
    let password = required_string(&body, "password", false, &mut errors);
    if let Some(password) = &password {
        // Laravel's rules: required|confirmed|min:8, every failing rule reported.
        if body.get("password_confirmation").and_then(Value::as_str) != Some(password.as_str()) {
            errors.add(
                "password",
                "The password field confirmation does not match.",
            );
        }
        if password.chars().count() < 8 {
            errors.add(
                "password",
                "The password field must be at least 8 characters.",
            );
        }
    }
    errors.into_result()?;
    let (Some(token), Some(password)) = (token, password) else {
        return Err(ApiError::Validation(ValidationErrors::new()));
    };
    state.store().reset_password(&token, &password)?;
    Ok(Json(json!({ "message": "Your password has been reset." })))
}

/// `GET /_mock/whoami`: stands in for any CRM call that needs a verified token.
pub async fn whoami(State(state): State<MockState>, headers: HeaderMap) -> JsonResult {
    let auth = authenticate_verified(&state, &headers)?;
    Ok(Json(json!({
        "username": auth.username,
        "token_id": auth.token_id.to_string(),
    })))
}

/// `GET /_mock/sessions[?username=U]`
pub async fn sessions(State(state): State<MockState>, request: Request) -> Json<Value> {
    let username = request.uri().query().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "username")
            .map(|(_, v)| v.into_owned())
    });
    let view = state.store().sessions(username.as_deref());
    Json(json!(view))
}

/// `GET /_mock/users`: every user with its 2FA enrolment state.
pub async fn users(State(state): State<MockState>) -> Json<Value> {
    let users = state.store().users();
    Json(json!({ "users": users }))
}

/// `GET /_mock/settings`
pub async fn settings(State(state): State<MockState>) -> Json<Value> {
    Json(json!(state.store().settings()))
}

/// `POST /_mock/settings`: changes the fields given until the next reset, e.g.
/// `{"hints": true}`, `{"rate_limit": 60, "rate_limit_window_secs": 60}`,
/// `{"allow_totp_reuse": true}`.
pub async fn update_settings(
    State(state): State<MockState>,
    JsonBody(body): JsonBody,
) -> JsonResult {
    let mut errors = ValidationErrors::new();
    let mut settings = state.store().settings();
    for (key, value) in &body {
        match (key.as_str(), value) {
            ("hints", Value::Bool(on)) => settings.hints = *on,
            ("hints", _) => errors.add("hints", "The hints field must be true or false."),
            ("allow_totp_reuse", Value::Bool(on)) => settings.allow_totp_reuse = *on,
            ("allow_totp_reuse", _) => errors.add(
                "allow_totp_reuse",
                "The allow totp reuse field must be true or false.",
            ),
            ("rate_limit", value) => match value.as_u64().and_then(|n| u32::try_from(n).ok()) {
                Some(n) => settings.rate_limit = n,
                None => errors.add(
                    "rate_limit",
                    "The rate limit field must be an integer from 0 (off) to 4294967295.",
                ),
            },
            ("rate_limit_window_secs", value) => match value.as_u64().filter(|n| *n >= 1) {
                Some(n) => settings.rate_limit_window_secs = n,
                None => errors.add(
                    "rate_limit_window_secs",
                    "The rate limit window secs field must be an integer of at least 1.",
                ),
            },
            (other, _) => errors.add(other, format!("The {other} field is not a setting.")),
        }
    }
    errors.into_result()?;
    state.store().set_settings(settings);
    Ok(Json(json!(settings)))
}

/// `GET /_mock/rate-limit`: the `throttle:api` limiter's settings, counters and live windows.
pub async fn rate_limit(State(state): State<MockState>) -> Json<Value> {
    Json(json!(state.store().rate_limit()))
}

/// `GET /_mock/outbox`
pub async fn outbox(State(state): State<MockState>) -> Json<Value> {
    let messages = state.store().outbox().to_vec();
    Json(json!({ "messages": messages }))
}

/// `GET /_mock/requests`
pub async fn requests(State(state): State<MockState>) -> Json<Value> {
    let requests = state.store().requests();
    Json(json!({ "requests": requests }))
}

/// `POST /_mock/faults`
pub async fn add_fault(
    State(state): State<MockState>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let spec = Fault::from_json(&body).map_err(ApiError::Validation)?;
    let fault = state.store().faults.add(spec);
    Ok((StatusCode::CREATED, Json(json!(fault))).into_response())
}

/// `GET /_mock/faults`
pub async fn list_faults(State(state): State<MockState>) -> Json<Value> {
    let faults = state.store().faults.list();
    Json(json!({ "faults": faults }))
}

/// `DELETE /_mock/faults`
pub async fn clear_faults(State(state): State<MockState>) -> StatusCode {
    state.store().faults.clear();
    StatusCode::NO_CONTENT
}

/// `POST /_mock/reset`
pub async fn reset(State(state): State<MockState>) -> StatusCode {
    state.store().reset();
    StatusCode::NO_CONTENT
}

/// Fallback for unknown routes.
pub async fn not_found() -> ApiError {
    ApiError::NotFound
}

/// Fallback for known routes called with the wrong method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn bearer_parsing() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer 1|abc"),
        );
        assert_eq!(bearer(&h), Some("1|abc"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer  1|abc "),
        );
        assert_eq!(bearer(&h), Some("1|abc"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic eA=="),
        );
        assert_eq!(bearer(&h), None);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(bearer(&h), None);
    }

    #[test]
    fn email_rule() {
        assert!(looks_like_email("admin@partner.com"));
        assert!(looks_like_email("a@b"));
        for bad in ["admin", "@x.io", "a@", "a@@b", "a b@c.d", "a@.c", "a@c."] {
            assert!(!looks_like_email(bad), "{bad}");
        }
    }

    #[test]
    fn required_string_rules() {
        let body = json!({"a": "", "b": "  ", "c": 5, "d": " x ", "e": null});
        let Value::Object(body) = body else {
            unreachable!()
        };
        let mut e = ValidationErrors::new();
        assert_eq!(required_string(&body, "a", true, &mut e), None);
        assert_eq!(required_string(&body, "b", true, &mut e), None);
        assert_eq!(
            required_string(&body, "b", false, &mut e).as_deref(),
            Some("  ")
        );
        assert_eq!(required_string(&body, "c", true, &mut e), None);
        assert_eq!(
            required_string(&body, "d", true, &mut e).as_deref(),
            Some("x")
        );
        assert_eq!(required_string(&body, "e", true, &mut e), None);
        assert_eq!(required_string(&body, "missing_field", true, &mut e), None);
        assert!(e
            .summary()
            .starts_with("The a field is required. (and 4 more errors)"));
    }
}
