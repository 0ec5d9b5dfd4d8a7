//! Managed-resource RPCs: validate, plan, apply, read, upgrade and import.

use tracing::Instrument;

use super::super::convert;
use super::super::cty::Value;
use super::super::diag::{Diagnostic, Diagnostics};
use super::super::object::{ValidateRequest, ValidateResponse};
use super::super::plan;
use super::super::private::Private;
use super::super::proto::tfplugin6 as pb;
use super::super::provider::Provider;
use super::super::resource::{
    ApplyResponse, CreateRequest, DeleteRequest, DeleteResponse, ImportRequest, ImportResponse,
    PlanRequest, PlanResponse, ReadRequest, ReadResponse, UpdateRequest, UpgradeStateRequest,
    UpgradeStateResponse,
};
use super::super::schema::Schema;
use super::shape::{answer, finish_diagnostics, halt_on_errors, span, Body};
use super::ProviderServer;

/// Rejects write-only values when the client cannot keep them out of state: Terraform before
/// 1.11 ignores the schema's write-only flag and would store the value (as
/// terraform-plugin-framework does, with the same summary).
fn check_write_only(schema: &Schema, config: &Value, allowed: bool) -> Diagnostics {
    let mut d = Diagnostics::new();
    if allowed {
        return d;
    }
    for path in schema.block.write_only_set(config) {
        let detail = format!(
            "{path} is write-only: Terraform keeps its value out of plan and state, which needs Terraform 1.11 or later, and this Terraform would store it in state. Upgrade Terraform, or remove {path} from the configuration."
        );
        d.attr_error(path, "Write-only attribute not allowed", detail);
    }
    d
}

impl<P: Provider> ProviderServer<P> {
    pub(super) async fn validate_resource(
        &self,
        r: pb::validate_resource_config::Request,
    ) -> pb::validate_resource_config::Response {
        let s = span("ValidateResourceConfig", &r.type_name);
        let body = async {
            let e = self.inner.resources.lookup(&r.type_name)?;
            let config = e.decode(r.config.as_ref(), "configuration")?;
            let client_capabilities = convert::client_capabilities(r.client_capabilities);
            let allowed = client_capabilities.write_only_attributes_allowed;
            let mut resp = ValidateResponse {
                diagnostics: check_write_only(&e.schema, &config, allowed),
            };
            let req = ValidateRequest {
                config,
                client_capabilities,
            };
            e.imp.validate(&self.ctx(), req, &mut resp).await;
            Ok(resp.diagnostics)
        };
        finish_diagnostics(body.instrument(s).await, Diagnostics::new())
    }

    pub(super) async fn plan_resource(
        &self,
        r: pb::plan_resource_change::Request,
    ) -> pb::plan_resource_change::Response {
        let s = span("PlanResourceChange", &r.type_name);
        answer(s, Default::default, async |diags| {
            let e = self.inner.resources.lookup(&r.type_name)?;
            let prior = e.decode(r.prior_state.as_ref(), "prior state")?;
            let proposed = e.decode(r.proposed_new_state.as_ref(), "proposed new state")?;
            let config = e.decode(r.config.as_ref(), "configuration")?;
            if proposed.is_null() {
                // Destroy: nothing to plan (plan_destroy is not advertised, so this is rare).
                return Ok(pb::plan_resource_change::Response {
                    planned_state: Some(e.encode_state(Value::Null, "plan")?),
                    planned_private: r.prior_private,
                    ..Default::default()
                });
            }
            let mut planned = proposed;
            plan::apply_standard_rules(&e.schema.block, &prior, &config, &mut planned);
            let data = self.data()?;
            let private = Private::from_bytes(r.prior_private);
            let mut resp = PlanResponse {
                planned_state: planned,
                requires_replace: Vec::new(),
                planned_private: private.clone(),
                diagnostics: Diagnostics::new(),
            };
            let req = PlanRequest {
                prior_state: prior.clone(),
                config,
                prior_private: private,
                client_capabilities: convert::client_capabilities(r.client_capabilities),
            };
            e.imp.modify_plan(&self.ctx(), &data, req, &mut resp).await;
            // Schema-level replacement is judged on the final plan, so defaults the resource
            // fills in (e.g. from provider configuration) count too.
            for p in plan::replace_paths(&e.schema.block, &prior, &resp.planned_state) {
                if !resp.requires_replace.contains(&p) {
                    resp.requires_replace.push(p);
                }
            }
            diags.extend(resp.diagnostics);
            halt_on_errors(diags)?;
            Ok(pb::plan_resource_change::Response {
                planned_state: Some(e.encode_state(resp.planned_state, "plan")?),
                requires_replace: resp
                    .requires_replace
                    .into_iter()
                    .map(convert::path)
                    .collect(),
                planned_private: resp.planned_private.into_bytes(),
                ..Default::default()
            })
        })
        .await
    }

