//! Managed resources: plan, create, read, update, delete, import, upgrade.
//!
//! Every method has the same shape: `(&self, ctx, data, req, &mut resp)`. The SDK pre-fills the
//! response with what is right when the method does nothing (documented on each response), so a
//! method only changes what it decides, and adds problems to `resp.diagnostics`. An error
//! diagnostic never loses an object: the SDK answers Terraform with the state the method left
//! in the response, which for create is nothing and otherwise the object as it now is.

use async_trait::async_trait;

use super::context::{ClientCapabilities, Context};
use super::cty::{self, AttributePath, Type, Value};
use super::diag::{Diagnostic, Diagnostics};
use super::object::ObjectType;
use super::private::Private;

/// Planning input.
#[derive(Debug, Clone)]
pub struct PlanRequest {
    /// The refreshed prior state; null on create.
    pub prior_state: Value,
    /// The configuration (may hold unknown values).
    pub config: Value,
    /// Private data from the last read or apply.
    pub prior_private: Private,
    /// What the client supports.
    pub client_capabilities: ClientCapabilities,
}

/// Planning output. Pre-filled with Terraform's proposed new state after the standard rules
/// (computed attributes unset in the configuration unknown on create, write-only attributes
/// null), no replacement, and the prior private data.
#[derive(Debug, Clone)]
pub struct PlanResponse {
    /// The planned new state. Terraform checks it: an attribute set in the configuration must
    /// keep its configured value; only computed attributes may change, or become unknown to be
    /// decided at apply.
    pub planned_state: Value,
    /// Attributes whose change forces replacement (destroy and create instead of update).
    /// The SDK adds the schema's `requires_replace` attributes that differ afterwards.
    pub requires_replace: Vec<AttributePath>,
    /// Private data handed to apply.
    pub planned_private: Private,
    /// Problems and warnings; an error stops the plan.
    pub diagnostics: Diagnostics,
}

/// Create input.
#[derive(Debug, Clone)]
pub struct CreateRequest {
    /// The plan; its unknown values are the ones to fill in.
    pub planned_state: Value,
    /// The configuration, including write-only values (the only place they appear).
    pub config: Value,
    /// Private data from the plan.
    pub planned_private: Private,
}

/// Update input.
#[derive(Debug, Clone)]
pub struct UpdateRequest {
    /// The state before.
    pub prior_state: Value,
    /// The plan; its unknown values are the ones to fill in.
    pub planned_state: Value,
    /// The configuration, including write-only values.
    pub config: Value,
    /// Private data from the plan.
    pub planned_private: Private,
}

/// Create or update output. Pre-filled, for create, with a null state (nothing exists until
/// the method says so); for update, with the planned state and private data (the plan accepted
/// as it is, right for attributes that only affect Terraform-side behaviour).
///
/// On success `new_state` must hold every known planned value unchanged and nothing unknown;
/// the SDK refuses anything else, and nulls write-only attributes. On error, set it to what
/// now exists (null when create made nothing, the prior or a partly updated state for update):
/// Terraform records it, so the next run finishes the work.
#[derive(Debug, Clone)]
pub struct ApplyResponse {
    /// The new state.
    pub new_state: Value,
    /// Private data to store with it.
    pub private: Private,
    /// Problems and warnings.
    pub diagnostics: Diagnostics,
}

/// Delete input.
#[derive(Debug, Clone)]
pub struct DeleteRequest {
    /// The state to destroy.
    pub prior_state: Value,
    /// Its private data.
    pub private: Private,
}

/// Delete output: an error keeps the object in state, so a later destroy can finish the job.
#[derive(Debug, Clone, Default)]
pub struct DeleteResponse {
    /// Problems and warnings.
    pub diagnostics: Diagnostics,
}

/// Read (refresh) input.
#[derive(Debug, Clone)]
pub struct ReadRequest {
    /// The current state.
    pub current_state: Value,
    /// Its private data.
    pub private: Private,
}

/// Read output, pre-filled with the current state and private data (nothing changed).
#[derive(Debug, Clone)]
pub struct ReadResponse {
    /// The refreshed state; null means the object no longer exists, and Terraform plans to
    /// create it again.
    pub new_state: Value,
    /// Private data to keep (the next plan receives it).
    pub private: Private,
    /// Problems and warnings.
    pub diagnostics: Diagnostics,
}

/// Import input.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    /// The ID the user gave (`terraform import` or an `import` block).
    pub id: String,
}

