//! Real HTTP round trips between the Defentry client and defentry-mock (in process, on 127.0.0.1:0):
//! every endpoint, every error class, retries, timeouts, TLS trust and log redaction.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

// The mock's own fixtures and the client's own paths, not retyped.
use defentry_mock::{
    decode_base32, spawn, totp_code, MockConfig, MockServer, MockUser, DEFAULT_ADMIN as ADMIN,
    DEFAULT_ADMIN_PASSWORD as ADMIN_PW, DEFAULT_ADMIN_TOTP_SECRET as ADMIN_TOTP,
    DEFAULT_SERVICE_ACCOUNT as SVC, DEFAULT_SERVICE_ACCOUNT_PASSWORD as SVC_PW,
};
use serde_json::{json, Value};
use terraform_provider_defentry::defentry::client::{
    ApiDomain, ApiError, CallCtx, Client, ClientConfig, LoginResponse, LogoutOutcome, Secret,
    LOGIN as LOGIN_PATH,
};
use terraform_provider_defentry::sdk::plugin::testing::LogSink;

async fn mock() -> MockServer {
    mock_with(MockConfig::default()).await
}

/// The mock with its undocumented response fields (`two_factor_required`, `enabled`, `secret`, ...).
async fn mock_with_hints() -> MockServer {
    mock_with(MockConfig {
        hints: true,
        ..MockConfig::default()
    })
    .await
}

async fn mock_with(config: MockConfig) -> MockServer {
    captured_logs();
    spawn(config).await.expect("mock starts")
}

/// Fast retries so the retry tests stay quick; the Retry-After test sets its own delays.
fn config(base: &str) -> ClientConfig {
    captured_logs();
    let mut c = ClientConfig::new(ApiDomain::parse(base).unwrap());
    c.request_timeout = Duration::from_secs(10);
    c.max_retries = 3;
    c.retry_base_delay = Duration::from_millis(10);
    c.retry_max_delay = Duration::from_millis(50);
    c
}

fn client(server: &MockServer) -> Client {
    Client::new(config(server.base_url())).unwrap()
}

/// The context of a call that is never stopped.
fn cx() -> CallCtx {
    CallCtx::unstoppable()
}

fn pw(s: &str) -> Secret {
    Secret::new(s)
}

async fn mock_call(
    server: &MockServer,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Value {
    let http = reqwest::Client::new();
    let mut req = http.request(method, format!("{}{path}", server.base_url()));
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.unwrap();
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    let text = resp.text().await.unwrap();
    if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    }
}

async fn fault(server: &MockServer, fault: Value) {
    mock_call(server, reqwest::Method::POST, "/_mock/faults", Some(fault)).await;
}

/// Queues a fault on the login path (`spec` without its `path`).
async fn login_fault(server: &MockServer, mut spec: Value) {
    spec["path"] = json!(LOGIN_PATH);
    fault(server, spec).await;
}

/// The service account's plain login, with a context that is never stopped.
async fn login_svc(client: &Client) -> Result<LoginResponse, ApiError> {
    client.login(&cx(), SVC, &pw(SVC_PW), false).await
}

