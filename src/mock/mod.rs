//! defentry-mock: an offline stand-in for the Defentry CRM API (Laravel/Sanctum-style tokens
//! and errors, 2FA, password reset) plus `/_mock/*` endpoints to inspect it, change its
//! settings and inject faults. User documentation, with every endpoint: `docs/guides/defentry-mock.md`.
//!
//! # Library API
//!
//! - [`MockConfig`] (`Default` = the two users from the onboarding page, 15 min tokens,
//!   30 day `keep_logged` tokens, no rate limit, wall clock, responses exactly as the vendor
//!   page shows; `hints: true` adds the undocumented 2FA fields) and [`MockUser`].
//! - [`MockState::new`]`(&MockConfig) -> Result<MockState, ConfigError>`: the shared state.
//! - [`router`]`(MockState) -> axum::Router`: every route, with fault injection and the
//!   request log; serve it yourself or test it with `tower::ServiceExt::oneshot`.
//! - [`run`]`(TcpListener, MockConfig, shutdown) -> io::Result<()>`: serves until `shutdown`
//!   resolves, then shuts down gracefully; [`serve`] does the same for a prepared state.
//! - [`base_url`]`(SocketAddr) -> String`: `http://IP:PORT`, wildcards mapped to loopback.
//! - [`spawn`]`(MockConfig) -> io::Result<MockServer>`: binds `127.0.0.1:0` and serves in a
//!   background task, for in-process tests; [`MockServer::base_url`] is e.g.
//!   `http://127.0.0.1:41234`; dropping the server (or [`MockServer::shutdown`]) stops it.
//! - [`ManualClock`]: a clock to put in [`MockConfig::clock`] so tests can expire tokens
//!   without sleeping.
//! - [`MockState::with_store`]: direct, synchronous access to the [`Store`] (sessions,
//!   outbox, faults) from in-process tests.
//! - [`totp_code`] + [`decode_base32`]: the TOTP code of a base32 secret at a Unix time.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use terraform_provider_defentry::mock::{spawn, MockConfig};
//! let server = spawn(MockConfig::default()).await?;
//! let login = format!("{}/api/v1/crm/auth/login", server.base_url());
//! // ... point the client at `login`, then inspect `/_mock/sessions` ...
//! server.shutdown().await
//! # }
//! ```
//!
//! # Modules
//!
//! [`store`] holds the rules (sessions, 2FA, resets, counters) behind one `std::sync::Mutex`;
//! handlers lock it only for synchronous calls, never across an `.await` (fault delays
//! sleep after the lock is released). [`faults`] is the fault list, [`secrets`] the token,
//! hashing and TOTP helpers, `handlers`/`middleware`/`error` the HTTP layer.

mod clock;
mod config;
mod error;
pub mod faults;
mod handlers;
mod middleware;
pub mod secrets;
pub mod store;

use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use clock::{system_clock, Clock, ManualClock};
pub use config::{
    parse_duration, ConfigError, MockConfig, MockUser, DEFAULT_ADMIN, DEFAULT_ADMIN_PASSWORD,
    DEFAULT_ADMIN_TOTP_SECRET, DEFAULT_SERVICE_ACCOUNT, DEFAULT_SERVICE_ACCOUNT_PASSWORD,
};
pub use error::{ApiError, ValidationErrors};
pub use secrets::{decode_base32, totp_code};
pub use store::{Store, StoreError};

/// How long a connection may idle or stall before the mock closes it, unless configured.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Shared, cheaply clonable mock state.
#[derive(Clone, Debug)]
pub struct MockState {
    store: Arc<Mutex<Store>>,
    idle_timeout: Duration,
}

impl MockState {
    /// Validates the configured users and builds an empty store.
    pub fn new(config: &MockConfig) -> Result<Self, ConfigError> {
        config.users.iter().try_for_each(MockUser::validate)?;
        Ok(Self {
            store: Arc::new(Mutex::new(Store::new(config))),
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
        })
    }

    /// The same state, closing connections that idle or stall for `timeout` (non-zero).
    pub fn with_idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// How long a connection may send nothing (between requests, or mid-request).
    pub fn idle_timeout(&self) -> Duration {
        self.idle_timeout
    }

    /// Runs `f` with the store locked. Keep `f` synchronous and short.
    pub fn with_store<R>(&self, f: impl FnOnce(&mut Store) -> R) -> R {
        f(&mut self.store())
    }

