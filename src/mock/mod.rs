//! defentry-mock: an offline stand-in for the Defentry CRM API (Laravel/Sanctum-style tokens
//! and errors, 2FA, password reset) plus `/_mock/*` endpoints to inspect it, change its
//! settings and inject faults. User documentation, with every endpoint: `docs/guides/defentry-mock.md`.
//!
//! # Library API
//!
//! - [`MockConfig`] (`Default` = the two users from the onboarding page, 15 min tokens,
//!   30 day `keep_logged` tokens, no rate limit (`rate_limit: 60` is Laravel's
//!   `throttle:api`), single-use TOTP codes, wall clock, responses exactly as the vendor
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
//! sleep after the lock is released). [`limiter`] is the `throttle:api` limiter, [`faults`] the
//! fault list, [`secrets`] the token,
//! hashing and TOTP helpers, `state` the shared [`MockState`], `server` the routes and the
//! connection loop, `handlers`/`middleware`/`error` the HTTP layer.

mod clock;
mod config;
mod error;
pub mod faults;
mod handlers;
pub mod limiter;
mod middleware;
pub mod secrets;
mod server;
mod state;
pub mod store;
mod time;
mod totp_use;

pub use clock::{system_clock, Clock, ManualClock};
pub use config::{
    parse_duration, ConfigError, MockConfig, MockUser, DEFAULT_ADMIN, DEFAULT_ADMIN_PASSWORD,
    DEFAULT_ADMIN_TOTP_SECRET, DEFAULT_RATE_LIMIT_WINDOW, DEFAULT_SERVICE_ACCOUNT,
    DEFAULT_SERVICE_ACCOUNT_PASSWORD,
};
pub use error::{ApiError, ValidationErrors};
pub use limiter::{Decision, RateLimitView};
pub use secrets::{decode_base32, totp_code};
pub use server::{base_url, router, run, serve, spawn, spawn_state, MockServer};
pub use state::{MockState, DEFAULT_IDLE_TIMEOUT};
pub use store::{Store, StoreError};