/// Statuses the mock answered to requests for `path` (its request log), oldest first.
async fn requests(server: &MockServer, path: &str) -> Vec<u64> {
    let log = mock_call(server, reqwest::Method::GET, "/_mock/requests", None).await;
    log["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["path"] == path)
        .map(|r| r["status"].as_u64().unwrap())
        .collect()
}

async fn sessions(server: &MockServer) -> Value {
    mock_call(server, reqwest::Method::GET, "/_mock/sessions", None).await
}

/// Status of `/_mock/whoami` with this token: stands in for "any CRM call".
async fn whoami(server: &MockServer, token: &Secret) -> u16 {
    reqwest::Client::new()
        .get(format!("{}/_mock/whoami", server.base_url()))
        .bearer_auth(token.expose())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn totp_now(base32: &str) -> Secret {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    Secret::new(totp_code(&decode_base32(base32).unwrap(), now.as_secs()))
}

#[tokio::test]
async fn service_account_login_and_logout() {
    let server = mock().await;
    let client = client(&server);
    let login = login_svc(&client).await.unwrap();
    assert!(!login.two_factor_required);
    let s = sessions(&server).await;
    assert_eq!(s["active"], 1);
    assert_eq!(s["sessions"][0]["token_id"], login.token.id());
    assert_eq!(s["sessions"][0]["keep_logged"], false);
    assert_eq!(whoami(&server, login.token.secret()).await, 200);

    assert_eq!(
        client.logout(&cx(), login.token.secret()).await.unwrap(),
        LogoutOutcome::LoggedOut
    );
    assert_eq!(whoami(&server, login.token.secret()).await, 401);
    assert_eq!(sessions(&server).await["active"], 0);
    // Idempotent: a second logout of the same token is a success too.
    assert_eq!(
        client.logout(&cx(), login.token.secret()).await.unwrap(),
        LogoutOutcome::AlreadyInvalid
    );
    // A token that could never be valid is "already invalid" without a round trip.
    assert_eq!(
        client.logout(&cx(), &pw("not a token")).await.unwrap(),
        LogoutOutcome::AlreadyInvalid
    );
    assert_eq!(
        requests(&server, "/api/v1/crm/logout").await,
        vec![200, 401]
    );
}

#[tokio::test]
async fn keep_logged_and_independent_tokens() {
    let server = mock().await;
    let client = client(&server);
    let a = client.login(&cx(), SVC, &pw(SVC_PW), true).await.unwrap();
    let b = login_svc(&client).await.unwrap();
    assert_ne!(a.token.id(), b.token.id());
    let s = sessions(&server).await;
    assert_eq!(s["active"], 2);
    let keep = s["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["token_id"] == a.token.id())
        .unwrap();
    assert_eq!(keep["keep_logged"], true);
    // Logout revokes only the presented token.
    client.logout(&cx(), a.token.secret()).await.unwrap();
    assert_eq!(whoami(&server, a.token.secret()).await, 401);
    assert_eq!(whoami(&server, b.token.secret()).await, 200);
}

#[tokio::test]
async fn rejected_credentials_name_the_user_and_are_not_retried() {
    let server = mock().await;
    let client = client(&server);
    let err = client
        .login(&cx(), SVC, &pw("wrong-password-7f3a"), false)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ApiError::InvalidCredentials { username } if username == SVC),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains(SVC) && msg.contains("401"), "{msg}");
    assert!(!msg.contains("wrong-password-7f3a") && !format!("{err:?}").contains("wrong-password"));
    assert!(!err.is_retryable());
    let err = client
        .login(&cx(), "nobody@partner.com", &pw(SVC_PW), false)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ApiError::InvalidCredentials { .. }),
        "{err:?}"
    );
    assert_eq!(requests(&server, LOGIN_PATH).await, vec![401, 401]);
}

#[tokio::test]
async fn validation_errors_carry_the_field_messages() {
    let server = mock().await;
    let client = client(&server);
    let err = client
        .login(&cx(), "", &pw(SVC_PW), false)
        .await
        .unwrap_err();
    let ApiError::Validation { message, fields } = &err else {
        panic!("{err:?}")
    };
    assert!(!message.is_empty());
    let username = fields.get("username").expect("username field error");
    assert!(!username.is_empty());
    let msg = err.to_string();
    assert!(
        msg.contains("422") && msg.contains("username: ") && msg.contains(&username[0]),
        "{msg}"
    );
    // 422 is never retried.
    assert_eq!(requests(&server, LOGIN_PATH).await, vec![422]);

    let err = client
        .password_forgot(&cx(), "not-an-email")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ApiError::Validation { fields, .. } if fields.contains_key("email")),
        "{err:?}"
    );
}

#[tokio::test]
async fn unauthenticated_elsewhere() {
    let server = mock().await;
    let client = client(&server);
    let login = login_svc(&client).await.unwrap();
    client.logout(&cx(), login.token.secret()).await.unwrap();
    let err = client
        .two_factor_setup(&cx(), login.token.secret())
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::Unauthenticated), "{err:?}");
    assert!(err.to_string().contains("log in again"), "{err}");
    let err = client
        .two_factor_verify(&cx(), &pw("999|nonexistent"), &pw("123456"))
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::Unauthenticated), "{err:?}");
    // 401 is not retried.
    assert_eq!(requests(&server, "/api/v1/2fa/setup").await, vec![401]);
}

#[tokio::test]
async fn two_factor_of_an_enrolled_admin() {
    for hints in [false, true] {
        let server = if hints {
            mock_with_hints().await
        } else {
            mock().await
        };
        two_factor_of_an_enrolled_admin_against(&server, hints).await;
    }
}

