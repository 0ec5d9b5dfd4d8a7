//! Per-request context: cancellation (Terraform's StopProvider) and client facts.

use std::future::Future;

use tokio_util::sync::CancellationToken;

/// What the Terraform client says it supports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientCapabilities {
    /// The client accepts deferred responses.
    pub deferral_allowed: bool,
    /// The client supports write-only attributes (Terraform 1.11+).
    pub write_only_attributes_allowed: bool,
}

/// Passed to every provider operation.
#[derive(Debug, Clone, Default)]
pub struct Context {
    cancel: CancellationToken,
}

/// The operation was cancelled by Terraform (Ctrl-C → StopProvider).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the operation was cancelled because Terraform is stopping")]
pub struct Cancelled;

impl Context {
    /// A context cancelled by `token`.
    pub fn new(token: CancellationToken) -> Self {
        Self { cancel: token }
    }
    /// Whether Terraform asked the provider to stop.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }
    /// Runs `f` unless Terraform stops the provider first.
    pub async fn run<F: Future>(&self, f: F) -> Result<F::Output, Cancelled> {
        tokio::select! {
            biased;
            () = self.cancel.cancelled() => Err(Cancelled),
            out = f => Ok(out),
        }
    }
}
