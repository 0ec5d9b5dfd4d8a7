//! Provider-level RPCs: metadata, schema, provider configuration, StopProvider, and the
//! process's shutdown.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tracing::Instrument;

use super::super::convert::{self, decode};
use super::super::cty::Value;
use super::super::diag::{Diagnostic, Diagnostics};
use super::super::object::{ValidateRequest, ValidateResponse};
use super::super::proto::tfplugin6 as pb;
use super::super::provider::{ConfigureRequest, ConfigureResponse, Provider};
use super::shape::{answer, finish_diagnostics, span, Entries, Kind};
use super::ProviderServer;

fn capabilities() -> pb::ServerCapabilities {
    pb::ServerCapabilities {
        plan_destroy: false,
        // The schema is static, so Terraform may cache it instead of asking every process.
        get_provider_schema_optional: true,
        move_resource_state: false,
        generate_resource_config: false,
    }
}

fn names<T: ?Sized + Kind, M>(map: &Entries<T>, meta: impl Fn(String) -> M) -> Vec<M> {
    map.iter().map(|(k, _)| meta(k.clone())).collect()
}

fn schemas<T: ?Sized + Kind, S>(
    map: &Entries<T>,
    wrap: impl Fn(pb::Schema) -> S,
) -> HashMap<String, S> {
    map.iter()
        .map(|(k, e)| (k.clone(), wrap(convert::schema(&e.schema))))
        .collect()
}

impl<P: Provider> ProviderServer<P> {
    pub(super) fn metadata(&self) -> pb::get_metadata::Response {
        use pb::get_metadata as m;
        let i = &self.inner;
        m::Response {
            server_capabilities: Some(capabilities()),
            resources: names(&i.resources, |type_name| m::ResourceMetadata { type_name }),
            data_sources: names(&i.data_sources, |type_name| m::DataSourceMetadata {
                type_name,
            }),
            ephemeral_resources: names(&i.ephemerals, |type_name| m::EphemeralMetadata {
                type_name,
            }),
            actions: names(&i.actions, |type_name| m::ActionMetadata { type_name }),
            ..Default::default()
        }
    }

    pub(super) fn provider_schema(&self) -> pb::get_provider_schema::Response {
        let _g = span("GetProviderSchema", "").entered();
        let i = &self.inner;
        let plain = |s: pb::Schema| s;
        pb::get_provider_schema::Response {
            provider: Some(convert::schema(&i.provider_schema)),
            resource_schemas: schemas(&i.resources, plain),
            data_source_schemas: schemas(&i.data_sources, plain),
            ephemeral_resource_schemas: schemas(&i.ephemerals, plain),
            action_schemas: schemas(&i.actions, |s| pb::ActionSchema { schema: Some(s) }),
            server_capabilities: Some(capabilities()),
            ..Default::default()
        }
    }

    /// Decodes the provider block with the provider's schema.
    fn provider_config(&self, v: Option<&pb::DynamicValue>) -> Result<Value, Diagnostic> {
        decode(v, &self.inner.provider_ty, "provider configuration")
    }

    pub(super) async fn validate_provider(
        &self,
        r: pb::validate_provider_config::Request,
    ) -> pb::validate_provider_config::Response {
        let body = async {
            let config = self.provider_config(r.config.as_ref())?;
            let mut resp = ValidateResponse::default();
            let req = ValidateRequest::new(config);
            self.inner
                .provider
                .validate(&self.ctx(), req, &mut resp)
                .await;
            Ok(resp.diagnostics)
        };
        let body = body.instrument(span("ValidateProviderConfig", "")).await;
        finish_diagnostics(body, Diagnostics::new())
    }

    pub(super) async fn configure(
        &self,
        r: pb::configure_provider::Request,
    ) -> pb::configure_provider::Response {
        let s = span("ConfigureProvider", "");
        answer(s, Default::default, async |diags| {
            let config = self.provider_config(r.config.as_ref())?;
            let req = ConfigureRequest {
                config,
                terraform_version: r.terraform_version,
                client_capabilities: convert::client_capabilities(r.client_capabilities),
            };
            let mut resp = ConfigureResponse::default();
            self.inner
                .provider
                .configure(&self.ctx(), req, &mut resp)
                .await;
            if let Some(data) = resp.data {
                let mut g = self.inner.data.write().unwrap_or_else(|p| p.into_inner());
                *g = Some(Arc::new(data));
            }
            diags.extend(resp.diagnostics);
            Ok(Default::default())
        })
        .await
    }

    pub(super) fn stop(&self) -> pb::stop_provider::Response {
        // Running operations start no new work (what already reached a remote system is
        // finished); later requests get a fresh token.
        let mut g = self.inner.stop.lock().unwrap_or_else(|p| p.into_inner());
        g.cancel();
        *g = self.inner.closing.child_token();
        tracing::info!("StopProvider: cancelling in-flight operations");
        pb::stop_provider::Response {
            error: String::new(),
        }
    }

    /// Winds the provider down before the process exits: running operations start no new
    /// work, every ephemeral resource closes what Terraform left open, and after `grace`
    /// whatever still runs is abandoned (it answers "cancelled" instead of being dropped
    /// unanswered). Returns when the ephemeral resources are closed or `grace` has passed.
    pub async fn shutdown(&self, grace: Duration) {
        self.inner.closing.cancel();
        let abandon = self.inner.abandon.clone();
        tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            abandon.cancel();
        });
        let data = self
            .inner
            .data
            .read()
            .map(|d| d.clone())
            .unwrap_or_else(|p| p.into_inner().clone());
        // Calls still running finish on their own (a session they open now is logged out
        // again, as nothing would close it); wait for them as for the closes below.
        let tasks = self.inner.tasks.clone();
        tasks.close();
        let closes = async {
            if let Some(data) = data {
                // Closing is the point of this call, so it runs with a context that is not stopped.
                let ctx = self.unstopped_ctx();
                let closes = self
                    .inner
                    .ephemerals
                    .iter()
                    .map(|(_, e)| e.imp.close_all(&ctx, &data));
                futures_util::future::join_all(closes).await;
            }
        };
        if tokio::time::timeout(grace, futures_util::future::join(closes, tasks.wait()))
            .await
            .is_err()
        {
            tracing::warn!(
                grace_ms = grace.as_millis() as u64,
                "ephemeral resources were not all closed in time"
            );
        }
    }
}
