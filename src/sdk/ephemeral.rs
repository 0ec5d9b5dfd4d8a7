//! Ephemeral resources (Terraform 1.10+): opened, maybe renewed, closed; never stored.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::context::{ClientCapabilities, Context};
use super::cty::Value;
use super::diag::{Diagnostic, Diagnostics};
use super::object::ObjectType;
use super::private::Private;

/// Open input.
#[derive(Debug, Clone)]
pub struct OpenRequest {
    /// The configuration, wholly known.
    pub config: Value,
    /// What the client supports.
    pub client_capabilities: ClientCapabilities,
}

/// Open output, pre-filled with a null result and no private data or renewal.
#[derive(Debug, Clone, Default)]
pub struct OpenResponse {
    /// The result object: the configuration with computed attributes filled in. Terraform
    /// never stores it.
    pub result: Value,
    /// What renew and close need to find what open made (for example a session's handle).
    pub private: Private,
    /// When Terraform should call renew, if ever.
    pub renew_at: Option<DateTime<Utc>>,
    /// Problems and warnings. With an error, Terraform never calls close: release whatever
    /// was opened before answering.
    pub diagnostics: Diagnostics,
}

/// Renew or close input.
#[derive(Debug, Clone, Default)]
pub struct PrivateRequest {
    /// The private data from open (or the last renew).
    pub private: Private,
}

/// Renew output, pre-filled with the request's private data and no further renewal.
#[derive(Debug, Clone, Default)]
pub struct RenewResponse {
    /// Replacement private data.
    pub private: Private,
    /// Next renewal.
    pub renew_at: Option<DateTime<Utc>>,
    /// Problems and warnings.
    pub diagnostics: Diagnostics,
}

/// Close output.
#[derive(Debug, Clone, Default)]
pub struct CloseResponse {
    /// Problems and warnings.
    pub diagnostics: Diagnostics,
}

/// An ephemeral resource type. Terraform opens it when a run needs its result, may renew it,
/// and closes it when the run no longer needs it; none of it is stored in plan or state.
#[async_trait]
pub trait EphemeralResource<D>: ObjectType {
    /// Opens. Runs to completion even when Terraform disconnects, so what it opens is
    /// accounted for; it should still stop early when `ctx` is stopped.
    async fn open(&self, ctx: &Context, data: &D, req: OpenRequest, resp: &mut OpenResponse);
    /// Renews; only called when open set `renew_at`. The default refuses.
    async fn renew(
        &self,
        _ctx: &Context,
        _data: &D,
        _req: PrivateRequest,
        resp: &mut RenewResponse,
    ) {
        resp.diagnostics.push(Diagnostic::error(
            "Renew not supported",
            format!("{} does not support renewal.", self.type_name()),
        ));
    }
    /// Closes. Runs even after Terraform's stop request (its context is never stopped). The
    /// default does nothing.
    async fn close(
        &self,
        _ctx: &Context,
        _data: &D,
        _req: PrivateRequest,
        _resp: &mut CloseResponse,
    ) {
    }
    /// Closes everything still open because the provider process is about to exit: after an
    /// interrupt Terraform sends no close, so a resource holding remote state must release it
    /// here. The server bounds the time this may take; the default does nothing.
    async fn close_all(&self, _ctx: &Context, _data: &D) {}
}
