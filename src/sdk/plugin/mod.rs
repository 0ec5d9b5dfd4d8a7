//! The go-plugin transport Terraform uses to run providers: handshake, AutoMTLS, the gRPC
//! services next to `tfplugin6.Provider`, signal handling, debug (reattach) mode and
//! go-hclog-compatible logging.
//!
//! A provider binary needs only this:
//!
//! ```no_run
//! # use terraform_provider_defentry::sdk::plugin::{init_logging, serve, ServeOpts};
//! # #[derive(Clone)]
//! # struct MyProvider;
//! # impl terraform_provider_defentry::sdk::proto::tfplugin6::provider_server::Provider for MyProvider {}
//! # impl terraform_provider_defentry::sdk::plugin::Shutdown for MyProvider {}
//! # async fn run() {
//! init_logging();
//! let opts = ServeOpts { provider_address: "registry.terraform.io/acme/foo".into(), debug: false };
//! if let Err(e) = serve(MyProvider, opts).await {
//!     eprintln!("{e}");
//!     std::process::exit(1);
//! }
//! # }
//! ```

mod controller;
mod handshake;
mod lifecycle;
mod listen;
mod logging;
mod serve;
mod signals;
mod tls;

pub use logging::init_logging;
pub use serve::serve;

/// What a served provider does before the process exits, whatever ended it: Terraform's
/// Shutdown call, SIGTERM, Terraform's connection closing, or Terraform dying.
#[tonic::async_trait]
pub trait Shutdown: Send + Sync + 'static {
    /// Releases what the provider still holds. `grace` is the time left before the process
    /// exits; work still running after it is abandoned. The default does nothing.
    async fn shutdown(&self, _grace: std::time::Duration) {}
}

#[tonic::async_trait]
impl<P: crate::sdk::Provider> Shutdown for crate::sdk::ProviderServer<P> {
    async fn shutdown(&self, grace: std::time::Duration) {
        crate::sdk::ProviderServer::shutdown(self, grace).await;
    }
}

/// How to serve the provider.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServeOpts {
    /// The provider's source address as users write it in `required_providers`, fully
    /// qualified (e.g. `registry.terraform.io/acme/foo`); used in debug mode's reattach JSON.
    pub provider_address: String,
    /// Debug mode: skip the cookie and handshake, serve plaintext, and print the
    /// `TF_REATTACH_PROVIDERS` value for a Terraform started by hand. Ctrl-C stops it.
    pub debug: bool,
}

/// Why the provider could not be served. `Display` is meant for a human on stderr.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// Started without Terraform's magic cookie, most likely by hand.
    #[error(
        "This binary is a Terraform provider plugin and is not meant to be executed directly.\n\
         Terraform (or OpenTofu) starts it automatically: run `terraform init` and `terraform plan` \
         in a configuration that uses this provider.\n\
         To debug the provider, start it with --debug and set the TF_REATTACH_PROVIDERS \
         environment variable it prints in the shell where you run Terraform."
    )]
    NotLaunchedByTerraform,
    /// The client sent no `PLUGIN_PROTOCOL_VERSIONS`, so it only knows a legacy protocol.
    #[error(
        "The plugin client did not offer any plugin protocol versions (PLUGIN_PROTOCOL_VERSIONS \
         is not set), so it only speaks a legacy protocol. This provider requires plugin \
         protocol 6: use Terraform 1.0 or later, or OpenTofu."
    )]
    LegacyClient,
    /// The client's `PLUGIN_PROTOCOL_VERSIONS` does not include 6.
    #[error(
        "This provider only speaks plugin protocol 6, but the plugin client offered \
         PLUGIN_PROTOCOL_VERSIONS={offered}. Use Terraform 1.0 or later, or OpenTofu."
    )]
    UnsupportedProtocol {
        /// The client's list, verbatim.
        offered: String,
    },
    /// `PLUGIN_CLIENT_CERT` holds no usable PEM certificate.
    #[error("PLUGIN_CLIENT_CERT does not hold a usable PEM certificate: {0}")]
    BadClientCert(String),
    /// Generating the server's certificate failed.
    #[error("cannot generate the plugin server certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    /// Building the TLS configuration failed.
    #[error("cannot configure TLS for the plugin server: {0}")]
    Tls(#[from] rustls::Error),
    /// Neither a unix socket nor a TCP port could be opened.
    #[error("cannot listen for Terraform: {0}")]
    Listen(#[source] std::io::Error),
    /// Signal handlers could not be installed.
    #[error("cannot install signal handlers: {0}")]
    Signal(#[source] std::io::Error),
    /// Writing the handshake or reattach text to stdout failed.
    #[error("cannot write the plugin handshake to stdout: {0}")]
    Stdout(#[source] std::io::Error),
    /// The gRPC server failed.
    #[error("plugin gRPC server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
}
