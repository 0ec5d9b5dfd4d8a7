//! The one error type of the plugin transport.

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
}
