//! Data sources.

use async_trait::async_trait;

use super::context::{ClientCapabilities, Context};
use super::cty::Value;
use super::diag::Diagnostics;
use super::provider::ValidateRequest;
use super::schema::Schema;

/// Read input.
#[derive(Debug, Clone)]
pub struct ReadDataRequest {
    /// The configuration, wholly known.
    pub config: Value,
    /// What the client supports.
    pub client_capabilities: ClientCapabilities,
}

/// Read output.
#[derive(Debug, Clone)]
pub struct ReadDataResponse {
    /// The result: wholly known and non-null unless there is an error.
    pub state: Value,
    /// Problems and warnings.
    pub diagnostics: Diagnostics,
}

/// A data source type.
#[async_trait]
pub trait DataSource<D>: Send + Sync {
    /// Full type name.
    fn type_name(&self) -> &'static str;
    /// The schema.
    fn schema(&self) -> Schema;
    /// Static checks of the configuration (values may be unknown).
    async fn validate(&self, _req: ValidateRequest) -> Diagnostics {
        Diagnostics::new()
    }
    /// Reads.
    async fn read(&self, ctx: &Context, data: &D, req: ReadDataRequest) -> ReadDataResponse;
}