    /// Runs detached from the connection (see [`ProviderServer::detached`]).
    pub(super) async fn apply_resource(
        &self,
        r: pb::apply_resource_change::Request,
    ) -> Result<pb::apply_resource_change::Response, tonic::Status> {
        let s = span("ApplyResourceChange", &r.type_name);
        // On failure, returning the prior state keeps whatever existed.
        let kept = pb::apply_resource_change::Response {
            new_state: r.prior_state.clone(),
            private: r.planned_private.clone(),
            ..Default::default()
        };
        self.detached(|this| async move {
            answer(
                s,
                || kept,
                async |diags| this.apply_resource_body(r, diags).await,
            )
            .await
        })
        .await
    }

    async fn apply_resource_body(
        &self,
        r: pb::apply_resource_change::Request,
        diags: &mut Diagnostics,
    ) -> Body<pb::apply_resource_change::Response> {
        let e = self.inner.resources.lookup(&r.type_name)?;
        let prior = e.decode(r.prior_state.as_ref(), "prior state")?;
        let planned = e.decode(r.planned_state.as_ref(), "planned state")?;
        let config = e.decode(r.config.as_ref(), "configuration")?;
        let data = self.data()?;
        let ctx = self.ctx();
        let planned_private = Private::from_bytes(r.planned_private);
        let resp = if planned.is_null() {
            let req = DeleteRequest {
                prior_state: prior.clone(),
                private: planned_private.clone(),
            };
            let mut resp = DeleteResponse::default();
            e.imp.delete(&ctx, &data, req, &mut resp).await;
            // An error keeps the object in state so the next run can finish the delete.
            let deleted = !resp.diagnostics.has_errors();
            ApplyResponse {
                new_state: if deleted { Value::Null } else { prior },
                private: if deleted {
                    Private::default()
                } else {
                    planned_private
                },
                diagnostics: resp.diagnostics,
            }
        } else if prior.is_null() {
            let mut resp = ApplyResponse {
                new_state: Value::Null,
                private: Private::default(),
                diagnostics: Diagnostics::new(),
            };
            let req = CreateRequest {
                planned_state: planned,
                config,
                planned_private,
            };
            e.imp.create(&ctx, &data, req, &mut resp).await;
            resp
        } else {
            let mut resp = ApplyResponse {
                new_state: planned.clone(),
                private: planned_private.clone(),
                diagnostics: Diagnostics::new(),
            };
            let req = UpdateRequest {
                prior_state: prior,
                planned_state: planned,
                config,
                planned_private,
            };
            e.imp.update(&ctx, &data, req, &mut resp).await;
            resp
        };
        diags.extend(resp.diagnostics);
        if !resp.new_state.is_wholly_known() {
            diags.error(
                "Provider left values unknown after apply",
                "The provider returned an incomplete object. This is a bug in the provider; please report it.",
            );
            return Ok(pb::apply_resource_change::Response {
                new_state: r.prior_state,
                private: resp.private.into_bytes(),
                ..Default::default()
            });
        }
        Ok(pb::apply_resource_change::Response {
            new_state: Some(e.encode_state(resp.new_state, "new state")?),
            private: resp.private.into_bytes(),
            ..Default::default()
        })
    }

