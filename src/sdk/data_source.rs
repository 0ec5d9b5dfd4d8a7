//! Data sources: read on every plan (or at apply when their configuration is unknown until
//! then); nothing is created or destroyed.

use async_trait::async_trait;

use super::context::{ClientCapabilities, Context};
use super::cty::Value;
use super::diag::Diagnostics;
use super::object::ObjectType;

/// Read input.
#[derive(Debug, Clone)]
pub struct ReadDataRequest {
    /// The configuration, wholly known.
    pub config: Value,
    /// What the client supports.
    pub client_capabilities: ClientCapabilities,
}

/// Read output, pre-filled with a null state.
#[derive(Debug, Clone, Default)]
pub struct ReadDataResponse {
    /// The result: the configuration with every computed attribute filled in. The SDK refuses
    /// a null or partly unknown result unless there is an error.
    pub state: Value,
    /// Problems and warnings.
    pub diagnostics: Diagnostics,
}

/// A data source type.
#[async_trait]
pub trait DataSource<D>: ObjectType {
    /// Reads. Terraform stores the result in state (mark secrets sensitive, or use an ephemeral
    /// resource for values that must not be stored).
    async fn read(
        &self,
        ctx: &Context,
        data: &D,
        req: ReadDataRequest,
        resp: &mut ReadDataResponse,
    );
}