/// Import output, pre-filled with a null state. Terraform reads the imported state next.
#[derive(Debug, Clone, Default)]
pub struct ImportResponse {
    /// The imported state.
    pub state: Value,
    /// Private data to store with it.
    pub private: Private,
    /// Problems and warnings.
    pub diagnostics: Diagnostics,
}

/// State-upgrade input: state written by a provider version with another schema version.
#[derive(Debug, Clone)]
pub struct UpgradeStateRequest {
    /// The schema version the state was written with.
    pub version: i64,
    /// The stored attributes, as JSON (their types are those of the old schema).
    pub raw_state: serde_json::Map<String, serde_json::Value>,
}

impl UpgradeStateRequest {
    /// The stored attributes read with type `ty` (the current schema's, when the old and new
    /// attributes agree): attributes `ty` does not have are dropped, missing ones are null.
    pub fn state_as(&self, ty: &Type) -> Result<Value, Diagnostic> {
        let mut map = self.raw_state.clone();
        if let Type::Object(attrs) = ty {
            map.retain(|k, _| attrs.contains_key(k));
        }
        let bytes = serde_json::to_vec(&serde_json::Value::Object(map)).unwrap_or_default();
        cty::from_json(&bytes, ty).map_err(|err| {
            Diagnostic::error(
                "Invalid stored state",
                format!("The stored state of this resource does not match its schema ({err}). Remove it from state and recreate it."),
            )
        })
    }
}

/// State-upgrade output, pre-filled with a null state.
#[derive(Debug, Clone, Default)]
pub struct UpgradeStateResponse {
    /// The state in the current schema's type.
    pub state: Value,
    /// Problems and warnings.
    pub diagnostics: Diagnostics,
}

/// A managed resource type. Only `type_name`, `schema`, `create` and `delete` have no default.
///
/// Terraform calls, for each run: `validate` (configuration, possibly with unknowns), then
/// `read` (refresh; skipped with `-refresh=false`), `modify_plan`, and at apply `create`,
/// `update` or `delete`. Plans may be saved and applied later by another process: decide at
/// plan time what the plan shows, and apply exactly that.
#[async_trait]
pub trait Resource<D>: ObjectType {
    /// Adjusts the plan: fill in defaults, mark values that apply will change as unknown,
    /// request replacement. The default keeps the SDK's plan.
    async fn modify_plan(
        &self,
        _ctx: &Context,
        _data: &D,
        _req: PlanRequest,
        _resp: &mut PlanResponse,
    ) {
    }
    /// Creates the object: set `resp.new_state` to the plan with its unknowns filled in.
    async fn create(&self, ctx: &Context, data: &D, req: CreateRequest, resp: &mut ApplyResponse);
    /// Refreshes the object from the remote system. The default keeps the state as it is.
    async fn read(&self, _ctx: &Context, _data: &D, _req: ReadRequest, _resp: &mut ReadResponse) {}
    /// Updates in place. The default accepts the plan as the new state.
    async fn update(
        &self,
        _ctx: &Context,
        _data: &D,
        _req: UpdateRequest,
        _resp: &mut ApplyResponse,
    ) {
    }
    /// Destroys the object. An error keeps it in state.
    async fn delete(&self, ctx: &Context, data: &D, req: DeleteRequest, resp: &mut DeleteResponse);
    /// Imports an existing object by ID. The default refuses.
    async fn import(
        &self,
        _ctx: &Context,
        _data: &D,
        _req: ImportRequest,
        resp: &mut ImportResponse,
    ) {
        resp.diagnostics.push(Diagnostic::error(
            "Import not supported",
            format!("The resource type {} cannot be imported.", self.type_name()),
        ));
    }
    /// Brings state written with an older schema version to the current one (`schema().version`).
    /// Runs before refresh, without provider configuration. The default reads state of the
    /// current version as it is and refuses any other version.
    async fn upgrade_state(
        &self,
        _ctx: &Context,
        req: UpgradeStateRequest,
        resp: &mut UpgradeStateResponse,
    ) {
        let schema = self.schema();
        if req.version == schema.version {
            match req.state_as(&schema.block.implied_type()) {
                Ok(state) => resp.state = state,
                Err(d) => resp.diagnostics.push(d),
            }
            return;
        }
        resp.diagnostics.push(Diagnostic::error(
            "Unsupported state version",
            format!(
                "The state of this {} was written with schema version {}, but this provider \
                 version understands only version {}. Use the provider version that wrote it, \
                 or remove the resource from state and recreate it.",
                self.type_name(),
                req.version,
                schema.version
            ),
        ));
    }
}