    pub(super) async fn read_resource(
        &self,
        r: pb::read_resource::Request,
    ) -> pb::read_resource::Response {
        let s = span("ReadResource", &r.type_name);
        // On failure, Terraform keeps the state it sent.
        let kept = pb::read_resource::Response {
            new_state: r.current_state.clone(),
            private: r.private.clone(),
            ..Default::default()
        };
        answer(
            s,
            || kept,
            async |diags| {
                let e = self.inner.resources.lookup(&r.type_name)?;
                let current_state = e.decode(r.current_state.as_ref(), "current state")?;
                let data = self.data()?;
                let private = Private::from_bytes(r.private);
                let mut resp = ReadResponse {
                    new_state: current_state.clone(),
                    private: private.clone(),
                    diagnostics: Diagnostics::new(),
                };
                let req = ReadRequest {
                    current_state,
                    private,
                };
                e.imp.read(&self.ctx(), &data, req, &mut resp).await;
                diags.extend(resp.diagnostics);
                Ok(pb::read_resource::Response {
                    new_state: Some(e.encode_state(resp.new_state, "refreshed state")?),
                    private: resp.private.into_bytes(),
                    ..Default::default()
                })
            },
        )
        .await
    }

    pub(super) async fn upgrade_resource(
        &self,
        r: pb::upgrade_resource_state::Request,
    ) -> pb::upgrade_resource_state::Response {
        let s = span("UpgradeResourceState", &r.type_name);
        answer(s, Default::default, async |diags| {
            let e = self.inner.resources.lookup(&r.type_name)?;
            let raw = r.raw_state.unwrap_or_default();
            if raw.json.is_empty() {
                let summary = "Unsupported legacy state";
                let detail = if raw.flatmap.is_empty() {
                    "Terraform sent an empty state to upgrade. Remove the resource from state (terraform state rm) and apply again."
                } else {
                    "This state was written by Terraform 0.11 or earlier, which this provider cannot read. Remove the resource from state and recreate it."
                };
                return Err(Diagnostic::error(summary, detail).into());
            }
            let Ok(serde_json::Value::Object(raw_state)) = serde_json::from_slice(&raw.json) else {
                return Err(Diagnostic::error(
                    "Invalid stored state",
                    "The stored state of this resource is not a JSON object. Remove it from state (terraform state rm) and recreate it.",
                )
                .into());
            };
            let req = UpgradeStateRequest {
                version: r.version,
                raw_state,
            };
            let mut resp = UpgradeStateResponse::default();
            e.imp.upgrade_state(&self.ctx(), req, &mut resp).await;
            diags.extend(resp.diagnostics);
            halt_on_errors(diags)?;
            Ok(pb::upgrade_resource_state::Response {
                upgraded_state: Some(e.encode_state(resp.state, "upgraded state")?),
                ..Default::default()
            })
        })
        .await
    }

    pub(super) async fn import_resource(
        &self,
        r: pb::import_resource_state::Request,
    ) -> pb::import_resource_state::Response {
        let s = span("ImportResourceState", &r.type_name);
        answer(s, Default::default, async |diags| {
            let e = self.inner.resources.lookup(&r.type_name)?;
            let data = self.data()?;
            let mut resp = ImportResponse::default();
            let req = ImportRequest { id: r.id };
            e.imp.import(&self.ctx(), &data, req, &mut resp).await;
            diags.extend(resp.diagnostics);
            halt_on_errors(diags)?;
            let imported = pb::import_resource_state::ImportedResource {
                state: Some(e.encode_state(resp.state, "imported state")?),
                type_name: r.type_name,
                private: resp.private.into_bytes(),
                identity: None,
            };
            Ok(pb::import_resource_state::Response {
                imported_resources: vec![imported],
                ..Default::default()
            })
        })
        .await
    }
}
