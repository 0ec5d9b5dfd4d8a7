//! What every object type has, whatever its kind (the provider block itself, resources, data
//! sources, ephemeral resources, actions): a name, a schema, and static checks of its
//! configuration. A module of its own, so the trait modules share it without importing each
//! other.

use async_trait::async_trait;

use super::context::{ClientCapabilities, Context};
use super::cty::Value;
use super::diag::Diagnostics;
use super::schema::Schema;

/// The part of every object type Terraform needs before the provider is configured: it reads
/// every schema first (once per process, possibly cached across runs), then validates each
/// configuration. Implement it beside the kind's own trait ([`crate::resource::Resource`],
/// ...); the provider implements it for its own block.
#[async_trait]
pub trait ObjectType: Send + Sync {
    /// The full type name, e.g. `example_thing`: the provider's name, an underscore, the
    /// type. For the provider itself, its local name (`example`).
    fn type_name(&self) -> &'static str;
    /// The schema. It must not change while the process runs, and an attribute's type or
    /// nesting must not change between versions without a schema version bump and
    /// `upgrade_state`.
    fn schema(&self) -> Schema;
    /// Static checks of a configuration, before the provider is configured and without the
    /// network. Values may be unknown (from expressions Terraform has not evaluated yet):
    /// check what is known and leave the rest to plan or apply, which see the final values.
    /// Errors stop Terraform before planning. The default checks nothing beyond the schema,
    /// which Terraform has enforced already.
    async fn validate(&self, _ctx: &Context, _req: ValidateRequest, _resp: &mut ValidateResponse) {}
}

/// A configuration to validate (see [`ObjectType::validate`]).
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

/// What validation found. Errors stop Terraform before planning; warnings are shown.
#[derive(Debug, Clone, Default)]
pub struct ValidateResponse {
    /// Problems and warnings, with the attribute path where one applies.
    pub diagnostics: Diagnostics,
}
