//! defentry-mock over real HTTP: an in-process mock on 127.0.0.1:0 per test, one behaviour
//! per test, plus one test of the real binary.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use terraform_provider_defentry::mock::{
    decode_base32, spawn, totp_code, ManualClock, MockConfig, MockServer, DEFAULT_ADMIN,
    DEFAULT_ADMIN_PASSWORD, DEFAULT_ADMIN_TOTP_SECRET, DEFAULT_SERVICE_ACCOUNT,
    DEFAULT_SERVICE_ACCOUNT_PASSWORD,
};

const LOGIN: &str = "/api/v1/crm/auth/login";
const LOGOUT: &str = "/api/v1/crm/logout";
const SETUP: &str = "/api/v1/2fa/setup";
const VERIFY: &str = "/api/v1/2fa/verify";
const FORGOT: &str = "/api/v1/crm/auth/password/forgot";
const RESET: &str = "/api/v1/crm/auth/password/reset";
const WHOAMI: &str = "/_mock/whoami";
const RATE_LIMIT: &str = "/_mock/rate-limit";
const INVALID_CODE: &str = "The provided two factor authentication code was invalid.";

struct Mock {
    server: MockServer,
    http: Client,
}

struct Reply {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    text: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("{e}: {:?}", self.text))
    }
}

impl Mock {
    async fn start() -> Self {
        Self::with(|_| {}).await
    }

    async fn with(f: impl FnOnce(&mut MockConfig)) -> Self {
        let mut config = MockConfig::default();
        f(&mut config);
        Self {
            server: spawn(config).await.unwrap(),
            http: Client::new(),
        }
    }

    /// Laravel's `throttle:api` at `limit` per 60 s, on `clock`.
    async fn throttled(limit: u32, clock: &ManualClock) -> Self {
        let clock = clock.clock();
        Self::with(move |c| {
            c.clock = clock;
            c.rate_limit = limit;
        })
        .await
    }

    async fn with_clock(clock: &ManualClock) -> Self {
        let clock = clock.clock();
        Self::with(move |c| c.clock = clock).await
    }

    /// With the undocumented response fields (`--hints`).
    async fn with_hints() -> Self {
        Self::with(|c| c.hints = true).await
    }

    async fn with_hints_and_clock(clock: &ManualClock) -> Self {
        let clock = clock.clock();
        Self::with(move |c| {
            c.clock = clock;
            c.hints = true;
        })
        .await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.base_url())
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Reply {
        let resp = req.send().await.unwrap();
        Reply {
            status: resp.status(),
            headers: resp.headers().clone(),
            text: resp.text().await.unwrap(),
        }
    }

