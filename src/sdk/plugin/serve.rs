//! `serve`: from the environment Terraform sets up to a running gRPC server.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::controller::{Broker, Controller, Stdio};
use super::error::PluginError;
use super::grpc::{self, Routes};
use super::handshake::{self, MAGIC_COOKIE_KEY, PROTOCOL_VERSIONS_KEY};
use super::lifecycle;
use super::listen::{self, UNIX_SOCKET_DIR_KEY, UNIX_SOCKET_GROUP_KEY};
use super::opts::{ServeOpts, Shutdown};
use super::signals;
use super::tls::{self, CLIENT_CERT_KEY};
use crate::proto::plugin::grpc_broker_server::GrpcBrokerServer;
use crate::proto::plugin::grpc_controller_server::GrpcControllerServer;
use crate::proto::plugin::grpc_stdio_server::GrpcStdioServer;
use crate::proto::tfplugin6::provider_server::{Provider, ProviderServer};
use crate::proto::tfplugin6::stop_provider::Request as StopProviderRequest;

/// Both directions, as terraform-plugin-go allows; tonic's default is 4 MiB.
const MAX_MESSAGE_SIZE: usize = 256 << 20;

/// How long in-flight calls may take to finish after a shutdown request. Terraform sends
/// SIGKILL 2 s after its Shutdown call, so leave well before that.
const DRAIN_TIMEOUT: Duration = Duration::from_millis(1500);

/// Of that, how long the provider may spend releasing what it holds (and running calls may
/// go on) before they are abandoned, so that their answers still go out within the drain.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(1200);

/// How long a SIGTERM under Terraform waits for Terraform to close the provider. CI runners
/// send SIGTERM to the whole process group: Terraform stops gracefully (StopProvider, lets
/// in-flight calls finish, then closes its providers), so the provider treats the signal as a
/// stop and keeps answering; exiting at once would drop answers to calls that already reached
/// the remote API. After this long it shuts down by itself.
const TERM_GRACE: Duration = Duration::from_secs(5);

/// The health service name go-plugin's client pings.
const HEALTH_SERVICE: &str = "plugin";

