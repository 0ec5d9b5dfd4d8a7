//! What `serve` takes besides the gRPC services: the options, and what the provider does on
//! its way out.

/// What a served provider does before the process exits, whatever ended it: Terraform's
/// Shutdown call, SIGTERM, Terraform's connection closing, or Terraform dying.
#[tonic::async_trait]
pub trait Shutdown: Send + Sync + 'static {
    /// Releases what the provider still holds. `grace` is the time left before the process
    /// exits; work still running after it is abandoned. The default does nothing.
    async fn shutdown(&self, _grace: std::time::Duration) {}
}

#[tonic::async_trait]
impl<P: crate::Provider> Shutdown for crate::ProviderServer<P> {
    async fn shutdown(&self, grace: std::time::Duration) {
        crate::ProviderServer::shutdown(self, grace).await;
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