/// Against the documented responses (`hints` false) nothing tells that the login is pending, and
/// setup says nothing about enrolment; with hints both do. The challenge works either way.
async fn two_factor_of_an_enrolled_admin_against(server: &MockServer, hints: bool) {
    let client = client(server);
    let login = client
        .login(&cx(), ADMIN, &pw(ADMIN_PW), false)
        .await
        .unwrap();
    assert_eq!(login.two_factor_required, hints);
    let token = login.token.secret();
    assert_eq!(whoami(server, token).await, 403);

    let setup = client.two_factor_setup(&cx(), token).await.unwrap();
    assert_eq!(setup.enrolled, hints.then_some(true));
    assert!(setup.secret.is_none() && setup.otpauth_url.is_none());

    let err = client
        .two_factor_verify(&cx(), token, &pw("000000"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ApiError::Validation { fields, .. } if fields.contains_key("code")),
        "{err:?}"
    );
    client
        .two_factor_verify(&cx(), token, &totp_now(ADMIN_TOTP))
        .await
        .unwrap();
    assert_eq!(whoami(server, token).await, 200);
    assert_eq!(
        client.logout(&cx(), token).await.unwrap(),
        LogoutOutcome::LoggedOut
    );
}

#[tokio::test]
async fn setup_of_a_user_who_is_not_enrolled() {
    // Documented responses: setup succeeds and says nothing.
    let server = mock().await;
    let api = client(&server);
    let login = login_svc(&api).await.unwrap();
    let setup = api
        .two_factor_setup(&cx(), login.token.secret())
        .await
        .unwrap();
    assert!(setup.enrolled.is_none() && setup.secret.is_none());
    // With hints, the revealed secret says "not enrolled".
    let server = mock_with_hints().await;
    let api = client(&server);
    let login = login_svc(&api).await.unwrap();
    let setup = api
        .two_factor_setup(&cx(), login.token.secret())
        .await
        .unwrap();
    assert_eq!(setup.enrolled, Some(false));
    assert!(setup.secret.is_some());
}

