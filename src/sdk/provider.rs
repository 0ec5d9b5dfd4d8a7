//! The provider trait: schema, configuration, and the resources it offers.

use std::sync::Arc;

use async_trait::async_trait;

use super::action::Action;
use super::context::{ClientCapabilities, Context};
use super::cty::Value;
use super::data_source::DataSource;
use super::diag::Diagnostics;
use super::ephemeral::EphemeralResource;
use super::resource::Resource;
use super::schema::Schema;

/// A configuration to validate (may contain unknown values).
#[derive(Debug, Clone)]
pub struct ValidateRequest {
    /// The configuration object.
    pub config: Value,
    /// What the client supports (not sent for every kind of object; default otherwise).
    pub client_capabilities: ClientCapabilities,
}

impl ValidateRequest {
    /// A request for a configuration whose client sent no capabilities.
    pub fn new(config: Value) -> Self {
        Self {
            config,
            client_capabilities: ClientCapabilities::default(),
        }
    }
}

/// The provider block's configuration, wholly known unless Terraform defers.
#[derive(Debug, Clone)]
pub struct ConfigureRequest {
    /// The configuration object.
    pub config: Value,
    /// The Terraform CLI version, e.g. `1.15.5`.
    pub terraform_version: String,
    /// What the client supports.
    pub client_capabilities: ClientCapabilities,
}

/// The result of configuring.
pub struct ConfigureResponse<D> {
    /// Data handed to every resource; `None` only with an error diagnostic.
    pub data: Option<D>,
    /// Problems and warnings.
    pub diagnostics: Diagnostics,
}

/// A Terraform provider.
#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// What `configure` produces and every resource receives (typically an API client).
    type Data: Send + Sync + 'static;

    /// The provider's local name, the prefix of every type name (e.g. `example`).
    fn type_name(&self) -> &'static str;
    /// The provider block's schema.
    fn schema(&self) -> Schema;
    /// Checks the provider block's configuration before anything else runs.
    async fn validate(&self, _req: ValidateRequest) -> Diagnostics {
        Diagnostics::new()
    }
    /// Turns the provider block into [`Provider::Data`]. Should not call the network.
    async fn configure(
        &self,
        ctx: &Context,
        req: ConfigureRequest,
    ) -> ConfigureResponse<Self::Data>;
    /// Managed resource types.
    fn resources(&self) -> Vec<Arc<dyn Resource<Self::Data>>> {
        Vec::new()
    }
    /// Data source types.
    fn data_sources(&self) -> Vec<Arc<dyn DataSource<Self::Data>>> {
        Vec::new()
    }
    /// Ephemeral resource types (Terraform 1.10+).
    fn ephemeral_resources(&self) -> Vec<Arc<dyn EphemeralResource<Self::Data>>> {
        Vec::new()
    }
    /// Action types (Terraform 1.14+).
    fn actions(&self) -> Vec<Arc<dyn Action<Self::Data>>> {
        Vec::new()
    }
}
