//! The provider trait: schema, configuration, and the object types it offers.

use std::sync::Arc;

use async_trait::async_trait;

use super::action::Action;
use super::context::{ClientCapabilities, Context};
use super::cty::Value;
use super::data_source::DataSource;
use super::diag::Diagnostics;
use super::ephemeral::EphemeralResource;
use super::object::ObjectType;
use super::resource::Resource;

/// The provider block's configuration. Wholly known, except when Terraform configures a
/// provider whose arguments depend on resources not yet created.
#[derive(Debug, Clone)]
pub struct ConfigureRequest {
    /// The configuration object.
    pub config: Value,
    /// The Terraform CLI version, e.g. `1.15.5`.
    pub terraform_version: String,
    /// What the client supports.
    pub client_capabilities: ClientCapabilities,
}

/// The result of configuring, pre-filled with no data.
pub struct ConfigureResponse<D> {
    /// Data handed to every object type's methods; leave it `None` only with an error (every
    /// later call then fails with "provider not configured").
    pub data: Option<D>,
    /// Problems and warnings.
    pub diagnostics: Diagnostics,
}

impl<D> Default for ConfigureResponse<D> {
    fn default() -> Self {
        Self {
            data: None,
            diagnostics: Diagnostics::new(),
        }
    }
}

/// A Terraform provider: hand one to [`crate::plugin::serve`] from `main`.
///
/// Terraform starts the provider process for each command, asks for the schemas, validates
/// the configuration of every object, calls `configure` once, then calls the object types'
/// methods, possibly concurrently. Object types are listed once per process.
#[async_trait]
pub trait Provider: ObjectType + 'static {
    /// What `configure` produces and every object type's methods receive (typically an API
    /// client and defaults).
    type Data: Send + Sync + 'static;

    /// Turns the provider block into [`Provider::Data`]. Should not call the network: it runs
    /// for every command, including ones that touch no object of this provider.
    async fn configure(
        &self,
        ctx: &Context,
        req: ConfigureRequest,
        resp: &mut ConfigureResponse<Self::Data>,
    );
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