#[tokio::test]
async fn any_2xx_body_of_setup_verify_logout_and_password_calls_is_success() {
    let server = mock().await;
    let client = client(&server);
    let bodies = [
        ("", "application/json"),
        ("<p>done</p>", "text/html"),
        ("[]", "application/json"),
        (r#"{"status":"ok"}"#, "application/json"),
    ];
    for (body, content_type) in bodies {
        let login = login_svc(&client).await.unwrap();
        let token = login.token.secret();
        for path in [
            "/api/v1/2fa/setup",
            "/api/v1/2fa/verify",
            "/api/v1/crm/auth/password/forgot",
            "/api/v1/crm/auth/password/reset",
            "/api/v1/crm/logout",
        ] {
            fault(
                &server,
                json!({"path": path, "status": 200, "count": 1, "body": body, "content_type": content_type}),
            )
            .await;
        }
        let setup = client.two_factor_setup(&cx(), token).await.unwrap();
        assert!(setup.enrolled.is_none(), "{body}");
        client
            .two_factor_verify(&cx(), token, &pw("123456"))
            .await
            .unwrap();
        assert_eq!(
            client.password_forgot(&cx(), ADMIN).await.unwrap(),
            "Password reset link requested."
        );
        assert_eq!(
            client
                .password_reset(&cx(), &pw("reset"), &pw("a-new-password"))
                .await
                .unwrap(),
            "Password reset."
        );
        assert_eq!(
            client.logout(&cx(), token).await.unwrap(),
            LogoutOutcome::LoggedOut,
            "{body}"
        );
    }
    // A server that says the code was not verified is believed.
    let login = login_svc(&client).await.unwrap();
    fault(
        &server,
        json!({"path": "/api/v1/2fa/verify", "status": 200, "count": 1,
               "body": r#"{"verified":false}"#, "content_type": "application/json"}),
    )
    .await;
    let err = client
        .two_factor_verify(&cx(), login.token.secret(), &pw("123456"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ApiError::UnexpectedResponse { reason, .. } if reason.contains("verified")),
        "{err:?}"
    );
}

#[tokio::test]
async fn two_factor_enrolment_of_a_new_user() {
    let mut config = MockConfig {
        hints: true,
        ..MockConfig::default()
    };
    config
        .users
        .push(MockUser::new("new@partner.com", "new-user-password"));
    let server = mock_with(config).await;
    let client = client(&server);
    let login = client
        .login(&cx(), "new@partner.com", &pw("new-user-password"), false)
        .await
        .unwrap();
    assert!(!login.two_factor_required);
    let setup = client
        .two_factor_setup(&cx(), login.token.secret())
        .await
        .unwrap();
    assert_eq!(setup.enrolled, Some(false));
    let secret = setup.secret.expect("a pending secret");
    assert!(setup
        .otpauth_url
        .unwrap()
        .expose()
        .starts_with("otpauth://totp/"));
    client
        .two_factor_verify(&cx(), login.token.secret(), &totp_now(secret.expose()))
        .await
        .unwrap();
    // Now enrolled: the next login is pending 2FA.
    let again = client
        .login(&cx(), "new@partner.com", &pw("new-user-password"), false)
        .await
        .unwrap();
    assert!(again.two_factor_required);
}

#[tokio::test]
async fn forbidden_carries_the_server_message() {
    let server = mock().await;
    let client = client(&server);
    let login = login_svc(&client).await.unwrap();
    fault(
        &server,
        json!({"path": "/api/v1/2fa/setup", "status": 403, "count": 1,
               "body": r#"{"message":"Two-factor authentication required."}"#,
               "content_type": "application/json"}),
    )
    .await;
    let err = client
        .two_factor_setup(&cx(), login.token.secret())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ApiError::Forbidden { message } if message == "Two-factor authentication required."),
        "{err:?}"
    );
    assert!(err.to_string().contains("403"), "{err}");
    assert_eq!(requests(&server, "/api/v1/2fa/setup").await, vec![403]);
}

#[tokio::test]
async fn password_forgot_and_reset() {
    let server = mock_with_hints().await;
    let client = client(&server);
    let msg = client.password_forgot(&cx(), ADMIN).await.unwrap();
    assert!(!msg.is_empty());
    // Unknown addresses get the same answer (no account enumeration).
    assert_eq!(
        client
            .password_forgot(&cx(), "ghost@partner.com")
            .await
            .unwrap(),
        msg
    );
    let outbox = mock_call(&server, reqwest::Method::GET, "/_mock/outbox", None).await;
    let messages = outbox["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1);
    let reset = pw(messages[0]["reset_token"].as_str().unwrap());

    let err = client
        .password_reset(&cx(), &reset, &pw("short"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ApiError::Validation { fields, .. } if fields.contains_key("password")),
        "{err:?}"
    );
    assert!(!err.to_string().contains("short\""), "{err}");

    let new_pw = pw("a-brand-new-password");
    assert!(!client
        .password_reset(&cx(), &reset, &new_pw)
        .await
        .unwrap()
        .is_empty());
    let err = client
        .login(&cx(), ADMIN, &pw(ADMIN_PW), false)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ApiError::InvalidCredentials { .. }),
        "{err:?}"
    );
    assert!(
        client
            .login(&cx(), ADMIN, &new_pw, false)
            .await
            .unwrap()
            .two_factor_required
    );
    // Single use.
    let err = client
        .password_reset(&cx(), &reset, &pw("another-new-password"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ApiError::Validation { fields, .. } if fields.contains_key("token")),
        "{err:?}"
    );
}

#[tokio::test]
async fn rate_limited_then_success() {
    let server = mock().await;
    let client = client(&server);
    login_fault(
        &server,
        json!({"status": 429, "count": 2, "retry_after": "0"}),
    )
    .await;
    let cx = cx();
    client.login(&cx, SVC, &pw(SVC_PW), false).await.unwrap();
    assert_eq!(requests(&server, LOGIN_PATH).await, vec![429, 429, 200]);
    // `Retry-After: 0` (a window's last second) still waits the floor of about a second,
    // and the call context says what was waited, for the warning on the object.
    let waited = cx.waited();
    assert_eq!(waited.throttled, 2);
    assert!(waited.rate_limit >= Duration::from_secs(2), "{waited:?}");
}

