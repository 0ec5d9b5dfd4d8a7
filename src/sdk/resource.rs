//! Managed resources: plan, create, read, update, delete, import, upgrade.

use async_trait::async_trait;

use super::context::{ClientCapabilities, Context};
use super::cty::{AttributePath, Value};
use super::diag::{Diagnostic, Diagnostics};
use super::provider::ValidateRequest;
use super::schema::Schema;

/// Planning input. The SDK has already applied the standard rules (computed → unknown on
/// create, write-only → null, schema-level `requires_replace`) to the response it passes in.
#[derive(Debug, Clone)]
pub struct PlanRequest {
    /// The refreshed prior state; null on create.
    pub prior_state: Value,
    /// The configuration.
    pub config: Value,
    /// Private data from the last read or apply.
    pub prior_private: Vec<u8>,
    /// What the client supports.
    pub client_capabilities: ClientCapabilities,
}

/// Planning output, pre-filled by the SDK.
#[derive(Debug, Clone)]
pub struct PlanResponse {
    /// The planned new state.
    pub planned_state: Value,
    /// Attributes whose change forces replacement.
    pub requires_replace: Vec<AttributePath>,
    /// Private data handed to apply (defaults to the prior private data).
    pub planned_private: Vec<u8>,
    /// Problems and warnings.
    pub diagnostics: Diagnostics,
}

/// Create input.
#[derive(Debug, Clone)]
pub struct CreateRequest {
    /// The plan; unknown values are the ones to fill in.
    pub planned_state: Value,
    /// The configuration, including write-only values.
    pub config: Value,
    /// Private data from the plan.
    pub planned_private: Vec<u8>,
}

/// Update input.
#[derive(Debug, Clone)]
pub struct UpdateRequest {
    /// The state before.
    pub prior_state: Value,
    /// The plan.
    pub planned_state: Value,
    /// The configuration, including write-only values.
    pub config: Value,
    /// Private data from the plan.
    pub planned_private: Vec<u8>,
}

/// Create or update output. The SDK nulls write-only attributes.
#[derive(Debug, Clone)]
pub struct ApplyResponse {
    /// The new state: every known planned value unchanged, nothing unknown.
    /// Null (with an error) when nothing was created.
    pub new_state: Value,
    /// Private data to store.
    pub private: Vec<u8>,
    /// Problems and warnings.
    pub diagnostics: Diagnostics,
}

/// Delete input.
#[derive(Debug, Clone)]
pub struct DeleteRequest {
    /// The state to destroy.
    pub prior_state: Value,
    /// Its private data.
    pub private: Vec<u8>,
}

/// Read (refresh) input.
#[derive(Debug, Clone)]
pub struct ReadRequest {
    /// The current state.
    pub current_state: Value,
    /// Its private data.
    pub private: Vec<u8>,
}

/// Read output.
#[derive(Debug, Clone)]
pub struct ReadResponse {
    /// The refreshed state; null means the object no longer exists.
    pub new_state: Value,
    /// Private data to keep.
    pub private: Vec<u8>,
    /// Problems and warnings.
    pub diagnostics: Diagnostics,
}

/// Import output.
#[derive(Debug, Clone)]
pub struct ImportResponse {
    /// The imported state (Terraform reads it next).
    pub state: Value,
    /// Private data.
    pub private: Vec<u8>,
    /// Problems and warnings.
    pub diagnostics: Diagnostics,
}

/// A managed resource type. Only `create` and `delete` have no default.
#[async_trait]
pub trait Resource<D>: Send + Sync {
    /// Full type name, e.g. `example_thing`.
    fn type_name(&self) -> &'static str;
    /// The schema.
    fn schema(&self) -> Schema;
    /// Static checks of the configuration (values may be unknown).
    async fn validate(&self, _req: ValidateRequest) -> Diagnostics {
        Diagnostics::new()
    }
    /// Adjusts the SDK's plan (schema-level `requires_replace` is added afterwards).
    async fn modify_plan(
        &self,
        _ctx: &Context,
        _data: &D,
        _req: &PlanRequest,
        _resp: &mut PlanResponse,
    ) {
    }
    /// Creates the object.
    async fn create(&self, ctx: &Context, data: &D, req: CreateRequest) -> ApplyResponse;
    /// Refreshes the object; the default keeps the state as it is.
    async fn read(&self, _ctx: &Context, _data: &D, req: ReadRequest) -> ReadResponse {
        ReadResponse {
            new_state: req.current_state,
            private: req.private,
            diagnostics: Diagnostics::new(),
        }
    }
    /// Updates in place; the default accepts the plan as the new state, which is right for
    /// attributes that only affect Terraform-side behaviour.
    async fn update(&self, _ctx: &Context, _data: &D, req: UpdateRequest) -> ApplyResponse {
        ApplyResponse {
            new_state: req.planned_state,
            private: req.planned_private,
            diagnostics: Diagnostics::new(),
        }
    }
    /// Destroys the object. Errors keep it in state so a later run can finish the job.
    async fn delete(&self, ctx: &Context, data: &D, req: DeleteRequest) -> Diagnostics;
    /// Imports by ID; the default refuses.
    async fn import(&self, _ctx: &Context, _data: &D, _id: &str) -> ImportResponse {
        ImportResponse {
            state: Value::Null,
            private: Vec::new(),
            diagnostics: Diagnostic::error(
                "Import not supported",
                format!("The resource type {} cannot be imported.", self.type_name()),
            )
            .into(),
        }
    }
    /// Upgrades stored state (as JSON attributes) from an older schema version to the current
    /// one. The default accepts the current version and refuses anything else.
    fn upgrade_state(
        &self,
        version: i64,
        state: serde_json::Map<String, serde_json::Value>,
    ) -> Result<serde_json::Map<String, serde_json::Value>, Diagnostics> {
        let current = self.schema().version;
        if version == current {
            return Ok(state);
        }
        Err(Diagnostic::error(
            "Unsupported state version",
            format!(
                "The state of this {} was written with schema version {version}, but this provider \
                 version understands only version {current}. Use the provider version that wrote it, \
                 or remove the resource from state and recreate it.",
                self.type_name()
            ),
        )
        .into())
    }
}
