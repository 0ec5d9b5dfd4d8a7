//! Actions (Terraform 1.14+): imperative operations invoked with `-invoke` or `action_trigger`.

use async_trait::async_trait;
use tokio::sync::mpsc;

use super::context::{ClientCapabilities, Context};
use super::cty::Value;
use super::diag::Diagnostics;
use super::provider::ValidateRequest;
use super::schema::Schema;

/// Invoke (and plan) input.
#[derive(Debug, Clone)]
pub struct InvokeRequest {
    /// The configuration (may hold unknowns at plan time; wholly known at invoke).
    pub config: Value,
    /// What the client supports.
    pub client_capabilities: ClientCapabilities,
}

/// Sends progress lines to Terraform while an action runs.
#[derive(Debug, Clone)]
pub struct Progress(mpsc::Sender<String>);

impl Progress {
    /// Wraps a channel (the SDK server owns the receiving end).
    pub fn new(tx: mpsc::Sender<String>) -> Self {
        Self(tx)
    }
    /// Reports a progress message; lost silently if Terraform went away.
    pub async fn say(&self, message: impl Into<String>) {
        let _ = self.0.send(message.into()).await;
    }
}

/// An action type.
#[async_trait]
pub trait Action<D>: Send + Sync {
    /// Full type name.
    fn type_name(&self) -> &'static str;
    /// The schema.
    fn schema(&self) -> Schema;
    /// Static checks of the configuration (values may be unknown).
    async fn validate(&self, _req: ValidateRequest) -> Diagnostics {
        Diagnostics::new()
    }
    /// Checks before invocation at plan time; the default has nothing to check.
    async fn plan(&self, _ctx: &Context, _data: &D, _req: InvokeRequest) -> Diagnostics {
        Diagnostics::new()
    }
    /// Runs the action, reporting progress.
    async fn invoke(
        &self,
        ctx: &Context,
        data: &D,
        req: InvokeRequest,
        progress: &Progress,
    ) -> Diagnostics;
}