#[tokio::test]
async fn rate_limit_waits_are_bounded_by_time_not_attempts() {
    let server = mock().await;
    let mut c = config(server.base_url());
    c.max_retries = 0;
    c.rate_limit_timeout = Duration::from_secs(3);
    let client = Client::new(c).unwrap();
    // max_retries = 0 does not stop a short rate-limit wait.
    login_fault(
        &server,
        json!({"status": 429, "count": 1, "retry_after": "1"}),
    )
    .await;
    login_svc(&client).await.unwrap();
    // A wait beyond the time left is not started: the error names the setting and the wait.
    login_fault(
        &server,
        json!({"status": 429, "count": 10, "retry_after": "30"}),
    )
    .await;
    let err = login_svc(&client).await.unwrap_err();
    let ApiError::RateLimited {
        host,
        timeout,
        retry_after,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(host, &ApiDomain::parse(server.base_url()).unwrap().host());
    assert_eq!(*timeout, Duration::from_secs(3));
    assert!(
        retry_after.is_some_and(|d| d >= Duration::from_secs(30)),
        "{retry_after:?}"
    );
    assert!(err.is_retryable());
    let msg = err.to_string();
    assert!(
        msg.contains(host.as_str()) && msg.contains("429") && msg.contains("rate_limit_timeout"),
        "{msg}"
    );
    assert!(!msg.contains("max_retries"), "{msg}");
    assert_eq!(requests(&server, LOGIN_PATH).await, vec![429, 200, 429]);
}

#[tokio::test]
async fn real_login_rate_limit_of_the_mock() {
    let server = mock_with(MockConfig {
        login_rate_limit: Some(1),
        ..MockConfig::default()
    })
    .await;
    let mut c = config(server.base_url());
    c.rate_limit_timeout = Duration::from_secs(5);
    let client = Client::new(c).unwrap();
    login_svc(&client).await.unwrap();
    let err = login_svc(&client).await.unwrap_err();
    assert!(
        matches!(
            err,
            ApiError::RateLimited {
                retry_after: Some(_),
                ..
            }
        ),
        "{err:?}"
    );
    // The server's wait (a minute) is not shortened into a burst of doomed attempts.
    assert_eq!(requests(&server, LOGIN_PATH).await, vec![200, 429]);
}

#[tokio::test]
async fn a_stop_ends_a_rate_limit_wait() {
    let server = mock().await;
    let client = client(&server);
    login_fault(
        &server,
        json!({"status": 429, "count": 1, "retry_after": "60"}),
    )
    .await;
    let stop = tokio_util::sync::CancellationToken::new();
    let cx = CallCtx::new(stop.clone());
    let login = tokio::spawn(async move { client.login(&cx, SVC, &pw(SVC_PW), false).await });
    // The 429 is answered, then the call waits; a stop ends the wait with nothing more sent.
    while requests(&server, LOGIN_PATH).await.is_empty() {
        assert!(!login.is_finished(), "the login ended during a 60 s wait");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.cancel();
    let err = login.await.unwrap().unwrap_err();
    assert!(matches!(err, ApiError::Cancelled), "{err:?}");
    assert_eq!(requests(&server, LOGIN_PATH).await, vec![429]);
}

/// Parallel calls against the mock's Laravel-style limiter (5 a window here): every call
/// succeeds, waiting for the window together, and only a few 429s reach the server.
#[tokio::test]
async fn parallel_calls_share_the_window_of_the_mocks_limiter() {
    let server = mock_with(MockConfig {
        rate_limit: 5,
        rate_limit_window: Duration::from_secs(2),
        ..MockConfig::default()
    })
    .await;
    let client = client(&server);
    let logins = (0..15).map(|_| {
        let client = client.clone();
        async move {
            let cx = cx();
            let login = client.login(&cx, SVC, &pw(SVC_PW), false).await;
            (login, cx.waited())
        }
    });
    let results = futures_util::future::join_all(logins).await;
    let mut tokens = Vec::new();
    let mut waited = 0;
    for (login, w) in results {
        tokens.push(login.expect("every login succeeds").token);
        waited += usize::from(w.rate_limit >= Duration::from_millis(500));
    }
    // 15 logins at 5 a window: two thirds of them waited for a reset.
    assert!(waited >= 8, "{waited} logins waited");
    let view = mock_call(&server, reqwest::Method::GET, "/_mock/rate-limit", None).await;
    let (throttled, windows) = (
        view["throttled"].as_u64().unwrap(),
        view["windows"].as_u64().unwrap(),
    );
    assert!(throttled <= 3 * windows, "{view}");
    // Logouts count in the user's window, not the login one; all succeed too.
    let logouts = tokens.iter().map(|t| {
        let client = client.clone();
        async move {
            let cx = CallCtx::unstoppable().for_account(SVC);
            client.logout(&cx, t.secret()).await
        }
    });
    for r in futures_util::future::join_all(logouts).await {
        assert_eq!(r.unwrap(), LogoutOutcome::LoggedOut);
    }
    assert_eq!(sessions(&server).await["active"], 0);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let server = mock().await;
    let mut c = config(server.base_url());
    c.retry_base_delay = Duration::from_millis(250);
    c.retry_max_delay = Duration::from_secs(30);
    let client = Client::new(c).unwrap();
    login_fault(
        &server,
        json!({"status": 503, "count": 2, "retry_after": "1"}),
    )
    .await;
    let started = Instant::now();
    login_svc(&client).await.unwrap();
    let elapsed = started.elapsed();
    // Two waits of Retry-After: 1 s each.
    assert!(elapsed >= Duration::from_millis(1900), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    assert_eq!(requests(&server, LOGIN_PATH).await, vec![503, 503, 200]);
}

#[tokio::test]
async fn server_errors() {
    let server = mock().await;
    let client = client(&server);
    // 502 is retried.
    login_fault(&server, json!({"status": 502, "count": 1})).await;
    login_svc(&client).await.unwrap();
    // 500 is not.
    login_fault(&server, json!({"status": 500, "count": 1})).await;
    let err = login_svc(&client).await.unwrap_err();
    assert!(
        matches!(
            err,
            ApiError::Server {
                status: 500,
                attempts: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    // A permanent 503 (with an HTML page, as proxies send) fails after max_retries.
    login_fault(
        &server,
        json!({"status": 503, "count": 100,
               "body": "<html>Service Unavailable</html>", "content_type": "text/html"}),
    )
    .await;
    let err = login_svc(&client).await.unwrap_err();
    let host = ApiDomain::parse(server.base_url()).unwrap().host();
    assert!(
        matches!(&err, ApiError::Server { status: 503, attempts: 4, host: h } if *h == host),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains(&host) && msg.contains("503") && msg.contains("4 attempt"),
        "{msg}"
    );
    assert_eq!(
        requests(&server, LOGIN_PATH).await,
        vec![502, 200, 500, 503, 503, 503, 503]
    );
}

#[tokio::test]
async fn non_idempotent_calls_are_not_replayed_after_a_gateway_error() {
    let server = mock().await;
    let client = client(&server);
    fault(
        &server,
        json!({"path": "/api/v1/crm/auth/password/reset", "status": 502, "count": 1}),
    )
    .await;
    let err = client
        .password_reset(&cx(), &pw("whatever"), &pw("a-long-password"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ApiError::Server {
                status: 502,
                attempts: 1,
                ..
            }
        ),
        "{err:?}"
    );
    // But a 503 (the server did not act) is retried.
    fault(
        &server,
        json!({"path": "/api/v1/crm/auth/password/reset", "status": 503, "count": 1}),
    )
    .await;
    let err = client
        .password_reset(&cx(), &pw("whatever"), &pw("a-long-password"))
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::Validation { .. }), "{err:?}");
    assert_eq!(
        requests(&server, "/api/v1/crm/auth/password/reset").await,
        vec![502, 503, 422]
    );
}

#[tokio::test]
async fn connection_refused() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let mut c = config(&format!("http://{addr}"));
    c.max_retries = 2;
    let client = Client::new(c).unwrap();
    let err = login_svc(&client).await.unwrap_err();
    let ApiError::Transport {
        host,
        cause,
        attempts,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(host, &addr.to_string());
    assert_eq!(*attempts, 3);
    assert!(
        cause.contains("could not connect") && cause.to_lowercase().contains("refused"),
        "{cause}"
    );
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn timeouts() {
    let server = mock().await;
    let mut c = config(server.base_url());
    c.request_timeout = Duration::from_millis(300);
    c.max_retries = 0;
    let client = Client::new(c.clone()).unwrap();
    login_fault(&server, json!({"count": 1, "delay_ms": 3000})).await;
    let started = Instant::now();
    let err = login_svc(&client).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(&err, ApiError::Transport { cause, attempts: 1, .. } if cause == "timed out after 300ms"),
        "{err:?}"
    );
    // With a retry, the second attempt (no fault left) succeeds.
    c.max_retries = 1;
    let client = Client::new(c).unwrap();
    login_fault(&server, json!({"count": 1, "delay_ms": 3000})).await;
    login_svc(&client).await.unwrap();
}

#[tokio::test]
async fn unexpected_responses() {
    let server = mock().await;
    let mut c = config(server.base_url());
    c.max_retries = 0;
    let client = Client::new(c).unwrap();
    let cases = [
        (
            "<html><body>token 1|leakedsecret</body></html>",
            "text/html; charset=UTF-8",
            "not JSON (text/html)",
        ),
        (
            r#"{"message":"1|leakedsecret"}"#,
            "application/json",
            "no token field",
        ),
        (
            r#"{"token":"leakedsecret"}"#,
            "application/json",
            "token not of the form <id>|<secret>",
        ),
        (
            r#"{"token":"x|leakedsecret"}"#,
            "application/json",
            "token not of the form <id>|<secret>",
        ),
        (
            r#"{"token":["1|leakedsecret"]}"#,
            "application/json",
            "token field is not a string",
        ),
        (
            r#"["1|leakedsecret"]"#,
            "application/json",
            "JSON body is not an object",
        ),
        (
            "1|leakedsecret",
            "application/json",
            "body is not valid JSON",
        ),
    ];
    for (body, content_type, want) in cases {
        login_fault(
            &server,
            json!({"status": 200, "count": 1, "body": body, "content_type": content_type}),
        )
        .await;
        let err = login_svc(&client).await.unwrap_err();
        let ApiError::UnexpectedResponse { status, reason, .. } = &err else {
            panic!("{body}: {err:?}")
        };
        assert_eq!(*status, 200);
        assert!(reason.starts_with(want), "{body}: {reason}");
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("leakedsecret"), "{shown}");
        assert!(
            shown.contains(&ApiDomain::parse(server.base_url()).unwrap().host()),
            "{shown}"
        );
    }
    // A huge body is not read into memory.
    let huge = format!(r#"{{"token":"1|{}"}}"#, "a".repeat(1536 * 1024));
    login_fault(
        &server,
        json!({"status": 200, "count": 1, "body": huge, "content_type": "application/json"}),
    )
    .await;
    let err = login_svc(&client).await.unwrap_err();
    assert!(
        matches!(&err, ApiError::UnexpectedResponse { reason, .. } if reason.starts_with("body larger than")),
        "{err:?}"
    );
}

#[tokio::test]
async fn unexpected_statuses_and_path_prefixes() {
    let server = mock().await;
    let client = client(&server);
    login_fault(&server, json!({"status": 404, "count": 1})).await;
    let err = login_svc(&client).await.unwrap_err();
    assert!(
        matches!(err, ApiError::UnexpectedStatus { status: 404, .. }),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    // A wrong path prefix reaches the mock's 404 route; a right one (none) works with any trailing slash.
    let prefixed = Client::new(config(&format!("{}/defentry/", server.base_url()))).unwrap();
    let err = login_svc(&prefixed).await.unwrap_err();
    assert!(
        matches!(err, ApiError::UnexpectedStatus { status: 404, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("path prefix"), "{err}");
    assert_eq!(
        requests(&server, "/defentry/api/v1/crm/auth/login").await,
        vec![404]
    );
    let slash = Client::new(config(&format!("{}/", server.base_url()))).unwrap();
    login_svc(&slash).await.unwrap();
}

#[tokio::test]
async fn sends_the_user_agent() {
    // The mock does not log headers, so check the User-Agent on a raw socket.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let head = read_head(&mut sock).await;
        respond(&mut sock, "200 OK", r#"{"token":"5|abc"}"#).await;
        head
    });
    let mut c = config(&format!("http://{addr}"));
    c.user_agent = "terraform-provider-defentry/9.9.9 (+terraform 1.15.5)".into();
    let login = Client::new(c)
        .unwrap()
        .login(&cx(), SVC, &pw(SVC_PW), false)
        .await
        .unwrap();
    assert_eq!(login.token.id(), "5");
    let head = server.await.unwrap().to_lowercase();
    assert!(
        head.starts_with("post /api/v1/crm/auth/login http/1.1"),
        "{head}"
    );
    assert!(
        head.contains("user-agent: terraform-provider-defentry/9.9.9 (+terraform 1.15.5)"),
        "{head}"
    );
    assert!(head.contains("accept: application/json"), "{head}");
    assert!(head.contains("content-type: application/json"), "{head}");
}

async fn read_head<S: tokio::io::AsyncRead + Unpin>(sock: &mut S) -> String {
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if sock.read(&mut byte).await.unwrap() == 0 {
            break;
        }
        buf.push(byte[0]);
    }
    String::from_utf8(buf).unwrap()
}

async fn respond<S: tokio::io::AsyncWrite + Unpin>(sock: &mut S, status: &str, body: &str) {
    use tokio::io::AsyncWriteExt;
    let resp = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    sock.write_all(resp.as_bytes()).await.unwrap();
    sock.shutdown().await.unwrap();
}

/// HTTPS with a private CA: refused without `ca_cert_pem`, accepted with it.
#[tokio::test]
async fn tls_trust_of_a_private_ca() {
    captured_logs();
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();

    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone(), ca.der().clone()],
            rustls_pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
        )
        .unwrap();
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let (sock, _) = listener.accept().await.unwrap();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // Handshakes of the untrusting client fail; that is the point.
                if let Ok(mut tls) = acceptor.accept(sock).await {
                    read_head(&mut tls).await;
                    respond(&mut tls, "200 OK", r#"{"token":"3|tlssecret"}"#).await;
                }
            });
        }
    });

    let base = format!("https://localhost:{port}");
    let mut c = config(&base);
    c.max_retries = 1;
    let err = Client::new(c.clone())
        .unwrap()
        .login(&cx(), SVC, &pw(SVC_PW), false)
        .await
        .unwrap_err();
    let ApiError::Transport {
        cause, attempts, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert!(
        cause.contains("TLS") && cause.contains("ca_cert_pem"),
        "{cause}"
    );
    // The certificate will not change on a retry: a TLS failure is final.
    assert_eq!(*attempts, 1);

    c.ca_cert_pem = Some(ca.pem());
    let login = Client::new(c)
        .unwrap()
        .login(&cx(), SVC, &pw(SVC_PW), false)
        .await
        .unwrap();
    assert_eq!(login.token.id(), "3");
}

