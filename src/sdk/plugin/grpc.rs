//! The gRPC server itself: hyper's HTTP/2 server on each accepted connection, and a router
//! that hands each call to the service its path names.
//!
//! tonic's own server would route through axum (its `router` feature); routing a handful of
//! services by name needs no web framework, and keeps one out of every provider's binary.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tonic::body::Body;
use tonic::codegen::Service;
use tonic::server::NamedService;

use super::listen::Conn;

type Answer = BoxFuture<'static, Result<Response<Body>, Infallible>>;
type Handler<B> = Arc<dyn Fn(Request<B>) -> Answer + Send + Sync>;

/// The served gRPC services by name (`package.Service`), as the first segment of a call's
/// path `/package.Service/Method` names them.
pub(crate) struct Routes<B> {
    services: HashMap<&'static str, Handler<B>>,
}

impl<B> Default for Routes<B> {
    fn default() -> Self {
        Self {
            services: HashMap::new(),
        }
    }
}

impl<B: Send + 'static> Routes<B> {
    /// Adds a tonic-generated service (`XServer`), routed by its [`NamedService::NAME`].
    pub(crate) fn add<S>(mut self, service: S) -> Self
    where
        S: Service<Request<B>, Response = Response<Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        let handler: Handler<B> = Arc::new(move |request| {
            let mut service = service.clone();
            Box::pin(async move {
                std::future::poll_fn(|cx| service.poll_ready(cx)).await?;
                service.call(request).await
            })
        });
        self.services.insert(S::NAME, handler);
        self
    }

    /// Answers one call: the named service's answer, or UNIMPLEMENTED (as tonic's router
    /// answers) for a service we do not serve.
    fn route(&self, request: Request<B>) -> Answer {
        let service = request
            .uri()
            .path()
            .strip_prefix('/')
            .and_then(|path| path.split_once('/'))
            .map(|(service, _method)| service);
        match service.and_then(|name| self.services.get(name)) {
            Some(handler) => handler(request),
            None => Box::pin(async { Ok(tonic::Status::unimplemented("").into_http()) }),
        }
    }
}

/// The hyper view of the routes, shared by every connection.
#[derive(Clone)]
struct Router(Arc<Routes<Incoming>>);

impl hyper::service::Service<Request<Incoming>> for Router {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Answer;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        self.0.route(request)
    }
}

/// Serves HTTP/2 gRPC on every connection `incoming` yields until `shutdown`; then stops
/// taking connections, lets each open one finish its running calls (GOAWAY), and returns
/// once all are closed. Callers bound that wait.
pub(crate) async fn serve(
    mut incoming: mpsc::Receiver<Conn>,
    routes: Routes<Incoming>,
    shutdown: CancellationToken,
) {
    let router = Router(Arc::new(routes));
    // The settings tonic's server applies by default: HTTP/2 only (prior knowledge, as
    // go-plugin's client dials), hyper's timer, no keepalive pings, and no cap on
    // concurrent calls beyond what Terraform's own parallelism sends.
    let mut http2 = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
    http2
        .timer(TokioTimer::new())
        .max_concurrent_streams(None)
        .adaptive_window(false);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        let conn = tokio::select! {
            () = shutdown.cancelled() => break,
            conn = incoming.recv() => match conn {
                Some(conn) => conn,
                None => break,
            },
        };
        let connection = graceful.watch(http2.serve_connection(TokioIo::new(conn), router.clone()));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "plugin connection ended with an error");
            }
        });
    }
    // Dropping the receiver ends the accept loop (and removes the socket) at once.
    drop(incoming);
    graceful.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt as _, Full};
    use prost::Message as _;
    use tonic_health::pb::{health_check_response::ServingStatus, HealthCheckResponse};

    type TestBody = tonic::body::Body;

    /// A unary gRPC request: the 5-byte frame header, then the message.
    fn grpc_request(path: &str, message: &impl prost::Message) -> Request<TestBody> {
        let payload = message.encode_to_vec();
        let mut frame = vec![0u8];
        frame.extend_from_slice(&u32::try_from(payload.len()).unwrap().to_be_bytes());
        frame.extend_from_slice(&payload);
        Request::builder()
            .method("POST")
            .uri(path)
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .body(TestBody::new(Full::new(tonic::codegen::Bytes::from(frame))))
            .unwrap()
    }

    async fn health_routes() -> Routes<TestBody> {
        let (reporter, health) = tonic_health::server::health_reporter();
        reporter
            .set_service_status("plugin", tonic_health::ServingStatus::Serving)
            .await;
        Routes::default().add(health)
    }

    /// grpc-status from the trailers, or failing that the headers (a trailers-only answer).
    async fn grpc_status(response: Response<Body>) -> (Option<String>, tonic::codegen::Bytes) {
        let (parts, body) = response.into_parts();
        let collected = body.collect().await.unwrap();
        let trailers = collected.trailers().cloned().unwrap_or_default();
        let status = trailers
            .get("grpc-status")
            .or_else(|| parts.headers.get("grpc-status"))
            .map(|v| v.to_str().unwrap().to_owned());
        (status, collected.to_bytes())
    }

    #[tokio::test]
    async fn a_call_reaches_the_service_its_path_names() {
        let routes = health_routes().await;
        let request = grpc_request(
            "/grpc.health.v1.Health/Check",
            &tonic_health::pb::HealthCheckRequest {
                service: "plugin".into(),
            },
        );
        let (status, body) = grpc_status(routes.route(request).await.unwrap()).await;
        assert_eq!(status.as_deref(), Some("0"));
        let answer = HealthCheckResponse::decode(&body[5..]).unwrap();
        assert_eq!(answer.status(), ServingStatus::Serving);
    }

    #[tokio::test]
    async fn an_unknown_service_or_path_is_unimplemented() {
        let routes = health_routes().await;
        for path in ["/no.Such/Method", "/", "/grpc.health.v1.Health"] {
            let request = grpc_request(path, &tonic_health::pb::HealthCheckRequest::default());
            let response = routes.route(request).await.unwrap();
            assert_eq!(
                response.headers().get("content-type").unwrap(),
                "application/grpc",
                "{path}"
            );
            let (status, _) = grpc_status(response).await;
            assert_eq!(status.as_deref(), Some("12"), "{path}");
        }
    }
}
