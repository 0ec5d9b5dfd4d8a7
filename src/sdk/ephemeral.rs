//! Ephemeral resources (Terraform 1.10+): opened, maybe renewed, closed; never stored.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::context::{ClientCapabilities, Context};
use super::cty::Value;
use super::diag::{Diagnostic, Diagnostics};
use super::provider::ValidateRequest;
use super::schema::Schema;

/// Open input.
#[derive(Debug, Clone)]
pub struct OpenRequest {
    /// The configuration, wholly known.
    pub config: Value,
    /// What the client supports.
    pub client_capabilities: ClientCapabilities,
}

/// Open output.
#[derive(Debug, Clone)]
pub struct OpenResponse {
    /// The result object (configuration values unchanged).
    pub result: Value,
    /// Opaque data for renew and close.
    pub private: Option<Vec<u8>>,
    /// When Terraform should call renew, if ever.
    pub renew_at: Option<DateTime<Utc>>,
    /// Problems and warnings.
    pub diagnostics: Diagnostics,
}

/// Renew output.
#[derive(Debug, Clone, Default)]
pub struct RenewResponse {
    /// Replacement private data.
    pub private: Option<Vec<u8>>,
    /// Next renewal.
    pub renew_at: Option<DateTime<Utc>>,
    /// Problems and warnings.
    pub diagnostics: Diagnostics,
}

/// An ephemeral resource type.
#[async_trait]
pub trait EphemeralResource<D>: Send + Sync {
    /// Full type name.
    fn type_name(&self) -> &'static str;
    /// The schema.
    fn schema(&self) -> Schema;
    /// Static checks of the configuration (values may be unknown).
    async fn validate(&self, _req: ValidateRequest) -> Diagnostics {
        Diagnostics::new()
    }
    /// Opens.
    async fn open(&self, ctx: &Context, data: &D, req: OpenRequest) -> OpenResponse;
    /// Renews; only called when open set `renew_at`.
    async fn renew(&self, _ctx: &Context, _data: &D, _private: Option<Vec<u8>>) -> RenewResponse {
        RenewResponse {
            diagnostics: Diagnostic::error(
                "Renew not supported",
                format!("{} does not support renewal.", self.type_name()),
            )
            .into(),
            ..RenewResponse::default()
        }
    }
    /// Closes; the default does nothing.
    async fn close(&self, _ctx: &Context, _data: &D, _private: Option<Vec<u8>>) -> Diagnostics {
        Diagnostics::new()
    }
    /// Closes everything still open because the provider process is about to exit: after an
    /// interrupt Terraform sends no close, so a resource holding remote state must release it
    /// here. The server bounds the time this may take; the default does nothing.
    async fn close_all(&self, _ctx: &Context, _data: &D) {}
}
