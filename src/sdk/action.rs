//! Actions (Terraform 1.14+): imperative operations invoked with `-invoke` or `action_trigger`.

use async_trait::async_trait;
use tokio::sync::mpsc;

use super::context::{ClientCapabilities, Context};
use super::cty::Value;
use super::diag::Diagnostics;
use super::object::ObjectType;

/// Plan and invoke input.
#[derive(Debug, Clone)]
pub struct ActionRequest {
    /// The configuration (may hold unknowns at plan time; wholly known at invoke).
    pub config: Value,
    /// What the client supports.
    pub client_capabilities: ClientCapabilities,
}

/// Plan output.
#[derive(Debug, Clone, Default)]
pub struct PlanActionResponse {
    /// Problems and warnings; an error stops the plan before anything runs.
    pub diagnostics: Diagnostics,
}

/// Invoke output: progress lines while the action runs, then its diagnostics.
#[derive(Debug)]
pub struct InvokeResponse {
    progress: mpsc::Sender<String>,
    /// Problems and warnings; an error fails the action (and the run that triggered it).
    pub diagnostics: Diagnostics,
}

impl InvokeResponse {
    /// A response whose progress lines go to `progress` (the SDK server owns the receiving end).
    pub fn new(progress: mpsc::Sender<String>) -> Self {
        Self {
            progress,
            diagnostics: Diagnostics::new(),
        }
    }

    /// Shows a progress line to the user at once; lost silently if Terraform went away.
    pub async fn progress(&self, message: impl Into<String>) {
        let _ = self.progress.send(message.into()).await;
    }
}

/// An action type. Actions have no state: Terraform plans them (checks), then invokes them.
#[async_trait]
pub trait Action<D>: ObjectType {
    /// Checks before invocation, at plan time, with the provider configured; the default has
    /// nothing to check.
    async fn plan(
        &self,
        _ctx: &Context,
        _data: &D,
        _req: ActionRequest,
        _resp: &mut PlanActionResponse,
    ) {
    }
    /// Runs the action. Runs to completion even when Terraform disconnects; it should stop
    /// early, before anything irreversible, when `ctx` is stopped.
    async fn invoke(&self, ctx: &Context, data: &D, req: ActionRequest, resp: &mut InvokeResponse);
}
