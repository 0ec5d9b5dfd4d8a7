//! go-plugin's own services: the controller (Shutdown), stdio forwarding and the broker.
//!
//! Terraform opens the stdio and broker streams right after connecting and keeps them
//! open; both must end on shutdown, or a graceful stop would wait for them forever.

use futures_util::StreamExt as _;
use tokio_util::sync::CancellationToken;
use tonic::codegen::BoxStream;
use tonic::{Request, Response, Status, Streaming};

use crate::proto::plugin::grpc_broker_server::GrpcBroker;
use crate::proto::plugin::grpc_controller_server::GrpcController;
use crate::proto::plugin::grpc_stdio_server::GrpcStdio;
use crate::proto::plugin::{ConnInfo, Empty, StdioData};

/// `plugin.GRPCController`: Shutdown asks the whole server to stop.
#[derive(Debug, Clone)]
pub(crate) struct Controller {
    pub(crate) shutdown: CancellationToken,
}

#[tonic::async_trait]
impl GrpcController for Controller {
    async fn shutdown(&self, _request: Request<Empty>) -> Result<Response<Empty>, Status> {
        tracing::debug!("plugin client requested shutdown");
        // The reply still goes out: the server drains in-flight calls before exiting.
        self.shutdown.cancel();
        Ok(Response::new(Empty {}))
    }
}

/// `plugin.GRPCStdio`: logs go to stderr instead, so the stream carries nothing.
#[derive(Debug, Clone)]
pub(crate) struct Stdio {
    pub(crate) shutdown: CancellationToken,
}

#[tonic::async_trait]
impl GrpcStdio for Stdio {
    async fn stream_stdio(
        &self,
        _request: Request<()>,
    ) -> Result<Response<BoxStream<StdioData>>, Status> {
        let stream = futures_util::stream::once(self.shutdown.clone().cancelled_owned())
            .filter_map(|()| std::future::ready(None));
        Ok(Response::new(Box::pin(stream)))
    }
}

/// `plugin.GRPCBroker`: providers never broker extra connections; accept the stream,
/// ignore what arrives, and end when the client does or the server stops.
#[derive(Debug, Clone)]
pub(crate) struct Broker {
    pub(crate) shutdown: CancellationToken,
    /// The client closing its stream shuts the server down (it is done, or gone).
    pub(crate) close_shuts_down: bool,
}

#[tonic::async_trait]
impl GrpcBroker for Broker {
    async fn start_stream(
        &self,
        request: Request<Streaming<ConnInfo>>,
    ) -> Result<Response<BoxStream<ConnInfo>>, Status> {
        let inbound = request.into_inner();
        let shutdown = self.shutdown.clone();
        let close_shuts_down = self.close_shuts_down;
        let drained = async move {
            let mut inbound = inbound;
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    msg = inbound.message() => match msg {
                        Ok(Some(info)) => {
                            tracing::trace!(service_id = info.service_id, "ignoring broker message");
                        }
                        Ok(None) | Err(_) => {
                            if close_shuts_down {
                                tracing::debug!("plugin client closed its broker stream; shutting down");
                                shutdown.cancel();
                            }
                            break;
                        }
                    },
                }
            }
        };
        let stream = futures_util::stream::once(drained).filter_map(|()| std::future::ready(None));
        Ok(Response::new(Box::pin(stream)))
    }
}