/// Serves `provider` the way go-plugin's server would, until Terraform calls
/// `plugin.GRPCController/Shutdown`, closes its connection, or dies, or the process gets
/// SIGTERM (or, in debug mode, Ctrl-C). Under Terraform a SIGTERM first acts as StopProvider
/// and leaves Terraform up to `TERM_GRACE` (5 s) to close the provider itself. Each way,
/// [`Shutdown::shutdown`] runs (bounded) before this returns.
///
/// Outside debug mode this checks Terraform's magic cookie and protocol offer, listens on a
/// unix socket (TCP 127.0.0.1 if that fails), turns on mutual TLS when Terraform passed
/// `PLUGIN_CLIENT_CERT`, prints the handshake line as the only output on stdout, and
/// ignores SIGINT: Terraform forwards Ctrl-C as a StopProvider call instead.
///
/// # Errors
///
/// Any [`PluginError`]; callers should print it to stderr and exit with status 1.
pub async fn serve<S: Provider + Shutdown + Clone>(
    provider: S,
    opts: ServeOpts,
) -> Result<(), PluginError> {
    if !opts.debug {
        handshake::check_cookie(env(MAGIC_COOKIE_KEY).as_deref())?;
        handshake::negotiate_version(env(PROTOCOL_VERSIONS_KEY).as_deref())?;
    }

    let shutdown = CancellationToken::new();
    let terminated = CancellationToken::new();
    // Before anything is printed: Terraform may forward a Ctrl-C as soon as we exist.
    install_signal_handlers(opts.debug, &shutdown, &terminated)?;
    if !opts.debug {
        // A debugged provider outlives the shell that started it on purpose.
        lifecycle::watch_parent(shutdown.clone());
    }

    // Terraform dials TLS whenever it passed a client certificate; reattached clients
    // (debug mode) never do.
    let tls = match env(CLIENT_CERT_KEY).filter(|pem| !pem.is_empty() && !opts.debug) {
        Some(pem) => {
            let client_certs = tls::parse_client_certs(&pem)?;
            let identity = tls::generate_server_identity()?;
            let config = tls::server_config(&identity, client_certs)?;
            Some((Arc::new(config), identity.cert_der))
        }
        None => None,
    };

    let bound = listen::bind(
        env(UNIX_SOCKET_DIR_KEY)
            .filter(|d| !d.is_empty())
            .map(PathBuf::from),
        env(UNIX_SOCKET_GROUP_KEY).as_deref(),
    )
    .await
    .map_err(PluginError::Listen)?;
    let addr = bound.addr.clone();
    tracing::debug!(
        network = addr.network(),
        address = addr.address(),
        tls = tls.is_some(),
        "plugin server listening"
    );

    if !opts.debug {
        let (provider, shutdown, terminated) =
            (provider.clone(), shutdown.clone(), terminated.clone());
        tokio::spawn(async move {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = terminated.cancelled() => {}
            }
            tracing::debug!("SIGTERM received: stopping, then waiting for Terraform to close us");
            let _ = provider
                .stop_provider(tonic::Request::new(StopProviderRequest {}))
                .await;
            tokio::select! {
                () = shutdown.cancelled() => {}
                () = tokio::time::sleep(TERM_GRACE) => {
                    tracing::debug!("Terraform did not close the provider after SIGTERM; shutting down");
                    shutdown.cancel();
                }
            }
        });
    }

    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_service_status(HEALTH_SERVICE, tonic_health::ServingStatus::Serving)
        .await;

    let routes = Routes::default()
        .add(health_service)
        .add(
            ProviderServer::new(provider.clone())
                .max_decoding_message_size(MAX_MESSAGE_SIZE)
                .max_encoding_message_size(MAX_MESSAGE_SIZE),
        )
        .add(GrpcControllerServer::new(Controller {
            shutdown: shutdown.clone(),
        }))
        .add(GrpcStdioServer::new(Stdio {
            shutdown: shutdown.clone(),
        }))
        .add(GrpcBrokerServer::new(Broker {
            shutdown: shutdown.clone(),
            // Terraform closes the stream when it is done with the provider or gone; a
            // reattached (debug) provider serves the next Terraform run.
            close_shuts_down: !opts.debug,
        }));

    let (tls_config, cert_der) = match tls {
        Some((config, cert)) => (Some(config), Some(cert)),
        None => (None, None),
    };
    // Accept before announcing the address, so Terraform can never dial too early.
    let incoming = listen::accept_loop(bound, tls_config, shutdown.clone());

    let announcement = if opts.debug {
        handshake::debug_banner(&opts.provider_address, &addr, std::process::id())
    } else {
        handshake::handshake_line(&addr, cert_der.as_ref().map(|c| c.as_ref()))
    };
    write_stdout(&announcement).map_err(PluginError::Stdout)?;

    let server = grpc::serve(incoming, routes, shutdown.clone());
    tokio::pin!(server);
    tokio::select! {
        () = &mut server => provider.shutdown(SHUTDOWN_GRACE).await,
        () = shutdown.cancelled() => {
            let drain = tokio::time::timeout(DRAIN_TIMEOUT, &mut server);
            let ((), drained) = tokio::join!(provider.shutdown(SHUTDOWN_GRACE), drain);
            if drained.is_err() {
                tracing::warn!("calls still running at shutdown were abandoned");
            }
        }
    }
    tracing::debug!("plugin server stopped");
    Ok(())
}

/// An environment variable, treating absent and non-UTF-8 alike.
fn env(key: &str) -> Option<String> {
    std::env::var(key).ok()
}

/// Writes the one announcement stdout ever carries, flushed so Terraform sees it now.
fn write_stdout(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// In debug mode SIGTERM and SIGINT stop the server. Under Terraform SIGTERM cancels
/// `terminated` (a stop, then a bounded wait, see [`TERM_GRACE`]) and SIGINT is ignored: a
/// signal to the process group reaches Terraform too, and the provider must live on to receive
/// StopProvider and finish cleanly, exactly as go-plugin ignores Ctrl-C.
fn install_signal_handlers(
    debug: bool,
    shutdown: &CancellationToken,
    terminated: &CancellationToken,
) -> Result<(), PluginError> {
    // Registering replaces the default "terminate" disposition right away, even before
    // the tasks below first run.
    let mut sigint = signals::interrupt().map_err(PluginError::Signal)?;
    let mut sigterm = signals::terminate().map_err(PluginError::Signal)?;

    let token = shutdown.clone();
    let terminated = terminated.clone();
    tokio::spawn(async move {
        tokio::select! {
            () = token.cancelled() => {}
            _ = sigterm.recv() => {
                if debug {
                    tracing::debug!("SIGTERM received, shutting down");
                    token.cancel();
                } else {
                    terminated.cancel();
                }
            }
        }
    });

    let token = shutdown.clone();
    tokio::spawn(async move {
        let mut count = 0u64;
        loop {
            tokio::select! {
                () = token.cancelled() => break,
                received = sigint.recv() => {
                    if received.is_none() {
                        break;
                    }
                    count += 1;
                    if debug {
                        tracing::debug!("interrupt received, shutting down");
                        token.cancel();
                        break;
                    }
                    tracing::trace!(count, "interrupt received, ignoring (Terraform sends StopProvider)");
                }
            }
        }
    });
    Ok(())
}