/// One global TRACE subscriber (plus the `log` bridge, for reqwest and rustls) capturing the output of
/// every test in this binary. Global, not per-test: with a thread-local default, tracing caches
/// "never interested" for call sites first hit on other test threads, and the capture would miss them.
/// Every test calls this (via `config`/`mock_with`) before any traced code runs.
fn captured_logs() -> &'static LogSink {
    static CAPTURE: OnceLock<LogSink> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        use tracing_subscriber::util::SubscriberInitExt;
        let capture = LogSink::default();
        let writer = capture.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish()
            .try_init()
            .expect("the only global subscriber");
        capture
    })
}

/// Everything at TRACE (client spans, reqwest and rustls via the log bridge, the in-process mock) of
/// every test in this binary must not contain a password, 2FA seed, token or token secret part.
#[tokio::test]
async fn logs_never_contain_secrets() {
    let server = mock().await;
    let client = client(&server);
    let wrong = "wrong-password-9c1e";
    assert!(client.login(&cx(), SVC, &pw(wrong), false).await.is_err());
    login_fault(
        &server,
        json!({"status": 503, "count": 1, "retry_after": "0"}),
    )
    .await;
    let login = client.login(&cx(), SVC, &pw(SVC_PW), true).await.unwrap();
    let admin = client
        .login(&cx(), ADMIN, &pw(ADMIN_PW), false)
        .await
        .unwrap();
    client
        .two_factor_setup(&cx(), admin.token.secret())
        .await
        .unwrap();
    client
        .two_factor_verify(&cx(), admin.token.secret(), &totp_now(ADMIN_TOTP))
        .await
        .unwrap();
    assert_eq!(
        client.logout(&cx(), login.token.secret()).await.unwrap(),
        LogoutOutcome::LoggedOut
    );
    assert_eq!(
        client.logout(&cx(), admin.token.secret()).await.unwrap(),
        LogoutOutcome::LoggedOut
    );
    assert_eq!(
        client.logout(&cx(), login.token.secret()).await.unwrap(),
        LogoutOutcome::AlreadyInvalid
    );

    let logs = captured_logs().text();
    // The capture works: our spans and reqwest's own (log crate) records are there.
    assert!(logs.contains("defentry_request"), "{logs}");
    assert!(
        logs.contains("latency_ms") && logs.contains("attempt=2") && logs.contains("status=503"),
        "{logs}"
    );
    assert!(logs.contains("path=/api/v1/crm/logout"), "{logs}");
    assert!(logs.contains("starting new connection"), "{logs}");
    // Passwords used anywhere in this file: a leak in any test shows up here.
    let mut secrets = vec![
        "wrong-password-7f3a".to_string(),
        "new-user-password".to_string(),
        "a-brand-new-password".to_string(),
        "another-new-password".to_string(),
        SVC_PW.to_string(),
        ADMIN_PW.to_string(),
        wrong.to_string(),
        ADMIN_TOTP.to_string(),
    ];
    for token in [&login.token, &admin.token] {
        let full = token.secret().expose().to_string();
        let secret_part = full.split_once('|').unwrap().1.to_string();
        secrets.push(full);
        secrets.push(secret_part);
    }
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "a secret leaked into the logs"
        );
    }
}
