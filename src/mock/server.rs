//! The HTTP side: every route, the connection loop, and an in-process server for tests.

use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::config::MockConfig;
use super::state::MockState;
use super::{handlers, middleware};

/// Every route of the mock, with fault injection, request log and access log; the `/api/v1`
/// routes behind the `throttle:api` limiter (off unless configured).
pub fn router(state: MockState) -> Router {
    let api = Router::new()
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
        // Only matched routes, as Laravel's route group: unknown paths are not counted.
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::throttle,
        ));
    Router::new()
        .merge(api)
        .route("/_mock/whoami", get(handlers::whoami))
        .route("/_mock/sessions", get(handlers::sessions))
        .route("/_mock/users", get(handlers::users))
        .route(
            "/_mock/settings",
            get(handlers::settings).post(handlers::update_settings),
        )
        .route("/_mock/outbox", get(handlers::outbox))
        .route("/_mock/rate-limit", get(handlers::rate_limit))
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

    let idle_timeout = state.idle_timeout();
    let app = router(state);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(idle_timeout);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Typically EMFILE; back off briefly instead of spinning.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        // The limiter keys anonymous requests by client address, as Laravel's `$request->ip()`.
        let service = tower::ServiceExt::map_request(
            app.clone(),
            move |mut request: axum::http::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(middleware::PeerAddr(peer));
                request
            },
        );
        let conn = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
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
}
