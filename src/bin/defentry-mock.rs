//! defentry-mock: serves the Defentry CRM mock. Prints the base URL as the first stdout line
//! once listening; logs to stderr; exits 0 on SIGTERM/SIGINT after a graceful shutdown.

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use terraform_provider_defentry::mock::{self, parse_duration, MockConfig, MockState, MockUser};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing_subscriber::EnvFilter;

/// How long open requests (e.g. delayed by a fault) may delay exit after a signal.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Offline mock of the Defentry CRM API (see docs/guides/defentry-mock.md).
#[derive(Parser)]
#[command(name = "defentry-mock", version)]
struct Cli {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "DEFENTRY_MOCK_LISTEN", default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Token lifetime without keep_logged (e.g. 90s, 15m, 1h).
    #[arg(long, env = "DEFENTRY_MOCK_TOKEN_TTL", default_value = "15m", value_parser = duration)]
    token_ttl: Duration,
    /// Token lifetime with keep_logged: true.
    #[arg(long, env = "DEFENTRY_MOCK_KEEP_LOGGED_TTL", default_value = "30d", value_parser = duration)]
    keep_logged_ttl: Duration,
    /// JSON users file replacing the default users:
    /// [{"username", "password", "email"?, "totp_secret"?}].
    #[arg(long, env = "DEFENTRY_MOCK_USERS")]
    users: Option<PathBuf>,
    /// Adds a user, NAME:PASSWORD or NAME:PASSWORD:TOTP_SECRET (repeatable; the password cannot
    /// contain a colon).
    // Parsed after clap: clap would echo a rejected value, password included, in its error.
    #[arg(long = "user", value_name = "NAME:PASSWORD[:TOTP_SECRET]")]
    extra_users: Vec<String>,
    /// Login attempts allowed per username per minute (unlimited when unset).
    #[arg(long, env = "DEFENTRY_MOCK_LOGIN_RATE_LIMIT")]
    login_rate_limit: Option<u32>,
    /// Laravel's `throttle:api` on the /api/v1 routes: requests per window per user (per
    /// client IP before login); a refused request gets 429 with Retry-After and X-RateLimit-*.
    /// 0 = off, the default, so quick tests never wait; 60 is Laravel's default (60 a minute).
    /// Inspect it with GET /_mock/rate-limit; change it with POST /_mock/settings.
    #[arg(
        long,
        env = "DEFENTRY_MOCK_RATE_LIMIT",
        value_name = "N",
        default_value_t = 0
    )]
    rate_limit: u32,
    /// The rate limit's fixed window, opened by a user's (or IP's) first request.
    #[arg(
        long,
        env = "DEFENTRY_MOCK_RATE_LIMIT_WINDOW",
        value_name = "SECONDS",
        default_value_t = 60,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    rate_limit_window: u64,
    /// Accept a TOTP code again after it was used; by default a code is accepted once per
    /// user (RFC 6238 section 5.2, as Laravel Fortify does) and refused with 422 afterwards.
    #[arg(long, env = "DEFENTRY_MOCK_ALLOW_TOTP_REUSE")]
    allow_totp_reuse: bool,
    /// Add response fields the vendor page does not document (two_factor_required, enabled,
    /// secret, otpauth_url, verified); without it every endpoint answers as the page shows.
    #[arg(long, env = "DEFENTRY_MOCK_HINTS")]
    hints: bool,
    /// Close a connection that sends nothing for this long: idle between requests, or
    /// stalled in a request's head or body.
    #[arg(long, env = "DEFENTRY_MOCK_IDLE_TIMEOUT", default_value = "30s", value_parser = positive_duration)]
    idle_timeout: Duration,
}

fn positive_duration(text: &str) -> Result<Duration, String> {
    match duration(text)? {
        d if d.is_zero() => Err("must be greater than zero".to_owned()),
        d => Ok(d),
    }
}

fn duration(text: &str) -> Result<Duration, String> {
    parse_duration(text).map_err(|e| e.to_string())
}

impl Cli {
    fn config(self) -> Result<MockConfig, mock::ConfigError> {
        let mut users = match &self.users {
            Some(path) => MockConfig::load_users_file(path)?,
            None => MockConfig::default_users(),
        };
        // A later user with the same name replaces the earlier one.
        for spec in &self.extra_users {
            let extra = MockUser::parse_spec(spec)?;
            users.retain(|u| u.username != extra.username);
            users.push(extra);
        }
        Ok(MockConfig {
            users,
            token_ttl: self.token_ttl,
            keep_logged_ttl: self.keep_logged_ttl,
            login_rate_limit: self.login_rate_limit,
            rate_limit: self.rate_limit,
            rate_limit_window: Duration::from_secs(self.rate_limit_window),
            allow_totp_reuse: self.allow_totp_reuse,
            hints: self.hints,
            ..MockConfig::default()
        })
    }
}

/// Resolves on SIGTERM or SIGINT.
async fn termination() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops the mock");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    let listen = cli.listen;
    let idle_timeout = cli.idle_timeout;
    let config = match cli.config() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("defentry-mock: {e}");
            return ExitCode::from(2);
        }
    };
    let state = match MockState::new(&config) {
        Ok(state) => state.with_idle_timeout(idle_timeout),
        Err(e) => {
            eprintln!("defentry-mock: {e}");
            return ExitCode::from(2);
        }
    };
    let listener = match TcpListener::bind(listen).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("defentry-mock: cannot listen on {listen}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let addr = match listener.local_addr() {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("defentry-mock: {e}");
            return ExitCode::FAILURE;
        }
    };

    let (stop_tx, mut stop_rx) = watch::channel(false);
    let mut server = tokio::spawn(mock::serve(listener, state, async move {
        let _ = stop_rx.wait_for(|stop| *stop).await;
    }));

    // The listener is bound and the accept loop is spawned: connections are served from now
    // on, so the URL line is the readiness signal.
    let url = mock::base_url(addr);
    {
        let mut stdout = std::io::stdout().lock();
        if writeln!(stdout, "{url}")
            .and_then(|()| stdout.flush())
            .is_err()
        {
            tracing::warn!("cannot write the base URL to stdout");
        }
    }
    tracing::info!(
        %url,
        users = config.users.len(),
        token_ttl_secs = config.token_ttl.as_secs(),
        keep_logged_ttl_secs = config.keep_logged_ttl.as_secs(),
        login_rate_limit = ?config.login_rate_limit,
        rate_limit = config.rate_limit,
        rate_limit_window_secs = config.rate_limit_window.as_secs(),
        allow_totp_reuse = config.allow_totp_reuse,
        hints = config.hints,
        "defentry-mock listening"
    );

    tokio::select! {
        result = &mut server => {
            // The server stopped on its own: an accept error is the only way.
            return match result {
                Ok(Ok(())) => ExitCode::SUCCESS,
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "server failed");
                    ExitCode::FAILURE
                }
                Err(e) => {
                    tracing::error!(error = %e, "server task failed");
                    ExitCode::FAILURE
                }
            };
        }
        () = termination() => {}
    }
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    // Give open requests a bounded time; a long fault delay must not block exit.
    match tokio::time::timeout(DRAIN_TIMEOUT, server).await {
        Ok(Ok(Err(e))) => tracing::warn!(error = %e, "error while shutting down"),
        Err(_) => tracing::warn!("open requests did not finish in time; exiting anyway"),
        _ => {}
    }
    ExitCode::SUCCESS
}