    async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(self.http.post(self.url(path)).json(&body)).await
    }

    async fn post_auth(&self, path: &str, token: &str, body: Option<Value>) -> Reply {
        let mut req = self.http.post(self.url(path)).bearer_auth(token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        self.send(req).await
    }

    async fn get(&self, path: &str) -> Reply {
        self.send(self.http.get(self.url(path))).await
    }

    async fn whoami(&self, token: &str) -> Reply {
        self.send(self.http.get(self.url(WHOAMI)).bearer_auth(token))
            .await
    }

    async fn login_as(&self, username: &str, password: &str, keep_logged: bool) -> Reply {
        self.post(
            LOGIN,
            json!({"username": username, "password": password, "keep_logged": keep_logged}),
        )
        .await
    }

    async fn service_login(&self) -> Reply {
        self.login_as(
            DEFAULT_SERVICE_ACCOUNT,
            DEFAULT_SERVICE_ACCOUNT_PASSWORD,
            false,
        )
        .await
    }

    async fn service_token(&self) -> String {
        let r = self.service_login().await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        r.json()["token"].as_str().unwrap().to_owned()
    }

    async fn admin_pending_token(&self) -> String {
        let r = self
            .login_as(DEFAULT_ADMIN, DEFAULT_ADMIN_PASSWORD, false)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        r.json()["token"].as_str().unwrap().to_owned()
    }

    async fn sessions(&self) -> Value {
        self.get("/_mock/sessions").await.json()
    }

    async fn add_fault(&self, spec: Value) {
        let r = self.post("/_mock/faults", spec).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }

    async fn outbox_token(&self) -> String {
        let outbox = self.get("/_mock/outbox").await.json();
        outbox["messages"][0]["reset_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

fn code_at(secret_base32: &str, at: DateTime<Utc>) -> String {
    totp_code(
        &decode_base32(secret_base32).unwrap(),
        at.timestamp() as u64,
    )
}

fn admin_code_now() -> String {
    code_at(DEFAULT_ADMIN_TOTP_SECRET, Utc::now())
}

fn fixed_start() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

fn assert_message(reply: &Reply, status: StatusCode, message: &str) {
    assert_eq!(reply.status, status, "{}", reply.text);
    assert_eq!(reply.headers[CONTENT_TYPE], "application/json");
    assert_eq!(reply.json(), json!({ "message": message }));
}

fn assert_field_error(reply: &Reply, field: &str, message: &str) {
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.text
    );
    assert_eq!(reply.headers[CONTENT_TYPE], "application/json");
    let body = reply.json();
    assert_eq!(body["errors"][field], json!([message]), "{body}");
    // Laravel's summary starts with the first error; every caller checks the first field.
    assert!(
        body["message"].as_str().unwrap().starts_with(message),
        "{body}"
    );
}

// ---------------------------------------------------------------- login

#[tokio::test]
async fn login_service_account_returns_sanctum_token() {
    let mock = Mock::start().await;
    let r = mock.service_login().await;
    assert_eq!(r.status, StatusCode::OK);
    let body = r.json();
    assert_eq!(body.as_object().unwrap().len(), 1, "{body}");
    let (id, secret) = body["token"].as_str().unwrap().split_once('|').unwrap();
    assert!(id.parse::<u64>().is_ok());
    assert_eq!(secret.len(), 40);
    assert!(secret.bytes().all(|b| b.is_ascii_alphanumeric()));
}

#[tokio::test]
async fn login_token_ids_increase() {
    let mock = Mock::start().await;
    let a = mock.service_token().await;
    let b = mock.service_token().await;
    let id = |t: &str| t.split('|').next().unwrap().parse::<u64>().unwrap();
    assert!(id(&b) > id(&a));
}

#[tokio::test]
async fn login_of_2fa_user_returns_pending_token() {
    // By default the body is exactly the vendor's `{"token"}`: nothing says it is pending.
    let mock = Mock::start().await;
    let r = mock
        .login_as(DEFAULT_ADMIN, DEFAULT_ADMIN_PASSWORD, false)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let body = r.json();
    assert_eq!(body.as_object().unwrap().len(), 1, "{body}");
    let token = body["token"].as_str().unwrap().to_owned();
    let sessions = mock.sessions().await;
    assert_eq!(sessions["sessions"][0]["two_factor_verified"], json!(false));
    assert_eq!(mock.whoami(&token).await.status, StatusCode::FORBIDDEN);
    // With hints, the login says so.
    let mock = Mock::with_hints().await;
    let r = mock
        .login_as(DEFAULT_ADMIN, DEFAULT_ADMIN_PASSWORD, false)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["two_factor_required"], json!(true));
    let sessions = mock.sessions().await;
    assert_eq!(sessions["sessions"][0]["two_factor_verified"], json!(false));
    let r = mock.service_login().await;
    assert_eq!(r.json().as_object().unwrap().len(), 1, "{}", r.text);
}

#[tokio::test]
async fn login_wrong_password_is_401() {
    let mock = Mock::start().await;
    let r = mock
        .login_as(DEFAULT_SERVICE_ACCOUNT, "wrong-password", false)
        .await;
    assert_message(
        &r,
        StatusCode::UNAUTHORIZED,
        "These credentials do not match our records.",
    );
}

#[tokio::test]
async fn login_unknown_user_is_401() {
    let mock = Mock::start().await;
    let r = mock.login_as("ghost@partner.com", "whatever", false).await;
    assert_message(
        &r,
        StatusCode::UNAUTHORIZED,
        "These credentials do not match our records.",
    );
}

#[tokio::test]
async fn login_missing_username_is_422_exactly_as_laravel() {
    let mock = Mock::start().await;
    let r = mock.post(LOGIN, json!({"password": "x"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.json(),
        json!({
            "message": "The username field is required.",
            "errors": {"username": ["The username field is required."]}
        })
    );
}

#[tokio::test]
async fn login_empty_fields_are_422_per_field() {
    let mock = Mock::start().await;
    let r = mock
        .post(LOGIN, json!({"username": "", "password": ""}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.json(),
        json!({
            "message": "The username field is required. (and 1 more error)",
            "errors": {
                "username": ["The username field is required."],
                "password": ["The password field is required."]
            }
        })
    );
}

#[tokio::test]
async fn login_keep_logged_not_bool_is_422() {
    let mock = Mock::start().await;
    let r = mock
        .post(
            LOGIN,
            json!({"username": DEFAULT_SERVICE_ACCOUNT, "password": "x", "keep_logged": "yes"}),
        )
        .await;
    assert_field_error(
        &r,
        "keep_logged",
        "The keep logged field must be true or false.",
    );
}

#[tokio::test]
async fn login_malformed_json_is_422_json() {
    let mock = Mock::start().await;
    let r = mock
        .send(
            mock.http
                .post(mock.url(LOGIN))
                .header(CONTENT_TYPE, "application/json")
                .body("{\"username\": "),
        )
        .await;
    assert_field_error(&r, "username", "The username field is required.");
    assert!(r.json()["errors"]["password"].is_array());
}

#[tokio::test]
async fn login_wrong_content_type_is_422_json() {
    let mock = Mock::start().await;
    let body =
        json!({"username": DEFAULT_SERVICE_ACCOUNT, "password": DEFAULT_SERVICE_ACCOUNT_PASSWORD});
    let r = mock
        .send(
            mock.http
                .post(mock.url(LOGIN))
                .header(CONTENT_TYPE, "text/plain")
                .body(body.to_string()),
        )
        .await;
    assert_field_error(&r, "username", "The username field is required.");
}

#[tokio::test]
async fn login_body_not_an_object_is_422() {
    let mock = Mock::start().await;
    let r = mock.post(LOGIN, json!(["username", "password"])).await;
    assert_field_error(&r, "username", "The username field is required.");
}

#[tokio::test]
async fn login_non_string_username_is_422() {
    let mock = Mock::start().await;
    let r = mock
        .post(LOGIN, json!({"username": 42, "password": "x"}))
        .await;
    assert_field_error(&r, "username", "The username field must be a string.");
}

#[tokio::test]
async fn login_keep_logged_session_lives_30_days() {
    let mock = Mock::start().await;
    mock.login_as(
        DEFAULT_SERVICE_ACCOUNT,
        DEFAULT_SERVICE_ACCOUNT_PASSWORD,
        true,
    )
    .await;
    let s = &mock.sessions().await["sessions"][0];
    assert_eq!(s["keep_logged"], json!(true));
    let created = DateTime::parse_from_rfc3339(s["created_at"].as_str().unwrap()).unwrap();
    let expires = DateTime::parse_from_rfc3339(s["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!(expires - created, TimeDelta::days(30));
}

#[tokio::test]
async fn login_default_session_lives_15_minutes() {
    let mock = Mock::start().await;
    mock.service_token().await;
    let s = &mock.sessions().await["sessions"][0];
    assert_eq!(s["keep_logged"], json!(false));
    let created = DateTime::parse_from_rfc3339(s["created_at"].as_str().unwrap()).unwrap();
    let expires = DateTime::parse_from_rfc3339(s["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!(expires - created, TimeDelta::minutes(15));
}

#[tokio::test]
async fn login_rate_limit_answers_429_with_retry_after() {
    let mock = Mock::with(|c| c.login_rate_limit = Some(2)).await;
    for _ in 0..2 {
        mock.login_as(DEFAULT_SERVICE_ACCOUNT, "wrong", false).await;
    }
    let r = mock.service_login().await;
    assert_message(&r, StatusCode::TOO_MANY_REQUESTS, "Too Many Attempts.");
    let retry: u64 = r.headers[RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
}

#[tokio::test]
async fn login_rate_limit_is_per_username() {
    let mock = Mock::with(|c| c.login_rate_limit = Some(1)).await;
    mock.service_token().await;
    let r = mock
        .login_as(DEFAULT_ADMIN, DEFAULT_ADMIN_PASSWORD, false)
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn login_200_concurrent_logins_all_get_distinct_active_tokens() {
    let mock = Mock::start().await;
    let started = Instant::now();
    let logins = (0..200).map(|_| mock.service_token());
    let tokens = futures_util::future::join_all(logins).await;
    let elapsed = started.elapsed();
    let distinct: std::collections::HashSet<_> = tokens.iter().collect();
    assert_eq!(distinct.len(), 200);
    let s = mock.sessions().await;
    assert_eq!(
        (s["active"].clone(), s["logins"].clone()),
        (json!(200), json!(200))
    );
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
}

// ---------------------------------------------------------------- token use

#[tokio::test]
async fn whoami_with_valid_token() {
    let mock = Mock::start().await;
    let token = mock.service_token().await;
    let r = mock.whoami(&token).await;
    assert_eq!(r.status, StatusCode::OK);
    let id = token.split('|').next().unwrap();
    assert_eq!(
        r.json(),
        json!({"username": DEFAULT_SERVICE_ACCOUNT, "token_id": id})
    );
}

#[tokio::test]
async fn whoami_without_token_is_401() {
    let mock = Mock::start().await;
    let r = mock.get(WHOAMI).await;
    assert_message(&r, StatusCode::UNAUTHORIZED, "Unauthenticated.");
}

#[tokio::test]
async fn whoami_with_malformed_token_is_401() {
    let mock = Mock::start().await;
    let r = mock.whoami("not-a-token").await;
    assert_message(&r, StatusCode::UNAUTHORIZED, "Unauthenticated.");
}

#[tokio::test]
async fn whoami_with_unknown_token_is_401() {
    let mock = Mock::start().await;
    let token = mock.service_token().await;
    let (id, _) = token.split_once('|').unwrap();
    let forged = format!("{id}|{}", "x".repeat(40));
    let r = mock.whoami(&forged).await;
    assert_message(&r, StatusCode::UNAUTHORIZED, "Unauthenticated.");
}

#[tokio::test]
async fn token_expires_after_token_ttl() {
    let clock = ManualClock::new(fixed_start());
    let mock = Mock::with_clock(&clock).await;
    let token = mock.service_token().await;
    clock.advance(TimeDelta::minutes(15) - TimeDelta::seconds(1));
    assert_eq!(mock.whoami(&token).await.status, StatusCode::OK);
    clock.advance(TimeDelta::seconds(1));
    let r = mock.whoami(&token).await;
    assert_message(&r, StatusCode::UNAUTHORIZED, "Unauthenticated.");
    assert_eq!(mock.sessions().await["active"], json!(0));
}

#[tokio::test]
async fn keep_logged_token_outlives_token_ttl() {
    let clock = ManualClock::new(fixed_start());
    let mock = Mock::with_clock(&clock).await;
    let r = mock
        .login_as(
            DEFAULT_SERVICE_ACCOUNT,
            DEFAULT_SERVICE_ACCOUNT_PASSWORD,
            true,
        )
        .await;
    let token = r.json()["token"].as_str().unwrap().to_owned();
    clock.advance(TimeDelta::days(30) - TimeDelta::seconds(1));
    assert_eq!(mock.whoami(&token).await.status, StatusCode::OK);
    clock.advance(TimeDelta::seconds(1));
    assert_eq!(mock.whoami(&token).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn custom_token_ttl_applies() {
    let clock = ManualClock::new(fixed_start());
    let manual = clock.clock();
    let mock = Mock::with(move |c| {
        c.clock = manual;
        c.token_ttl = Duration::from_secs(30);
    })
    .await;
    let token = mock.service_token().await;
    clock.advance(TimeDelta::seconds(30));
    assert_eq!(mock.whoami(&token).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn pending_2fa_token_is_403_on_crm_calls() {
    let mock = Mock::start().await;
    let token = mock.admin_pending_token().await;
    let r = mock.whoami(&token).await;
    assert_message(
        &r,
        StatusCode::FORBIDDEN,
        "Two-factor authentication required.",
    );
}

#[tokio::test]
async fn several_tokens_of_one_user_are_valid_at_once() {
    let mock = Mock::start().await;
    let a = mock.service_token().await;
    let b = mock.service_token().await;
    assert_eq!(mock.whoami(&a).await.status, StatusCode::OK);
    assert_eq!(mock.whoami(&b).await.status, StatusCode::OK);
    assert_eq!(mock.sessions().await["active"], json!(2));
}

// ---------------------------------------------------------------- logout

#[tokio::test]
async fn logout_revokes_only_the_presented_token() {
    let mock = Mock::start().await;
    let a = mock.service_token().await;
    let b = mock.service_token().await;
    let r = mock.post_auth(LOGOUT, &a, None).await;
    assert_message(&r, StatusCode::OK, "Logged out.");
    assert_eq!(mock.whoami(&a).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(mock.whoami(&b).await.status, StatusCode::OK);
    let s = mock.sessions().await;
    assert_eq!(
        (s["active"].clone(), s["logouts"].clone()),
        (json!(1), json!(1))
    );
}

#[tokio::test]
async fn logout_twice_is_401() {
    let mock = Mock::start().await;
    let token = mock.service_token().await;
    mock.post_auth(LOGOUT, &token, None).await;
    let r = mock.post_auth(LOGOUT, &token, None).await;
    assert_message(&r, StatusCode::UNAUTHORIZED, "Unauthenticated.");
}

#[tokio::test]
async fn logout_without_token_is_401() {
    let mock = Mock::start().await;
    let r = mock.post(LOGOUT, json!({})).await;
    assert_message(&r, StatusCode::UNAUTHORIZED, "Unauthenticated.");
}

#[tokio::test]
async fn logout_of_expired_token_is_401() {
    let clock = ManualClock::new(fixed_start());
    let mock = Mock::with_clock(&clock).await;
    let token = mock.service_token().await;
    clock.advance(TimeDelta::minutes(16));
    let r = mock.post_auth(LOGOUT, &token, None).await;
    assert_message(&r, StatusCode::UNAUTHORIZED, "Unauthenticated.");
}

#[tokio::test]
async fn logout_with_pending_2fa_token_is_allowed() {
    let mock = Mock::start().await;
    let token = mock.admin_pending_token().await;
    let r = mock.post_auth(LOGOUT, &token, None).await;
    assert_message(&r, StatusCode::OK, "Logged out.");
    assert_eq!(mock.sessions().await["active"], json!(0));
}

// ---------------------------------------------------------------- 2FA

#[tokio::test]
async fn setup_answers_a_plain_message_by_default() {
    let mock = Mock::start().await;
    let token = mock.admin_pending_token().await;
    let r = mock.post_auth(SETUP, &token, None).await;
    assert_message(
        &r,
        StatusCode::OK,
        "Two-factor authentication is already enabled.",
    );
    // Not enrolled: a pending secret is stored but not shown, and nothing is enrolled.
    let token = mock.service_token().await;
    let r = mock.post_auth(SETUP, &token, None).await;
    assert_message(
        &r,
        StatusCode::OK,
        "Two-factor authentication setup started.",
    );
    let users = mock.get("/_mock/users").await.json();
    let svc = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == DEFAULT_SERVICE_ACCOUNT)
        .cloned()
        .unwrap();
    assert_eq!(svc["two_factor_enrolled"], json!(false), "{svc}");
    assert_eq!(svc["two_factor_setup_pending"], json!(true), "{svc}");
}

#[tokio::test]
async fn setup_for_enrolled_user_does_not_reveal_the_secret() {
    let mock = Mock::with_hints().await;
    let token = mock.admin_pending_token().await;
    let r = mock.post_auth(SETUP, &token, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.json(),
        json!({"enabled": true, "message": "Two-factor authentication is already enabled."})
    );
}

#[tokio::test]
async fn setup_for_unenrolled_user_returns_secret_and_otpauth_url() {
    let mock = Mock::with_hints().await;
    let token = mock.service_token().await;
    let r = mock.post_auth(SETUP, &token, None).await;
    assert_eq!(r.status, StatusCode::OK);
    let body = r.json();
    assert_eq!(body["enabled"], json!(false));
    let secret = body["secret"].as_str().unwrap();
    assert!(decode_base32(secret).is_some());
    assert_eq!(
        body["otpauth_url"],
        json!(format!(
            "otpauth://totp/Defentry:{DEFAULT_SERVICE_ACCOUNT}?secret={secret}&issuer=Defentry"
        ))
    );
}

#[tokio::test]
async fn setup_without_token_is_401() {
    let mock = Mock::start().await;
    let r = mock.post(SETUP, json!({})).await;
    assert_message(&r, StatusCode::UNAUTHORIZED, "Unauthenticated.");
}

#[tokio::test]
async fn setup_again_replaces_the_pending_secret() {
    let clock = ManualClock::new(fixed_start());
    let mock = Mock::with_hints_and_clock(&clock).await;
    let token = mock.service_token().await;
    let first = mock.post_auth(SETUP, &token, None).await.json()["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = mock.post_auth(SETUP, &token, None).await.json()["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(first, second);
    let stale = code_at(&first, clock.now());
    if stale != code_at(&second, clock.now())
        && stale != code_at(&second, clock.now() - TimeDelta::seconds(30))
    {
        let r = mock
            .post_auth(VERIFY, &token, Some(json!({"code": stale})))
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let r = mock
        .post_auth(
            VERIFY,
            &token,
            Some(json!({"code": code_at(&second, clock.now())})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test]
async fn verify_with_current_code_makes_pending_token_usable() {
    let mock = Mock::start().await;
    let token = mock.admin_pending_token().await;
    let r = mock
        .post_auth(VERIFY, &token, Some(json!({"code": admin_code_now()})))
        .await;
    assert_message(&r, StatusCode::OK, "Two-factor authentication verified.");
    assert_eq!(mock.whoami(&token).await.status, StatusCode::OK);
    let sessions = mock.sessions().await;
    assert_eq!(sessions["sessions"][0]["two_factor_verified"], json!(true));

    let mock = Mock::with_hints().await;
    let token = mock.admin_pending_token().await;
    let r = mock
        .post_auth(VERIFY, &token, Some(json!({"code": admin_code_now()})))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.json(),
        json!({"verified": true, "message": "Two-factor authentication verified."})
    );
    assert_eq!(mock.whoami(&token).await.status, StatusCode::OK);
}

#[tokio::test]
async fn verify_accepts_the_previous_step() {
    let clock = ManualClock::new(fixed_start());
    let mock = Mock::with_clock(&clock).await;
    let token = mock.admin_pending_token().await;
    let previous = code_at(
        DEFAULT_ADMIN_TOTP_SECRET,
        clock.now() - TimeDelta::seconds(30),
    );
    let r = mock
        .post_auth(VERIFY, &token, Some(json!({"code": previous})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test]
async fn verify_rejects_a_code_two_steps_old() {
    let clock = ManualClock::new(fixed_start());
    let mock = Mock::with_clock(&clock).await;
    let token = mock.admin_pending_token().await;
    let old = code_at(
        DEFAULT_ADMIN_TOTP_SECRET,
        clock.now() - TimeDelta::seconds(60),
    );
    let valid = [
        code_at(DEFAULT_ADMIN_TOTP_SECRET, clock.now()),
        code_at(
            DEFAULT_ADMIN_TOTP_SECRET,
            clock.now() - TimeDelta::seconds(30),
        ),
    ];
    assert!(!valid.contains(&old), "fixed start chosen so codes differ");
    let r = mock
        .post_auth(VERIFY, &token, Some(json!({"code": old})))
        .await;
    assert_field_error(
        &r,
        "code",
        "The provided two factor authentication code was invalid.",
    );
    assert_eq!(mock.whoami(&token).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn verify_with_malformed_code_is_422() {
    let mock = Mock::start().await;
    let token = mock.admin_pending_token().await;
    for body in [
        json!({}),
        json!({"code": "12345"}),
        json!({"code": "abcdef"}),
    ] {
        let r = mock.post_auth(VERIFY, &token, Some(body)).await;
        assert_field_error(
            &r,
            "code",
            "The provided two factor authentication code was invalid.",
        );
    }
}

#[tokio::test]
async fn verify_without_token_is_401() {
    let mock = Mock::start().await;
    let r = mock.post(VERIFY, json!({"code": admin_code_now()})).await;
    assert_message(&r, StatusCode::UNAUTHORIZED, "Unauthenticated.");
}

#[tokio::test]
async fn setup_then_verify_enrols_the_user() {
    let mock = Mock::with_hints().await;
    let token = mock.service_token().await;
    let secret = mock.post_auth(SETUP, &token, None).await.json()["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = mock
        .post_auth(
            VERIFY,
            &token,
            Some(json!({"code": code_at(&secret, Utc::now())})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = mock.service_login().await;
    assert_eq!(r.json()["two_factor_required"], json!(true));
}

// ---------------------------------------------------------------- password

#[tokio::test]
async fn forgot_for_known_email_writes_the_outbox() {
    let mock = Mock::start().await;
    let r = mock.post(FORGOT, json!({"email": DEFAULT_ADMIN})).await;
    assert_message(
        &r,
        StatusCode::OK,
        "We have emailed your password reset link.",
    );
    let outbox = mock.get("/_mock/outbox").await.json();
    let messages = outbox["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["to"], json!(DEFAULT_ADMIN));
    assert!(!messages[0]["reset_token"].as_str().unwrap().is_empty());
    assert!(DateTime::parse_from_rfc3339(messages[0]["sent_at"].as_str().unwrap()).is_ok());
}

#[tokio::test]
async fn forgot_for_unknown_email_answers_the_same_without_mail() {
    let mock = Mock::start().await;
    let r = mock
        .post(FORGOT, json!({"email": "nobody@partner.com"}))
        .await;
    assert_message(
        &r,
        StatusCode::OK,
        "We have emailed your password reset link.",
    );
    let outbox = mock.get("/_mock/outbox").await.json();
    assert_eq!(outbox, json!({"messages": []}));
}

#[tokio::test]
async fn forgot_with_invalid_email_is_422() {
    let mock = Mock::start().await;
    let r = mock.post(FORGOT, json!({"email": "not-an-email"})).await;
    assert_field_error(
        &r,
        "email",
        "The email field must be a valid email address.",
    );
}

#[tokio::test]
async fn forgot_with_missing_email_is_422() {
    let mock = Mock::start().await;
    let r = mock.post(FORGOT, json!({})).await;
    assert_field_error(&r, "email", "The email field is required.");
}

#[tokio::test]
async fn reset_changes_the_password() {
    let mock = Mock::start().await;
    mock.post(FORGOT, json!({"email": DEFAULT_ADMIN})).await;
    let token = mock.outbox_token().await;
    let r = mock
        .post(
            RESET,
            json!({"token": token, "password": "new-password-1", "password_confirmation": "new-password-1"}),
        )
        .await;
    assert_message(&r, StatusCode::OK, "Your password has been reset.");
    let old = mock
        .login_as(DEFAULT_ADMIN, DEFAULT_ADMIN_PASSWORD, false)
        .await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    let new = mock.login_as(DEFAULT_ADMIN, "new-password-1", false).await;
    assert_eq!(new.status, StatusCode::OK);
}

#[tokio::test]
async fn reset_token_is_single_use() {
    let mock = Mock::start().await;
    mock.post(FORGOT, json!({"email": DEFAULT_ADMIN})).await;
    let token = mock.outbox_token().await;
    let body = json!({"token": token, "password": "new-password-1", "password_confirmation": "new-password-1"});
    assert_eq!(mock.post(RESET, body.clone()).await.status, StatusCode::OK);
    let r = mock.post(RESET, body).await;
    assert_field_error(&r, "token", "This password reset token is invalid.");
}

#[tokio::test]
async fn reset_token_expires_after_60_minutes() {
    let clock = ManualClock::new(fixed_start());
    let mock = Mock::with_clock(&clock).await;
    mock.post(FORGOT, json!({"email": DEFAULT_ADMIN})).await;
    let token = mock.outbox_token().await;
    clock.advance(TimeDelta::minutes(60));
    let r = mock
        .post(
            RESET,
            json!({"token": token, "password": "new-password-1", "password_confirmation": "new-password-1"}),
        )
        .await;
    assert_field_error(&r, "token", "This password reset token is invalid.");
}

#[tokio::test]
async fn reset_with_unknown_token_is_422() {
    let mock = Mock::start().await;
    let r = mock
        .post(
            RESET,
            json!({"token": "nope", "password": "new-password-1", "password_confirmation": "new-password-1"}),
        )
        .await;
    assert_field_error(&r, "token", "This password reset token is invalid.");
}

#[tokio::test]
async fn reset_with_mismatched_confirmation_is_422() {
    let mock = Mock::start().await;
    let r = mock
        .post(
            RESET,
            json!({"token": "t", "password": "new-password-1", "password_confirmation": "other-password"}),
        )
        .await;
    assert_field_error(
        &r,
        "password",
        "The password field confirmation does not match.",
    );
}

#[tokio::test]
async fn reset_with_short_password_is_422() {
    let mock = Mock::start().await;
    let r = mock
        .post(
            RESET,
            json!({"token": "t", "password": "short", "password_confirmation": "short"}),
        )
        .await;
    assert_field_error(
        &r,
        "password",
        "The password field must be at least 8 characters.",
    );
}

#[tokio::test]
async fn reset_with_missing_fields_is_422_per_field() {
    let mock = Mock::start().await;
    let r = mock.post(RESET, json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.json()["errors"],
        json!({
            "token": ["The token field is required."],
            "password": ["The password field is required."]
        })
    );
}

// ---------------------------------------------------------------- routing

#[tokio::test]
async fn unknown_route_is_404_json() {
    let mock = Mock::start().await;
    let r = mock.get("/api/v1/crm/customers").await;
    assert_message(&r, StatusCode::NOT_FOUND, "Not Found.");
}

#[tokio::test]
async fn wrong_method_is_405_json() {
    let mock = Mock::start().await;
    let r = mock.get(LOGIN).await;
    assert_message(&r, StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed.");
}

// ---------------------------------------------------------------- /_mock inspection

#[tokio::test]
async fn hints_can_be_switched_at_runtime_and_reset_restores_them() {
    let mock = Mock::start().await;
    assert_eq!(
        mock.get("/_mock/settings").await.json(),
        settings_json(false)
    );
    let r = mock.post("/_mock/settings", json!({"hints": true})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json(), settings_json(true));
    let r = mock
        .login_as(DEFAULT_ADMIN, DEFAULT_ADMIN_PASSWORD, false)
        .await;
    assert_eq!(r.json()["two_factor_required"], json!(true));
    for (body, field) in [
        (json!({"hints": "yes"}), "hints"),
        (json!({"hint": true}), "hint"),
    ] {
        let r = mock.post("/_mock/settings", body).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
        assert!(r.json()["errors"][field].is_array(), "{}", r.text);
    }
    assert_eq!(
        mock.get("/_mock/settings").await.json(),
        settings_json(true)
    );
    assert_eq!(
        mock.post("/_mock/reset", json!({})).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        mock.get("/_mock/settings").await.json(),
        settings_json(false)
    );
}

/// `GET /_mock/settings` of a default mock, with `hints` as given.
fn settings_json(hints: bool) -> Value {
    json!({
        "hints": hints,
        "rate_limit": 0,
        "rate_limit_window_secs": 60,
        "allow_totp_reuse": false,
    })
}

#[tokio::test]
async fn users_show_their_2fa_enrolment() {
    let mock = Mock::start().await;
    let users = mock.get("/_mock/users").await.json();
    assert_eq!(
        users,
        json!({"users": [
            {"username": DEFAULT_SERVICE_ACCOUNT, "email": DEFAULT_SERVICE_ACCOUNT,
             "two_factor_enrolled": false, "two_factor_setup_pending": false},
            {"username": DEFAULT_ADMIN, "email": DEFAULT_ADMIN,
             "two_factor_enrolled": true, "two_factor_setup_pending": false},
        ]})
    );
}

#[tokio::test]
async fn sessions_can_be_filtered_by_username() {
    let mock = Mock::start().await;
    mock.service_token().await;
    mock.admin_pending_token().await;
    let r = mock
        .get("/_mock/sessions?username=admin%40partner.com")
        .await
        .json();
    assert_eq!(r["active"], json!(1));
    assert_eq!(r["logins"], json!(1));
    assert_eq!(r["sessions"][0]["username"], json!(DEFAULT_ADMIN));
    let s = &r["sessions"][0];
    for key in [
        "token_id",
        "username",
        "keep_logged",
        "created_at",
        "expires_at",
        "two_factor_verified",
    ] {
        assert!(s.get(key).is_some(), "{key} missing in {s}");
    }
}

#[tokio::test]
async fn request_log_has_method_path_status_only() {
    let mock = Mock::start().await;
    mock.login_as(DEFAULT_SERVICE_ACCOUNT, "wrong", false).await;
    mock.get("/_mock/sessions").await;
    let log = mock.get("/_mock/requests").await.json();
    let requests = log["requests"].as_array().unwrap();
    assert_eq!(
        requests.len(),
        1,
        "control endpoints are not recorded: {log}"
    );
    let entry = requests[0].as_object().unwrap();
    assert_eq!(entry["method"], json!("POST"));
    assert_eq!(entry["path"], json!(LOGIN));
    assert_eq!(entry["status"], json!(401));
    assert!(DateTime::parse_from_rfc3339(entry["at"].as_str().unwrap()).is_ok());
    assert_eq!(entry.len(), 4);
    assert!(!log.to_string().contains("wrong"));
}

#[tokio::test]
async fn mock_reset_clears_sessions_outbox_log_faults_and_counters() {
    let mock = Mock::start().await;
    let token = mock.service_token().await;
    mock.post(FORGOT, json!({"email": DEFAULT_ADMIN})).await;
    mock.add_fault(json!({"path": LOGIN, "status": 500})).await;
    let r = mock.post("/_mock/reset", json!({})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(mock.whoami(&token).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        mock.sessions().await,
        json!({"active": 0, "logins": 0, "logouts": 0, "sessions": []})
    );
    assert_eq!(
        mock.get("/_mock/outbox").await.json(),
        json!({"messages": []})
    );
    assert_eq!(
        mock.get("/_mock/faults").await.json(),
        json!({"faults": []})
    );
    // Only the whoami above was recorded after the reset.
    let log = mock.get("/_mock/requests").await.json();
    assert_eq!(log["requests"].as_array().unwrap().len(), 1, "{log}");
}

// ---------------------------------------------------------------- faults

#[tokio::test]
async fn fault_answers_status_for_count_requests_then_normal() {
    let mock = Mock::start().await;
    mock.add_fault(json!({"path": LOGIN, "status": 503, "count": 2}))
        .await;
    for _ in 0..2 {
        let r = mock
            .login_as(
                DEFAULT_SERVICE_ACCOUNT,
                DEFAULT_SERVICE_ACCOUNT_PASSWORD,
                false,
            )
            .await;
        assert_message(&r, StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable.");
    }
    mock.service_token().await;
    assert_eq!(mock.sessions().await["logins"], json!(1));
}

#[tokio::test]
async fn fault_sets_retry_after() {
    let mock = Mock::start().await;
    mock.add_fault(json!({"path": LOGIN, "status": 429, "retry_after": "3"}))
        .await;
    let r = mock.login_as("a", "b", false).await;
    assert_message(&r, StatusCode::TOO_MANY_REQUESTS, "Too Many Attempts.");
    assert_eq!(r.headers[RETRY_AFTER], "3");
}

#[tokio::test]
async fn fault_delay_then_status() {
    let mock = Mock::start().await;
    mock.add_fault(json!({"path": LOGIN, "status": 504, "delay_ms": 300}))
        .await;
    let started = Instant::now();
    let r = mock.login_as("a", "b", false).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(r.status, StatusCode::GATEWAY_TIMEOUT);
}

#[tokio::test]
async fn fault_without_status_only_delays() {
    let mock = Mock::start().await;
    mock.add_fault(json!({"path": LOGIN, "delay_ms": 300}))
        .await;
    let started = Instant::now();
    mock.service_token().await;
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn fault_with_raw_malformed_body() {
    let mock = Mock::start().await;
    mock.add_fault(json!({"path": LOGIN, "status": 200, "body": "{\"token\": ", "content_type": "application/json"}))
        .await;
    let r = mock.login_as("a", "b", false).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers[CONTENT_TYPE], "application/json");
    assert_eq!(r.text, "{\"token\": ");
}

#[tokio::test]
async fn fault_with_html_body() {
    let mock = Mock::start().await;
    mock.add_fault(json!({"path": LOGIN, "status": 502, "body": "<html>Bad Gateway</html>", "content_type": "text/html"}))
        .await;
    let r = mock.login_as("a", "b", false).await;
    assert_eq!(r.status, StatusCode::BAD_GATEWAY);
    assert_eq!(r.headers[CONTENT_TYPE], "text/html");
    assert_eq!(r.text, "<html>Bad Gateway</html>");
}

#[tokio::test]
async fn fault_matches_method() {
    let mock = Mock::start().await;
    mock.add_fault(json!({"path": LOGIN, "method": "GET", "status": 500}))
        .await;
    mock.service_token().await;
    assert_eq!(
        mock.get("/_mock/faults").await.json()["faults"][0]["count"],
        json!(1)
    );
    assert_eq!(
        mock.get(LOGIN).await.status,
        StatusCode::INTERNAL_SERVER_ERROR
    );
}

#[tokio::test]
async fn faults_can_be_listed_and_cleared() {
    let mock = Mock::start().await;
    mock.add_fault(json!({"path": LOGIN, "status": 500, "count": 3}))
        .await;
    mock.login_as("a", "b", false).await;
    let listed = mock.get("/_mock/faults").await.json();
    assert_eq!(listed["faults"].as_array().unwrap().len(), 1);
    assert_eq!(listed["faults"][0]["count"], json!(2));
    assert_eq!(listed["faults"][0]["path"], json!(LOGIN));
    let r = mock.send(mock.http.delete(mock.url("/_mock/faults"))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        mock.get("/_mock/faults").await.json(),
        json!({"faults": []})
    );
    mock.service_token().await;
}

#[tokio::test]
async fn fault_spec_is_validated() {
    let mock = Mock::start().await;
    let r = mock
        .post("/_mock/faults", json!({"status": 42, "count": 0}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let errors = r.json()["errors"].clone();
    for field in ["path", "status", "count"] {
        assert!(errors.get(field).is_some(), "{field}: {errors}");
    }
}

#[tokio::test]
async fn fault_spec_with_unknown_keys_or_wrong_types_is_422_naming_them() {
    let mock = Mock::start().await;
    // Misspelt keys used to register a fault that did nothing.
    let r = mock
        .post(
            "/_mock/faults",
            json!({"path": LOGIN, "delay": 300, "stauts": 503, "count": "2"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let errors = r.json()["errors"].clone();
    for field in ["delay", "stauts", "count"] {
        assert!(errors.get(field).is_some(), "{field}: {errors}");
    }
    assert!(errors.get("path").is_none(), "{errors}");
    let delay = errors["delay"][0].as_str().unwrap();
    assert!(
        delay.contains("not a fault setting") && delay.contains("delay_ms"),
        "{delay}"
    );
    assert_eq!(
        mock.get("/_mock/faults").await.json(),
        json!({"faults": []}),
        "nothing was registered"
    );
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let mock = Mock::start().await;
    let big = "x".repeat(2 << 20);
    for path in ["/_mock/faults", LOGIN] {
        let r = mock.post(path, json!({"path": LOGIN, "body": big})).await;
        assert_eq!(
            r.status,
            StatusCode::PAYLOAD_TOO_LARGE,
            "{path}: {}",
            r.text
        );
        assert_eq!(r.json()["message"], json!("Content Too Large."));
    }
    // The same body without a length up front (chunked) is cut off at the limit too.
    {
        use tokio::io::AsyncWriteExt as _;
        let mut s = tokio::net::TcpStream::connect(mock.server.addr())
            .await
            .unwrap();
        s.write_all(b"POST /_mock/faults HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
            .await
            .unwrap();
        let chunk = vec![b' '; 1 << 20];
        for _ in 0..3 {
            let head = format!("{:x}\r\n", chunk.len());
            // The mock may answer and close before taking it all.
            if s.write_all(head.as_bytes()).await.is_err()
                || s.write_all(&chunk).await.is_err()
                || s.write_all(b"\r\n").await.is_err()
            {
                break;
            }
        }
        let _ = s.write_all(b"0\r\n\r\n").await;
        let reply = read_until_closed(&mut s, Duration::from_secs(10)).await;
        assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");
    }
    // Bodies within the limit are still answered normally.
    let r = mock
        .post(LOGIN, json!({"username": "", "password": ""}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// Reads from `stream` until the server closes it (bounded), returning what it sent.
async fn read_until_closed(stream: &mut tokio::net::TcpStream, limit: Duration) -> String {
    use tokio::io::AsyncReadExt as _;
    let mut got = Vec::new();
    tokio::time::timeout(limit, stream.read_to_end(&mut got))
        .await
        .expect("the mock kept a stalled connection open")
        .ok();
    String::from_utf8_lossy(&got).into_owned()
}

#[tokio::test]
async fn idle_and_stalled_connections_are_closed() {
    use terraform_provider_defentry::mock::{spawn_state, MockState};
    use tokio::io::AsyncWriteExt as _;
    let idle = Duration::from_millis(300);
    let state = MockState::new(&MockConfig::default())
        .unwrap()
        .with_idle_timeout(idle);
    let server = spawn_state(state).await.unwrap();
    let connect = || tokio::net::TcpStream::connect(server.addr());
    let limit = Duration::from_secs(10);

    // Connected, sends nothing.
    let mut s = connect().await.unwrap();
    let started = Instant::now();
    read_until_closed(&mut s, limit).await;
    assert!(started.elapsed() >= idle, "closed before the idle timeout");

    // Stalls in the middle of the request head.
    let mut s = connect().await.unwrap();
    s.write_all(b"POST /api/v1/crm/auth/login HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    read_until_closed(&mut s, limit).await;

    // Stalls in the middle of the body: 408.
    let mut s = connect().await.unwrap();
    s.write_all(
        b"POST /api/v1/crm/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"user",
    )
    .await
    .unwrap();
    let reply = read_until_closed(&mut s, limit).await;
    assert!(reply.starts_with("HTTP/1.1 408"), "{reply}");

    // Idle after a complete request on a kept-alive connection.
    let mut s = connect().await.unwrap();
    s.write_all(b"GET /_mock/sessions HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let reply = read_until_closed(&mut s, limit).await;
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
}

#[tokio::test]
async fn fault_is_recorded_in_the_request_log() {
    let mock = Mock::start().await;
    mock.add_fault(json!({"path": LOGIN, "status": 503})).await;
    mock.login_as("a", "b", false).await;
    let log = mock.get("/_mock/requests").await.json();
    assert_eq!(log["requests"][0]["status"], json!(503));
}

#[tokio::test]
async fn control_endpoints_are_never_faulted() {
    let mock = Mock::start().await;
    mock.add_fault(json!({"path": "/_mock/sessions", "status": 500}))
        .await;
    assert_eq!(mock.get("/_mock/sessions").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_delayed_request_does_not_block_others() {
    let mock = Mock::start().await;
    mock.add_fault(json!({"path": WHOAMI, "delay_ms": 5000, "status": 503}))
        .await;
    let url = mock.url(WHOAMI);
    let http = mock.http.clone();
    let delayed = tokio::spawn(async move { http.get(url).send().await.map(|r| r.status()) });
    // Wait until the delayed request has consumed its fault, i.e. is inside the delay.
    while !mock.get("/_mock/faults").await.json()["faults"]
        .as_array()
        .unwrap()
        .is_empty()
    {
        tokio::task::yield_now().await;
    }
    let started = Instant::now();
    mock.service_token().await;
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(!delayed.is_finished());
    delayed.abort();
}

// ---------------------------------------------------------------- the binary

mod binary {
    use std::process::Stdio;

    use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
    use tokio::process::Command;

    use super::*;

    #[tokio::test]
    async fn binary_prints_url_serves_and_exits_0_on_sigterm() {
        let mut child = Command::new(env!("CARGO_BIN_EXE_defentry-mock"))
            .args(["--listen", "127.0.0.1:0", "--token-ttl", "2m"])
            .env("RUST_LOG", "debug")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let url = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("no readiness line")
            .unwrap()
            .unwrap();
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");

        let http = Client::new();
        let login: Value = http
            .post(format!("{url}{LOGIN}"))
            .json(&json!({"username": DEFAULT_SERVICE_ACCOUNT, "password": DEFAULT_SERVICE_ACCOUNT_PASSWORD}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = login["token"].as_str().unwrap().to_owned();
        let who = http
            .get(format!("{url}{WHOAMI}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(who.status(), StatusCode::OK);
        let sessions: Value = http
            .get(format!("{url}/_mock/sessions"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let s = &sessions["sessions"][0];
        let created = DateTime::parse_from_rfc3339(s["created_at"].as_str().unwrap()).unwrap();
        let expires = DateTime::parse_from_rfc3339(s["expires_at"].as_str().unwrap()).unwrap();
        assert_eq!(expires - created, TimeDelta::minutes(2));

        let pid = child.id().unwrap().to_string();
        let kill = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(kill.success());
        let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
            .await
            .expect("mock did not exit after SIGTERM")
            .unwrap();
        assert!(status.success(), "{status:?}");

        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .await
            .unwrap();
        assert!(stderr.contains("/api/v1/crm/auth/login"), "{stderr}");
        let (_, secret) = token.split_once('|').unwrap();
        assert!(!stderr.contains(secret), "token secret logged");
        assert!(
            !stderr.contains(DEFAULT_SERVICE_ACCOUNT_PASSWORD),
            "password logged"
        );
        assert!(
            lines.next_line().await.unwrap().is_none(),
            "stdout has only the URL"
        );
    }

    /// Starts the binary and returns it with its base URL (read from the first stdout line).
    async fn start_binary(args: &[&str]) -> (tokio::process::Child, String) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_defentry-mock"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let url = tokio::time::timeout(
            Duration::from_secs(30),
            BufReader::new(stdout).lines().next_line(),
        )
        .await
        .expect("no readiness line")
        .unwrap()
        .unwrap();
        (child, url)
    }

    #[tokio::test]
    async fn binary_users_file_replaces_defaults_and_user_flag_adds() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("users.json");
        std::fs::write(
            &file,
            r#"[{"username": "ci@example.com", "password": "ci-password"}]"#,
        )
        .unwrap();
        let (mut child, url) = start_binary(&[
            "--hints",
            "--users",
            file.to_str().unwrap(),
            "--user",
            "bob:bob-password:JBSWY3DPEHPK3PXP",
        ])
        .await;
        let http = Client::new();
        let login = |user: &'static str, password: &'static str| {
            http.post(format!("{url}{LOGIN}"))
                .json(&json!({"username": user, "password": password}))
                .send()
        };
        let ci = login("ci@example.com", "ci-password").await.unwrap();
        assert_eq!(ci.status(), StatusCode::OK);
        let bob: Value = login("bob", "bob-password")
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(bob["two_factor_required"], json!(true));
        let default = login(DEFAULT_SERVICE_ACCOUNT, DEFAULT_SERVICE_ACCOUNT_PASSWORD)
            .await
            .unwrap();
        assert_eq!(default.status(), StatusCode::UNAUTHORIZED);
        child.kill().await.unwrap();
    }

    #[tokio::test]
    async fn binary_rejects_a_bad_user_without_echoing_its_password() {
        let output = Command::new(env!("CARGO_BIN_EXE_defentry-mock"))
            .args(["--user", "bob:Sup3rSecret:not-base32!"])
            .output()
            .await
            .unwrap();
        assert_eq!(output.status.code(), Some(2));
        assert!(output.stdout.is_empty());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("bob"), "{stderr}");
        assert!(!stderr.contains("Sup3rSecret"), "{stderr}");
    }

    #[tokio::test]
    async fn binary_rate_limit_and_totp_reuse_flags() {
        let (mut child, url) = start_binary(&[
            "--rate-limit",
            "2",
            "--rate-limit-window",
            "90",
            "--allow-totp-reuse",
        ])
        .await;
        let http = Client::new();
        let settings: Value = http
            .get(format!("{url}/_mock/settings"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(settings["rate_limit"], json!(2));
        assert_eq!(settings["rate_limit_window_secs"], json!(90));
        assert_eq!(settings["allow_totp_reuse"], json!(true));
        let mut statuses = Vec::new();
        for _ in 0..3 {
            let r = http
                .post(format!("{url}{LOGIN}"))
                .json(&json!({"username": DEFAULT_SERVICE_ACCOUNT, "password": DEFAULT_SERVICE_ACCOUNT_PASSWORD}))
                .send()
                .await
                .unwrap();
            statuses.push(r.status().as_u16());
        }
        assert_eq!(statuses, [200, 200, 429]);
        child.kill().await.unwrap();

        let output = Command::new(env!("CARGO_BIN_EXE_defentry-mock"))
            .args(["--rate-limit-window", "0"])
            .output()
            .await
            .unwrap();
        assert!(!output.status.success());
        assert!(output.stdout.is_empty());
    }

    #[tokio::test]
    async fn binary_help_documents_the_rate_limit_default() {
        let output = Command::new(env!("CARGO_BIN_EXE_defentry-mock"))
            .arg("--help")
            .output()
            .await
            .unwrap();
        assert!(output.status.success());
        let help = String::from_utf8_lossy(&output.stdout);
        assert!(help.contains("--rate-limit <N>"), "{help}");
        assert!(help.contains("0 = off, the default"), "{help}");
        assert!(help.contains("--allow-totp-reuse"), "{help}");
    }

    #[tokio::test]
    async fn binary_rejects_a_bad_duration() {
        let output = Command::new(env!("CARGO_BIN_EXE_defentry-mock"))
            .args(["--token-ttl", "soon"])
            .output()
            .await
            .unwrap();
        assert!(!output.status.success());
        assert!(output.stdout.is_empty());
        assert!(String::from_utf8_lossy(&output.stderr).contains("invalid duration"));
    }
}

// ---------------------------------------------------------------- throttle:api (issue 17)

fn header(reply: &Reply, name: &str) -> Option<String> {
    reply
        .headers
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

fn remaining(reply: &Reply) -> Option<String> {
    header(reply, "x-ratelimit-remaining")
}

/// Asserts Laravel's 429: body, `Retry-After`, `X-RateLimit-Reset`, `-Limit`, `-Remaining: 0`.
fn assert_throttled(reply: &Reply, limit: u32, retry_after: u64, reset_at: i64) {
    assert_message(reply, StatusCode::TOO_MANY_REQUESTS, "Too Many Attempts.");
    assert_eq!(header(reply, "retry-after"), Some(retry_after.to_string()));
    assert_eq!(
        header(reply, "x-ratelimit-reset"),
        Some(reset_at.to_string())
    );
    assert_eq!(header(reply, "x-ratelimit-limit"), Some(limit.to_string()));
    assert_eq!(remaining(reply), Some("0".to_owned()));
}

#[tokio::test]
async fn rate_limit_is_off_by_default() {
    let mock = Mock::start().await;
    for _ in 0..100 {
        let r = mock.service_login().await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(header(&r, "x-ratelimit-limit"), None);
    }
    let view = mock.get(RATE_LIMIT).await.json();
    assert_eq!(
        view,
        json!({"limit": 0, "window_secs": 60, "throttled": 0, "windows": 0, "buckets": []})
    );
}

#[tokio::test]
async fn rate_limit_counts_per_ip_before_login_with_headers_on_every_answer() {
    let clock = ManualClock::new(fixed_start());
    let mock = Mock::throttled(3, &clock).await;
    let start = fixed_start().timestamp();
    // Every answer counts, a failed login too, and carries the limit and what is left.
    let r = mock.login_as(DEFAULT_SERVICE_ACCOUNT, "wrong", false).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(header(&r, "x-ratelimit-limit"), Some("3".to_owned()));
    assert_eq!(remaining(&r), Some("2".to_owned()));
    assert_eq!(remaining(&mock.service_login().await), Some("1".to_owned()));
    clock.advance(TimeDelta::seconds(20));
    let r = mock.service_login().await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(remaining(&r), Some("0".to_owned()));
    // The window opened at the first request: 40 s are left 20 s in.
    let r = mock.service_login().await;
    assert_throttled(&r, 3, 40, start + 60);
    assert_eq!(
        mock.sessions().await["logins"],
        json!(2),
        "a 429 never logs in"
    );

    // Another client address has its own window.
    let other = Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)))
        .build()
        .unwrap();
    let r = mock
        .send(other.post(mock.url(LOGIN)).json(&json!({
            "username": DEFAULT_SERVICE_ACCOUNT,
            "password": DEFAULT_SERVICE_ACCOUNT_PASSWORD,
        })))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(remaining(&r), Some("2".to_owned()));

    let view = mock.get(RATE_LIMIT).await.json();
    assert_eq!(
        view,
        json!({
            "limit": 3,
            "window_secs": 60,
            "throttled": 1,
            "windows": 2,
            "buckets": [
                {"key": "ip:127.0.0.1", "hits": 3, "resets_at": start + 60},
                {"key": "ip:127.0.0.2", "hits": 1, "resets_at": start + 80},
            ],
        })
    );
}

#[tokio::test]
async fn rate_limit_counts_per_user_with_a_token_and_refusals_do_not_count() {
    let clock = ManualClock::new(fixed_start());
    let mock = Mock::throttled(3, &clock).await;
    let start = fixed_start().timestamp();
    let first = mock.service_token().await;
    let second = mock.service_token().await;
    let admin = mock.admin_pending_token().await;
    // The IP's window is spent; requests with a token count against their user instead.
    assert_throttled(&mock.service_login().await, 3, 60, start + 60);
    let r = mock.post_auth(SETUP, &first, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(remaining(&r), Some("2".to_owned()));
    // Two tokens of one user share the user's window.
    let r = mock.post_auth(LOGOUT, &second, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(remaining(&r), Some("1".to_owned()));
    // Another user has a window of its own; a pending-2FA token is its user's, as in Sanctum.
    let r = mock.post_auth(SETUP, &admin, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(remaining(&r), Some("2".to_owned()));
    assert_eq!(
        remaining(&mock.post_auth(SETUP, &first, None).await),
        Some("0".to_owned())
    );
    clock.advance(TimeDelta::seconds(59));
    for _ in 0..3 {
        assert_throttled(
            &mock.post_auth(LOGOUT, &first, None).await,
            3,
            1,
            start + 60,
        );
    }
    let svc = mock
        .get(&format!(
            "/_mock/sessions?username={DEFAULT_SERVICE_ACCOUNT}"
        ))
        .await
        .json();
    assert_eq!(svc["active"], json!(1), "a refused logout did nothing");
    let view = mock.get(RATE_LIMIT).await.json();
    assert_eq!(view["throttled"], json!(4));
    let keys: Vec<&str> = view["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["ip:127.0.0.1", "user:1", "user:2"]);
    // Refused requests did not count: the window ends on time and the next one is fresh.
    clock.advance(TimeDelta::seconds(1));
    let r = mock.post_auth(LOGOUT, &first, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(remaining(&r), Some("2".to_owned()));
}

#[tokio::test]
async fn rate_limit_retry_after_is_0_in_the_window_s_last_second() {
    // The window opens at T.600: Laravel stores its end as the whole second T+60 while the
    // counter lives until T+60.600, so between the two a 429 says Retry-After: 0.
    let start = fixed_start() + TimeDelta::milliseconds(600);
    let clock = ManualClock::new(start);
    let mock = Mock::throttled(1, &clock).await;
    let t = fixed_start().timestamp();
    assert_eq!(mock.service_login().await.status, StatusCode::OK);
    clock.set(start + TimeDelta::milliseconds(59_300));
    assert_throttled(&mock.service_login().await, 1, 1, t + 60);
    clock.set(start + TimeDelta::milliseconds(59_500));
    assert_throttled(&mock.service_login().await, 1, 0, t + 60);
    clock.set(start + TimeDelta::seconds(60));
    let r = mock.service_login().await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(remaining(&r), Some("0".to_owned()));
}

#[tokio::test]
async fn rate_limit_never_throttles_control_routes() {
    let clock = ManualClock::new(fixed_start());
    let mock = Mock::throttled(1, &clock).await;
    let token = mock.service_token().await;
    assert_eq!(
        mock.service_login().await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    for _ in 0..5 {
        for path in [
            "/_mock/sessions",
            "/_mock/users",
            "/_mock/settings",
            "/_mock/outbox",
            "/_mock/requests",
            "/_mock/faults",
            RATE_LIMIT,
        ] {
            let r = mock.get(path).await;
            assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
            assert_eq!(header(&r, "x-ratelimit-limit"), None, "{path}");
        }
        // whoami stands outside /api/v1, so a test can check a token while the CRM throttles.
        assert_eq!(mock.whoami(&token).await.status, StatusCode::OK);
    }
    // Unknown routes are outside the throttled group, as in Laravel.
    let r = mock.get("/api/v1/nope").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(mock.get(RATE_LIMIT).await.json()["throttled"], json!(1));
}

#[tokio::test]
async fn mock_reset_clears_the_rate_limit() {
    let clock = ManualClock::new(fixed_start());
    let mock = Mock::throttled(1, &clock).await;
    mock.service_token().await;
    assert_eq!(
        mock.service_login().await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    let r = mock.post("/_mock/reset", json!({})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        mock.get(RATE_LIMIT).await.json(),
        json!({"limit": 1, "window_secs": 60, "throttled": 0, "windows": 0, "buckets": []})
    );
    assert_eq!(mock.service_login().await.status, StatusCode::OK);
}

#[tokio::test]
async fn rate_limit_is_set_at_runtime_and_reset_restores_it() {
    let clock = ManualClock::new(fixed_start());
    let mock = Mock::with_clock(&clock).await;
    let r = mock
        .post(
            "/_mock/settings",
            json!({"rate_limit": 1, "rate_limit_window_secs": 30}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["rate_limit"], json!(1));
    assert_eq!(r.json()["rate_limit_window_secs"], json!(30));
    assert_eq!(mock.service_login().await.status, StatusCode::OK);
    let start = fixed_start().timestamp();
    assert_throttled(&mock.service_login().await, 1, 30, start + 30);
    for (body, field) in [
        (json!({"rate_limit": -1}), "rate_limit"),
        (json!({"rate_limit": "60"}), "rate_limit"),
        (json!({"rate_limit": 1.5}), "rate_limit"),
        (
            json!({"rate_limit_window_secs": 0}),
            "rate_limit_window_secs",
        ),
        (json!({"allow_totp_reuse": 1}), "allow_totp_reuse"),
    ] {
        let r = mock.post("/_mock/settings", body).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
        assert!(r.json()["errors"][field].is_array(), "{}", r.text);
    }
    let r = mock.post("/_mock/settings", json!({"rate_limit": 0})).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = mock.service_login().await;
    assert_eq!(r.status, StatusCode::OK, "0 turns the limit off");
    assert_eq!(header(&r, "x-ratelimit-limit"), None);
    mock.post("/_mock/reset", json!({})).await;
    assert_eq!(
        mock.get("/_mock/settings").await.json(),
        settings_json(false)
    );
}

// ---------------------------------------------------------------- single-use TOTP (issue 17)

#[tokio::test]
async fn verify_refuses_a_code_already_used_until_the_next_step() {
    let clock = ManualClock::new(fixed_start());
    let mock = Mock::with_clock(&clock).await;
    let code = code_at(DEFAULT_ADMIN_TOTP_SECRET, clock.now());
    let previous = code_at(
        DEFAULT_ADMIN_TOTP_SECRET,
        clock.now() - TimeDelta::seconds(30),
    );
    let first = mock.admin_pending_token().await;
    let r = mock
        .post_auth(VERIFY, &first, Some(json!({"code": code})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // A second login within the step: the used code, and the older one, get a wrong code's 422.
    let second = mock.admin_pending_token().await;
    for used in [&code, &previous] {
        let r = mock
            .post_auth(VERIFY, &second, Some(json!({"code": used})))
            .await;
        assert_field_error(&r, "code", INVALID_CODE);
    }
    assert_eq!(mock.whoami(&second).await.status, StatusCode::FORBIDDEN);
    clock.advance(TimeDelta::seconds(30));
    let next = code_at(DEFAULT_ADMIN_TOTP_SECRET, clock.now());
    let r = mock
        .post_auth(VERIFY, &second, Some(json!({"code": next})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(mock.whoami(&second).await.status, StatusCode::OK);
    // A reset forgets the used codes.
    mock.post("/_mock/reset", json!({})).await;
    let third = mock.admin_pending_token().await;
    let r = mock
        .post_auth(VERIFY, &third, Some(json!({"code": next})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test]
async fn verify_accepts_a_used_code_again_when_reuse_is_allowed() {
    let clock = ManualClock::new(fixed_start());
    let clock_fn = clock.clock();
    let mock = Mock::with(move |c| {
        c.clock = clock_fn;
        c.allow_totp_reuse = true;
    })
    .await;
    let code = code_at(DEFAULT_ADMIN_TOTP_SECRET, clock.now());
    for _ in 0..2 {
        let token = mock.admin_pending_token().await;
        let r = mock
            .post_auth(VERIFY, &token, Some(json!({"code": code})))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    // The switch at runtime: off refuses the used code, on accepts it again.
    let r = mock
        .post("/_mock/settings", json!({"allow_totp_reuse": false}))
        .await;
    assert_eq!(r.json()["allow_totp_reuse"], json!(false));
    let token = mock.admin_pending_token().await;
    let r = mock
        .post_auth(VERIFY, &token, Some(json!({"code": code})))
        .await;
    assert_field_error(&r, "code", INVALID_CODE);
    mock.post("/_mock/settings", json!({"allow_totp_reuse": true}))
        .await;
    let r = mock
        .post_auth(VERIFY, &token, Some(json!({"code": code})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}