    /// A poisoned lock only means another handler panicked mid-call; the data is still
    /// consistent enough for a mock, so keep serving.
    fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Every route of the mock, with fault injection, request log and access log.
pub fn router(state: MockState) -> Router {
    Router::new()
        .route("/api/v1/crm/auth/login", post(handlers::login))
        .route("/api/v1/crm/logout", post(handlers::logout))
        .route("/api/v1/2fa/setup", post(handlers::two_factor_setup))
        .route("/api/v1/2fa/verify", post(handlers::two_factor_verify))
        .route(
            "/api/v1/crm/auth/password/forgot",
            post(handlers::password_forgot),
        )
        .route(
            "/api/v1/crm/auth/password/reset",
            post(handlers::password_reset),
        )
        .route("/_mock/whoami", get(handlers::whoami))
        .route("/_mock/sessions", get(handlers::sessions))
        .route("/_mock/users", get(handlers::users))
        .route(
            "/_mock/settings",
            get(handlers::settings).post(handlers::update_settings),
        )
        .route("/_mock/outbox", get(handlers::outbox))
        .route("/_mock/requests", get(handlers::requests))
        .route(
            "/_mock/faults",
            get(handlers::list_faults)
                .post(handlers::add_fault)
                .delete(handlers::clear_faults),
        )
        .route("/_mock/reset", post(handlers::reset))
        .fallback(handlers::not_found)
        .layer(axum::extract::DefaultBodyLimit::max(
            handlers::MAX_BODY_BYTES,
        ))
        .method_not_allowed_fallback(handlers::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::observe,
        ))
        .with_state(state)
}

/// Serves `state` on `listener` until `shutdown` resolves, then drains connections.
///
/// HTTP/1.1 with keep-alive, like axum's own `serve`, plus a timeout: a connection that sends
/// no complete request head within [`MockState::idle_timeout`] (idle between requests, or
/// stalled mid-head) is closed, and so is a request whose body stalls as long.
pub async fn serve(
    listener: TcpListener,
    state: MockState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::service::TowerToHyperService;

    let idle_timeout = state.idle_timeout;
    let app = router(state);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(idle_timeout);
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Typically EMFILE; back off briefly instead of spinning.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let conn =
            http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Builds the state from `config` and [`serve`]s it.
pub async fn run(
    listener: TcpListener,
    config: MockConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let state =
        MockState::new(&config).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    serve(listener, state, shutdown).await
}

/// `http://IP:PORT` for a bound address; a wildcard address becomes loopback so the URL is
/// connectable.
pub fn base_url(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

/// A mock serving in a background task (see [`spawn`]).
#[derive(Debug)]
pub struct MockServer {
    addr: SocketAddr,
    base_url: String,
    state: MockState,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<io::Result<()>>>,
}

impl MockServer {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The live state, e.g. to inspect the store directly.
    pub fn state(&self) -> &MockState {
        &self.state
    }

    /// Stops accepting, waits for open requests to finish and returns the serve result.
    pub async fn shutdown(mut self) -> io::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.task.take() {
            Some(task) => task.await.map_err(io::Error::other)?,
            None => Ok(()),
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        // Dropping the sender resolves the shutdown future; the task drains on its own.
        self.shutdown.take();
    }
}

/// Binds `127.0.0.1:0` and serves `config` in a background task; ready when this returns.
pub async fn spawn(config: MockConfig) -> io::Result<MockServer> {
    let state =
        MockState::new(&config).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    spawn_state(state).await
}

/// [`spawn`] for a prepared state (e.g. one with a short idle timeout).
pub async fn spawn_state(state: MockState) -> io::Result<MockServer> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, state.clone(), async move {
        let _ = rx.await;
    }));
    Ok(MockServer {
        addr,
        base_url: base_url(addr),
        state,
        shutdown: Some(tx),
        task: Some(task),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_maps_wildcards_to_loopback() {
        assert_eq!(
            base_url("0.0.0.0:8080".parse().unwrap()),
            "http://127.0.0.1:8080"
        );
        assert_eq!(base_url("[::]:8080".parse().unwrap()), "http://[::1]:8080");
        assert_eq!(
            base_url("10.1.2.3:80".parse().unwrap()),
            "http://10.1.2.3:80"
        );
    }

    #[test]
    fn invalid_users_are_rejected() {
        let config = MockConfig {
            users: vec![MockUser::new("x", "pw").with_totp_secret("!!")],
            ..MockConfig::default()
        };
        assert!(matches!(
            MockState::new(&config),
            Err(ConfigError::TotpSecret(_))
        ));
    }
}
