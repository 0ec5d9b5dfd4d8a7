//! The tfplugin6 gRPC service: decodes each request by schema, dispatches it to the
//! provider's typed objects, and encodes the answer. Every failure becomes a diagnostic in an
//! OK response; only RPCs Terraform never needs for this provider answer Unimplemented.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock};

use futures_util::Stream;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic::{Request, Response, Status, Streaming};
use tracing::Instrument;

use super::action::{Action, InvokeRequest, Progress};
use super::context::Context;
use super::convert::{self, decode, encode};
use super::cty::{Type, Value};
use super::data_source::{DataSource, ReadDataRequest};
use super::diag::{Diagnostic, Diagnostics};
use super::ephemeral::{EphemeralResource, OpenRequest};
use super::plan;
use super::proto::tfplugin6 as pb;
use super::provider::{ConfigureRequest, Provider, ValidateRequest};
use super::resource::{
    CreateRequest, DeleteRequest, PlanRequest, PlanResponse, ReadRequest, Resource, UpdateRequest,
};
use super::schema::Schema;

type Res<T> = Result<Response<T>, Status>;
type EventStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// One registered object type with its schema and implied type, computed once and shared.
struct Entry<T: ?Sized> {
    imp: Arc<T>,
    schema: Schema,
    ty: Type,
}

fn entries<T: ?Sized>(
    items: Vec<Arc<T>>,
    name: impl Fn(&T) -> &'static str,
    schema: impl Fn(&T) -> Schema,
) -> HashMap<String, Arc<Entry<T>>> {
    items
        .into_iter()
        .map(|imp| {
            let s = schema(&imp);
            let ty = s.block.implied_type();
            (
                name(&imp).to_string(),
                Arc::new(Entry { imp, schema: s, ty }),
            )
        })
        .collect()
}

struct Inner<P: Provider> {
    provider: P,
    provider_schema: Schema,
    provider_ty: Type,
    resources: HashMap<String, Arc<Entry<dyn Resource<P::Data>>>>,
    data_sources: HashMap<String, Arc<Entry<dyn DataSource<P::Data>>>>,
    ephemerals: HashMap<String, Arc<Entry<dyn EphemeralResource<P::Data>>>>,
    actions: HashMap<String, Arc<Entry<dyn Action<P::Data>>>>,
    data: RwLock<Option<Arc<P::Data>>>,
    /// Replaced after each StopProvider; always a child of `closing`.
    stop: Mutex<CancellationToken>,
    /// Cancelled when the process starts shutting down: every stop token, present and
    /// future, is then cancelled, so no call starts new work, even after a StopProvider.
    closing: CancellationToken,
    /// Cancelled when the process gives up on running calls (end of the shutdown grace).
    abandon: CancellationToken,
    /// Calls that change remote state, run detached from their connection (see `detached`).
    tasks: TaskTracker,
}

/// Serves a [`Provider`] as the `tfplugin6.Provider` gRPC service.
pub struct ProviderServer<P: Provider> {
    inner: Arc<Inner<P>>,
}

impl<P: Provider> Clone for ProviderServer<P> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<P: Provider> ProviderServer<P> {
    /// Builds the service, computing every schema once.
    pub fn new(provider: P) -> Self {
        let provider_schema = provider.schema();
        let provider_ty = provider_schema.block.implied_type();
        let resources = entries(provider.resources(), |r| r.type_name(), |r| r.schema());
        let data_sources = entries(provider.data_sources(), |r| r.type_name(), |r| r.schema());
        let ephemerals = entries(
            provider.ephemeral_resources(),
            |r| r.type_name(),
            |r| r.schema(),
        );
        let actions = entries(provider.actions(), |r| r.type_name(), |r| r.schema());
        let abandon = CancellationToken::new();
        let closing = abandon.child_token();
        Self {
            inner: Arc::new(Inner {
                provider,
                provider_schema,
                provider_ty,
                resources,
                data_sources,
                ephemerals,
                actions,
                data: RwLock::new(None),
                stop: Mutex::new(closing.child_token()),
                closing,
                abandon,
                tasks: TaskTracker::new(),
            }),
        }
    }

    /// The stop token of the operations running now.
    fn current_stop(&self) -> CancellationToken {
        self.inner
            .stop
            .lock()
            .map(|t| t.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    fn ctx(&self) -> Context {
        Context::with_abandon(self.current_stop(), self.inner.abandon.clone())
    }

    /// Runs `work` on a task of its own and waits for it. Calls that change remote state run
    /// this way: if Terraform's connection drops mid-call (Terraform was killed), the call still
    /// finishes, so a session it opened is kept for shutdown to close, or closed at once, rather
    /// than dropped half-way. [`ProviderServer::shutdown`] waits for these tasks (bounded).
    async fn detached<T, F>(&self, work: impl FnOnce(Self) -> F) -> Result<T, Status>
    where
        T: Send + 'static,
        F: std::future::Future<Output = T> + Send + 'static,
    {
        self.inner
            .tasks
            .spawn(work(self.clone()))
            .await
            .map_err(|e| Status::internal(format!("the provider call failed: {e}")))
    }

    /// A context with a stop token of its own, for work that must run even after a stop.
    fn unstopped_ctx(&self) -> Context {
        Context::with_abandon(self.inner.abandon.child_token(), self.inner.abandon.clone())
    }

    /// Winds the provider down before the process exits: running operations start no new
    /// work, every ephemeral resource closes what Terraform left open, and after `grace`
    /// whatever still runs is abandoned (it answers "cancelled" instead of being dropped
    /// unanswered). Returns when the ephemeral resources are closed or `grace` has passed.
    pub async fn shutdown(&self, grace: std::time::Duration) {
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
                    .values()
                    .map(|e| e.imp.close_all(&ctx, &data));
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

    fn data(&self) -> Result<Arc<P::Data>, Diagnostic> {
        let guard = self.inner.data.read().unwrap_or_else(|p| p.into_inner());
        guard.clone().ok_or_else(|| {
            Diagnostic::error(
                "Provider not configured",
                "Terraform called the provider before configuring it. This is unexpected; please report it with the Terraform version.",
            )
        })
    }

    fn schema_response(&self) -> pb::get_provider_schema::Response {
        let i = &self.inner;
        let map = |m: Vec<(&String, &Schema)>| -> HashMap<String, pb::Schema> {
            m.into_iter()
                .map(|(k, s)| (k.clone(), convert::schema(s)))
                .collect()
        };
        pb::get_provider_schema::Response {
            provider: Some(convert::schema(&i.provider_schema)),
            resource_schemas: map(i.resources.iter().map(|(k, e)| (k, &e.schema)).collect()),
            data_source_schemas: map(i.data_sources.iter().map(|(k, e)| (k, &e.schema)).collect()),
            ephemeral_resource_schemas: map(i
                .ephemerals
                .iter()
                .map(|(k, e)| (k, &e.schema))
                .collect()),
            action_schemas: i
                .actions
                .iter()
                .map(|(k, e)| {
                    (
                        k.clone(),
                        pb::ActionSchema {
                            schema: Some(convert::schema(&e.schema)),
                        },
                    )
                })
                .collect(),
            server_capabilities: Some(capabilities()),
            ..Default::default()
        }
    }
}

fn capabilities() -> pb::ServerCapabilities {
    pb::ServerCapabilities {
        plan_destroy: false,
        // The schema is static, so Terraform may cache it instead of asking every process.
        get_provider_schema_optional: true,
        move_resource_state: false,
        generate_resource_config: false,
    }
}

/// Finds an object type by name and decodes its configuration with the type's schema.
fn lookup<T: ?Sized>(
    map: &HashMap<String, Arc<Entry<T>>>,
    kind: &str,
    name: &str,
    config: Option<&pb::DynamicValue>,
) -> Result<(Arc<Entry<T>>, Value), Diagnostic> {
    let e = map
        .get(name)
        .cloned()
        .ok_or_else(|| unknown_type(kind, name))?;
    let config = decode(config, &e.ty, "configuration")?;
    Ok((e, config))
}

fn unknown_type(kind: &str, name: &str) -> Diagnostic {
    Diagnostic::error(
        format!("Unknown {kind} type"),
        format!("This provider has no {kind} type named {name:?}. Check the spelling, or upgrade the provider."),
    )
}

fn unsupported(what: &str) -> Diagnostics {
    Diagnostic::error(
        format!("{what} not supported"),
        format!("This provider does not support {what}."),
    )
    .into()
}

/// The answer to every state-store RPC: this SDK serves providers, not state backends.
fn no_state_store() -> Vec<pb::Diagnostic> {
    convert::diagnostics(unsupported("State storage"))
}

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

macro_rules! try_diag {
    ($e:expr, $diags:ident) => {
        match $e {
            Ok(v) => v,
            Err(d) => {
                $diags.push(d);
                return $diags;
            }
        }
    };
}

impl<P: Provider> ProviderServer<P> {
    async fn validate_resource(&self, r: pb::validate_resource_config::Request) -> Diagnostics {
        let (e, config) = match lookup(
            &self.inner.resources,
            "resource",
            &r.type_name,
            r.config.as_ref(),
        ) {
            Ok(found) => found,
            Err(d) => return d.into(),
        };
        let caps = convert::client_capabilities(r.client_capabilities);
        let mut diags = check_write_only(&e.schema, &config, caps.write_only_attributes_allowed);
        let client_capabilities = caps;
        diags.extend(
            e.imp
                .validate(ValidateRequest {
                    config,
                    client_capabilities,
                })
                .await,
        );
        diags
    }

    async fn plan_resource(
        &self,
        r: pb::plan_resource_change::Request,
    ) -> (
        Option<pb::DynamicValue>,
        Vec<pb::AttributePath>,
        Vec<u8>,
        Diagnostics,
    ) {
        let diags = Diagnostics::new();
        let fail = |d: Diagnostic, mut diags: Diagnostics| {
            diags.push(d);
            (None, Vec::new(), Vec::new(), diags)
        };
        let e = match self.inner.resources.get(&r.type_name).cloned() {
            Some(e) => e,
            None => return fail(unknown_type("resource", &r.type_name), diags),
        };
        let decoded = (|| {
            Ok::<_, Diagnostic>((
                decode(r.prior_state.as_ref(), &e.ty, "prior state")?,
                decode(r.proposed_new_state.as_ref(), &e.ty, "proposed new state")?,
                decode(r.config.as_ref(), &e.ty, "configuration")?,
            ))
        })();
        let (prior, proposed, config) = match decoded {
            Ok(v) => v,
            Err(d) => return fail(d, diags),
        };
        if proposed.is_null() {
            // Destroy: nothing to plan (plan_destroy is not advertised, so this is rare).
            return match encode(&Value::Null, &e.ty, "plan") {
                Ok(v) => (Some(v), Vec::new(), r.prior_private, diags),
                Err(d) => fail(d, diags),
            };
        }
        let mut planned = proposed;
        plan::apply_standard_rules(&e.schema.block, &prior, &config, &mut planned);
        let data = match self.data() {
            Ok(d) => d,
            Err(d) => return fail(d, diags),
        };
        let req = PlanRequest {
            prior_state: prior,
            config,
            prior_private: r.prior_private.clone(),
            client_capabilities: convert::client_capabilities(r.client_capabilities),
        };
        let mut resp = PlanResponse {
            planned_state: planned,
            requires_replace: Vec::new(),
            planned_private: r.prior_private,
            diagnostics: Diagnostics::new(),
        };
        e.imp.modify_plan(&self.ctx(), &data, &req, &mut resp).await;
        // Schema-level replacement is judged on the final plan, so defaults the resource fills
        // in (e.g. from provider configuration) count too.
        for p in plan::replace_paths(&e.schema.block, &req.prior_state, &resp.planned_state) {
            if !resp.requires_replace.contains(&p) {
                resp.requires_replace.push(p);
            }
        }
        let diags = {
            let mut d = diags;
            d.extend(std::mem::take(&mut resp.diagnostics));
            d
        };
        e.schema.block.null_write_only(&mut resp.planned_state);
        if diags.has_errors() {
            return (None, Vec::new(), Vec::new(), diags);
        }
        match encode(&resp.planned_state, &e.ty, "plan") {
            Ok(v) => (
                Some(v),
                resp.requires_replace
                    .into_iter()
                    .map(convert::path)
                    .collect(),
                resp.planned_private,
                diags,
            ),
            Err(d) => fail(d, diags),
        }
    }

    async fn apply_resource(
        &self,
        r: pb::apply_resource_change::Request,
    ) -> (Option<pb::DynamicValue>, Vec<u8>, Diagnostics) {
        let mut diags = Diagnostics::new();
        let Some(e) = self.inner.resources.get(&r.type_name).cloned() else {
            diags.push(unknown_type("resource", &r.type_name));
            return (None, Vec::new(), diags);
        };
        let decoded = (|| {
            Ok::<_, Diagnostic>((
                decode(r.prior_state.as_ref(), &e.ty, "prior state")?,
                decode(r.planned_state.as_ref(), &e.ty, "planned state")?,
                decode(r.config.as_ref(), &e.ty, "configuration")?,
            ))
        })();
        let (prior, planned, config) = match decoded {
            Ok(v) => v,
            Err(d) => {
                diags.push(d);
                // Returning the prior state keeps whatever existed.
                return (r.prior_state, r.planned_private, diags);
            }
        };
        let data = match self.data() {
            Ok(d) => d,
            Err(d) => {
                diags.push(d);
                return (r.prior_state, r.planned_private, diags);
            }
        };
        let ctx = self.ctx();
        let (mut new_state, private) = if planned.is_null() {
            let d = e
                .imp
                .delete(
                    &ctx,
                    &data,
                    DeleteRequest {
                        prior_state: prior.clone(),
                        private: r.planned_private.clone(),
                    },
                )
                .await;
            let failed = d.has_errors();
            diags.extend(d);
            if failed {
                // Keep the object in state so the next run can finish the delete.
                (prior, r.planned_private)
            } else {
                (Value::Null, Vec::new())
            }
        } else if prior.is_null() {
            let resp = e
                .imp
                .create(
                    &ctx,
                    &data,
                    CreateRequest {
                        planned_state: planned,
                        config,
                        planned_private: r.planned_private,
                    },
                )
                .await;
            diags.extend(resp.diagnostics);
            (resp.new_state, resp.private)
        } else {
            let resp = e
                .imp
                .update(
                    &ctx,
                    &data,
                    UpdateRequest {
                        prior_state: prior,
                        planned_state: planned,
                        config,
                        planned_private: r.planned_private,
                    },
                )
                .await;
            diags.extend(resp.diagnostics);
            (resp.new_state, resp.private)
        };
        e.schema.block.null_write_only(&mut new_state);
        if !new_state.is_wholly_known() {
            diags.error(
                "Provider left values unknown after apply",
                "The provider returned an incomplete object. This is a bug in the provider; please report it.",
            );
            return (r.prior_state, private, diags);
        }
        match encode(&new_state, &e.ty, "new state") {
            Ok(v) => (Some(v), private, diags),
            Err(d) => {
                diags.push(d);
                (r.prior_state, private, diags)
            }
        }
    }

    async fn read_resource(
        &self,
        r: pb::read_resource::Request,
    ) -> (Option<pb::DynamicValue>, Vec<u8>, Diagnostics) {
        let mut diags = Diagnostics::new();
        let Some(e) = self.inner.resources.get(&r.type_name).cloned() else {
            diags.push(unknown_type("resource", &r.type_name));
            return (r.current_state, r.private, diags);
        };
        let current = match decode(r.current_state.as_ref(), &e.ty, "current state") {
            Ok(v) => v,
            Err(d) => {
                diags.push(d);
                return (r.current_state, r.private, diags);
            }
        };
        let data = match self.data() {
            Ok(d) => d,
            Err(d) => {
                diags.push(d);
                return (r.current_state, r.private, diags);
            }
        };
        let resp = e
            .imp
            .read(
                &self.ctx(),
                &data,
                ReadRequest {
                    current_state: current,
                    private: r.private.clone(),
                },
            )
            .await;
        diags.extend(resp.diagnostics);
        let mut new_state = resp.new_state;
        e.schema.block.null_write_only(&mut new_state);
        match encode(&new_state, &e.ty, "refreshed state") {
            Ok(v) => (Some(v), resp.private, diags),
            Err(d) => {
                diags.push(d);
                (r.current_state, r.private, diags)
            }
        }
    }

    fn upgrade_resource(
        &self,
        r: pb::upgrade_resource_state::Request,
    ) -> (Option<pb::DynamicValue>, Diagnostics) {
        let mut diags = Diagnostics::new();
        let Some(e) = self.inner.resources.get(&r.type_name).cloned() else {
            diags.push(unknown_type("resource", &r.type_name));
            return (None, diags);
        };
        let raw = r.raw_state.unwrap_or_default();
        if raw.json.is_empty() {
            let summary = "Unsupported legacy state";
            if raw.flatmap.is_empty() {
                diags.error(summary, "Terraform sent an empty state to upgrade. Remove the resource from state (terraform state rm) and apply again.");
            } else {
                diags.error(summary, "This state was written by Terraform 0.11 or earlier, which this provider cannot read. Remove the resource from state and recreate it.");
            }
            return (None, diags);
        }
        let map = match serde_json::from_slice::<serde_json::Value>(&raw.json) {
            Ok(serde_json::Value::Object(m)) => m,
            _ => {
                diags.error(
                    "Invalid stored state",
                    "The stored state of this resource is not a JSON object. Remove it from state (terraform state rm) and recreate it.",
                );
                return (None, diags);
            }
        };
        let mut map = match e.imp.upgrade_state(r.version, map) {
            Ok(m) => m,
            Err(d) => {
                diags.extend(d);
                return (None, diags);
            }
        };
        // Drop attributes the current schema no longer has.
        if let Type::Object(attrs) = &e.ty {
            map.retain(|k, _| attrs.contains_key(k));
        }
        let bytes = serde_json::to_vec(&serde_json::Value::Object(map)).unwrap_or_default();
        let mut v = match super::cty::from_json(&bytes, &e.ty) {
            Ok(v) => v,
            Err(err) => {
                diags.error(
                    "Invalid stored state",
                    format!("The stored state of this resource does not match its schema ({err}). Remove it from state and recreate it."),
                );
                return (None, diags);
            }
        };
        e.schema.block.null_write_only(&mut v);
        match encode(&v, &e.ty, "upgraded state") {
            Ok(dv) => (Some(dv), diags),
            Err(d) => {
                diags.push(d);
                (None, diags)
            }
        }
    }

    async fn read_data(
        &self,
        r: pb::read_data_source::Request,
    ) -> (Option<pb::DynamicValue>, Diagnostics) {
        let mut diags = Diagnostics::new();
        let Some(e) = self.inner.data_sources.get(&r.type_name).cloned() else {
            diags.push(unknown_type("data source", &r.type_name));
            return (None, diags);
        };
        let config = match decode(r.config.as_ref(), &e.ty, "configuration") {
            Ok(v) => v,
            Err(d) => {
                diags.push(d);
                return (None, diags);
            }
        };
        let data = match self.data() {
            Ok(d) => d,
            Err(d) => {
                diags.push(d);
                return (None, diags);
            }
        };
        let resp = e
            .imp
            .read(
                &self.ctx(),
                &data,
                ReadDataRequest {
                    config,
                    client_capabilities: convert::client_capabilities(r.client_capabilities),
                },
            )
            .await;
        diags.extend(resp.diagnostics);
        if diags.has_errors() {
            return (None, diags);
        }
        if resp.state.is_null() || !resp.state.is_wholly_known() {
            diags.error(
                "Provider produced an incomplete result",
                "The data source returned a null or partly unknown result. This is a bug in the provider; please report it.",
            );
            return (None, diags);
        }
        match encode(&resp.state, &e.ty, "data source result") {
            Ok(v) => (Some(v), diags),
            Err(d) => {
                diags.push(d);
                (None, diags)
            }
        }
    }

    async fn open_ephemeral(
        &self,
        r: pb::open_ephemeral_resource::Request,
    ) -> pb::open_ephemeral_resource::Response {
        let mut diags = Diagnostics::new();
        let mut out = pb::open_ephemeral_resource::Response::default();
        let Some(e) = self.inner.ephemerals.get(&r.type_name).cloned() else {
            diags.push(unknown_type("ephemeral resource", &r.type_name));
            out.diagnostics = convert::diagnostics(diags);
            return out;
        };
        let opened = async {
            let config = decode(r.config.as_ref(), &e.ty, "configuration")?;
            let data = self.data()?;
            Ok::<_, Diagnostic>(
                e.imp
                    .open(
                        &self.ctx(),
                        &data,
                        OpenRequest {
                            config,
                            client_capabilities: convert::client_capabilities(
                                r.client_capabilities,
                            ),
                        },
                    )
                    .await,
            )
        }
        .await;
        match opened {
            Err(d) => diags.push(d),
            Ok(resp) => {
                diags.extend(resp.diagnostics);
                if !diags.has_errors() {
                    match encode(&resp.result, &e.ty, "ephemeral result") {
                        Ok(v) => {
                            out.result = Some(v);
                            out.private = resp.private;
                            out.renew_at = resp.renew_at.map(convert::timestamp);
                        }
                        Err(d) => diags.push(d),
                    }
                }
            }
        }
        out.diagnostics = convert::diagnostics(diags);
        out
    }
}

/// Wraps handler bodies in a span naming the RPC and object type; never records values.
fn span(rpc: &'static str, type_name: &str) -> tracing::Span {
    tracing::debug_span!("rpc", rpc, type_name)
}

#[tonic::async_trait]
impl<P: Provider> pb::provider_server::Provider for ProviderServer<P> {
    async fn get_metadata(
        &self,
        _r: Request<pb::get_metadata::Request>,
    ) -> Res<pb::get_metadata::Response> {
        let i = &self.inner;
        Ok(Response::new(pb::get_metadata::Response {
            server_capabilities: Some(capabilities()),
            resources: i
                .resources
                .keys()
                .map(|k| pb::get_metadata::ResourceMetadata {
                    type_name: k.clone(),
                })
                .collect(),
            data_sources: i
                .data_sources
                .keys()
                .map(|k| pb::get_metadata::DataSourceMetadata {
                    type_name: k.clone(),
                })
                .collect(),
            ephemeral_resources: i
                .ephemerals
                .keys()
                .map(|k| pb::get_metadata::EphemeralMetadata {
                    type_name: k.clone(),
                })
                .collect(),
            actions: i
                .actions
                .keys()
                .map(|k| pb::get_metadata::ActionMetadata {
                    type_name: k.clone(),
                })
                .collect(),
            ..Default::default()
        }))
    }

    async fn get_provider_schema(
        &self,
        _r: Request<pb::get_provider_schema::Request>,
    ) -> Res<pb::get_provider_schema::Response> {
        let _g = span("GetProviderSchema", "").entered();
        Ok(Response::new(self.schema_response()))
    }

    async fn get_resource_identity_schemas(
        &self,
        _r: Request<pb::get_resource_identity_schemas::Request>,
    ) -> Res<pb::get_resource_identity_schemas::Response> {
        Ok(Response::new(Default::default()))
    }

    async fn upgrade_resource_identity(
        &self,
        _r: Request<pb::upgrade_resource_identity::Request>,
    ) -> Res<pb::upgrade_resource_identity::Response> {
        Ok(Response::new(pb::upgrade_resource_identity::Response {
            upgraded_identity: None,
            diagnostics: convert::diagnostics(unsupported("Resource identity")),
        }))
    }

    async fn validate_provider_config(
        &self,
        r: Request<pb::validate_provider_config::Request>,
    ) -> Res<pb::validate_provider_config::Response> {
        let r = r.into_inner();
        let diags = async {
            let mut diags = Diagnostics::new();
            let config = try_diag!(
                decode(
                    r.config.as_ref(),
                    &self.inner.provider_ty,
                    "provider configuration"
                ),
                diags
            );
            diags.extend(
                self.inner
                    .provider
                    .validate(ValidateRequest::new(config))
                    .await,
            );
            diags
        }
        .instrument(span("ValidateProviderConfig", ""))
        .await;
        Ok(Response::new(pb::validate_provider_config::Response {
            diagnostics: convert::diagnostics(diags),
        }))
    }

    async fn configure_provider(
        &self,
        r: Request<pb::configure_provider::Request>,
    ) -> Res<pb::configure_provider::Response> {
        let r = r.into_inner();
        let diags = async {
            let mut diags = Diagnostics::new();
            let config = try_diag!(
                decode(
                    r.config.as_ref(),
                    &self.inner.provider_ty,
                    "provider configuration"
                ),
                diags
            );
            let resp = self
                .inner
                .provider
                .configure(
                    &self.ctx(),
                    ConfigureRequest {
                        config,
                        terraform_version: r.terraform_version,
                        client_capabilities: convert::client_capabilities(r.client_capabilities),
                    },
                )
                .await;
            diags.extend(resp.diagnostics);
            if let Some(data) = resp.data {
                let mut g = self.inner.data.write().unwrap_or_else(|p| p.into_inner());
                *g = Some(Arc::new(data));
            }
            diags
        }
        .instrument(span("ConfigureProvider", ""))
        .await;
        Ok(Response::new(pb::configure_provider::Response {
            diagnostics: convert::diagnostics(diags),
        }))
    }

    async fn validate_resource_config(
        &self,
        r: Request<pb::validate_resource_config::Request>,
    ) -> Res<pb::validate_resource_config::Response> {
        let r = r.into_inner();
        let s = span("ValidateResourceConfig", &r.type_name);
        let diags = self.validate_resource(r).instrument(s).await;
        Ok(Response::new(pb::validate_resource_config::Response {
            diagnostics: convert::diagnostics(diags),
        }))
    }

    async fn validate_data_resource_config(
        &self,
        r: Request<pb::validate_data_resource_config::Request>,
    ) -> Res<pb::validate_data_resource_config::Response> {
        let r = r.into_inner();
        let s = span("ValidateDataResourceConfig", &r.type_name);
        let found = lookup(
            &self.inner.data_sources,
            "data source",
            &r.type_name,
            r.config.as_ref(),
        );
        let diags = match found {
            Err(d) => d.into(),
            Ok((e, config)) => {
                e.imp
                    .validate(ValidateRequest::new(config))
                    .instrument(s)
                    .await
            }
        };
        Ok(Response::new(pb::validate_data_resource_config::Response {
            diagnostics: convert::diagnostics(diags),
        }))
    }

    async fn upgrade_resource_state(
        &self,
        r: Request<pb::upgrade_resource_state::Request>,
    ) -> Res<pb::upgrade_resource_state::Response> {
        let r = r.into_inner();
        let _g = span("UpgradeResourceState", &r.type_name).entered();
        let (upgraded_state, diags) = self.upgrade_resource(r);
        Ok(Response::new(pb::upgrade_resource_state::Response {
            upgraded_state,
            diagnostics: convert::diagnostics(diags),
        }))
    }

    async fn read_resource(
        &self,
        r: Request<pb::read_resource::Request>,
    ) -> Res<pb::read_resource::Response> {
        let r = r.into_inner();
        let s = span("ReadResource", &r.type_name);
        let (new_state, private, diags) = self.read_resource(r).instrument(s).await;
        Ok(Response::new(pb::read_resource::Response {
            new_state,
            private,
            diagnostics: convert::diagnostics(diags),
            ..Default::default()
        }))
    }

    async fn plan_resource_change(
        &self,
        r: Request<pb::plan_resource_change::Request>,
    ) -> Res<pb::plan_resource_change::Response> {
        let r = r.into_inner();
        let s = span("PlanResourceChange", &r.type_name);
        let (planned_state, requires_replace, planned_private, diags) =
            self.plan_resource(r).instrument(s).await;
        Ok(Response::new(pb::plan_resource_change::Response {
            planned_state,
            requires_replace,
            planned_private,
            diagnostics: convert::diagnostics(diags),
            ..Default::default()
        }))
    }

    async fn apply_resource_change(
        &self,
        r: Request<pb::apply_resource_change::Request>,
    ) -> Res<pb::apply_resource_change::Response> {
        let r = r.into_inner();
        let s = span("ApplyResourceChange", &r.type_name);
        let (new_state, private, diags) = self
            .detached(|this| async move { this.apply_resource(r).instrument(s).await })
            .await?;
        Ok(Response::new(pb::apply_resource_change::Response {
            new_state,
            private,
            diagnostics: convert::diagnostics(diags),
            ..Default::default()
        }))
    }

    async fn import_resource_state(
        &self,
        r: Request<pb::import_resource_state::Request>,
    ) -> Res<pb::import_resource_state::Response> {
        let r = r.into_inner();
        let s = span("ImportResourceState", &r.type_name);
        let resp = async {
            let mut out = pb::import_resource_state::Response::default();
            let mut diags = Diagnostics::new();
            let found = self
                .inner
                .resources
                .get(&r.type_name)
                .cloned()
                .ok_or_else(|| unknown_type("resource", &r.type_name))
                .and_then(|e| Ok((e, self.data()?)));
            match found {
                Err(d) => diags.push(d),
                Ok((e, data)) => {
                    let resp = e.imp.import(&self.ctx(), &data, &r.id).await;
                    diags.extend(resp.diagnostics);
                    if !diags.has_errors() {
                        let mut state = resp.state;
                        e.schema.block.null_write_only(&mut state);
                        match encode(&state, &e.ty, "imported state") {
                            Ok(v) => out.imported_resources.push(
                                pb::import_resource_state::ImportedResource {
                                    type_name: r.type_name.clone(),
                                    state: Some(v),
                                    private: resp.private,
                                    identity: None,
                                },
                            ),
                            Err(d) => diags.push(d),
                        }
                    }
                }
            }
            out.diagnostics = convert::diagnostics(diags);
            out
        }
        .instrument(s)
        .await;
        Ok(Response::new(resp))
    }

    async fn move_resource_state(
        &self,
        _r: Request<pb::move_resource_state::Request>,
    ) -> Res<pb::move_resource_state::Response> {
        Ok(Response::new(pb::move_resource_state::Response {
            diagnostics: convert::diagnostics(unsupported("Moving resource state")),
            ..Default::default()
        }))
    }

    async fn read_data_source(
        &self,
        r: Request<pb::read_data_source::Request>,
    ) -> Res<pb::read_data_source::Response> {
        let r = r.into_inner();
        let s = span("ReadDataSource", &r.type_name);
        let (state, diags) = self
            .detached(|this| async move { this.read_data(r).instrument(s).await })
            .await?;
        Ok(Response::new(pb::read_data_source::Response {
            state,
            diagnostics: convert::diagnostics(diags),
            deferred: None,
        }))
    }

    async fn generate_resource_config(
        &self,
        _r: Request<pb::generate_resource_config::Request>,
    ) -> Res<pb::generate_resource_config::Response> {
        Ok(Response::new(pb::generate_resource_config::Response {
            config: None,
            diagnostics: convert::diagnostics(unsupported("Generating configuration")),
        }))
    }

    async fn validate_ephemeral_resource_config(
        &self,
        r: Request<pb::validate_ephemeral_resource_config::Request>,
    ) -> Res<pb::validate_ephemeral_resource_config::Response> {
        let r = r.into_inner();
        let s = span("ValidateEphemeralResourceConfig", &r.type_name);
        let found = lookup(
            &self.inner.ephemerals,
            "ephemeral resource",
            &r.type_name,
            r.config.as_ref(),
        );
        let diags = match found {
            Err(d) => d.into(),
            Ok((e, config)) => {
                e.imp
                    .validate(ValidateRequest::new(config))
                    .instrument(s)
                    .await
            }
        };
        Ok(Response::new(
            pb::validate_ephemeral_resource_config::Response {
                diagnostics: convert::diagnostics(diags),
            },
        ))
    }

    async fn open_ephemeral_resource(
        &self,
        r: Request<pb::open_ephemeral_resource::Request>,
    ) -> Res<pb::open_ephemeral_resource::Response> {
        let r = r.into_inner();
        let s = span("OpenEphemeralResource", &r.type_name);
        let out = self
            .detached(|this| async move { this.open_ephemeral(r).instrument(s).await })
            .await?;
        Ok(Response::new(out))
    }

    async fn renew_ephemeral_resource(
        &self,
        r: Request<pb::renew_ephemeral_resource::Request>,
    ) -> Res<pb::renew_ephemeral_resource::Response> {
        let r = r.into_inner();
        let s = span("RenewEphemeralResource", &r.type_name);
        let out = async {
            let mut out = pb::renew_ephemeral_resource::Response::default();
            let found = self
                .inner
                .ephemerals
                .get(&r.type_name)
                .cloned()
                .ok_or_else(|| unknown_type("ephemeral resource", &r.type_name))
                .and_then(|e| Ok((e, self.data()?)));
            let diags = match found {
                Err(d) => d.into(),
                Ok((e, data)) => {
                    let resp = e.imp.renew(&self.ctx(), &data, r.private).await;
                    out.private = resp.private;
                    out.renew_at = resp.renew_at.map(convert::timestamp);
                    resp.diagnostics
                }
            };
            out.diagnostics = convert::diagnostics(diags);
            out
        }
        .instrument(s)
        .await;
        Ok(Response::new(out))
    }

    async fn close_ephemeral_resource(
        &self,
        r: Request<pb::close_ephemeral_resource::Request>,
    ) -> Res<pb::close_ephemeral_resource::Response> {
        let r = r.into_inner();
        let s = span("CloseEphemeralResource", &r.type_name);
        let diags = self
            .detached(|this| {
                async move {
                    match this
                        .inner
                        .ephemerals
                        .get(&r.type_name)
                        .cloned()
                        .ok_or_else(|| unknown_type("ephemeral resource", &r.type_name))
                        .and_then(|e| Ok((e, this.data()?)))
                    {
                        Err(d) => d.into(),
                        // Close must run even after StopProvider, so it gets a fresh stop token.
                        Ok((e, data)) => e.imp.close(&this.unstopped_ctx(), &data, r.private).await,
                    }
                }
                .instrument(s)
            })
            .await?;
        Ok(Response::new(pb::close_ephemeral_resource::Response {
            diagnostics: convert::diagnostics(diags),
        }))
    }

    async fn list_resource(
        &self,
        _r: Request<pb::list_resource::Request>,
    ) -> Res<EventStream<pb::list_resource::Event>> {
        let event = pb::list_resource::Event {
            diagnostic: convert::diagnostics(unsupported("Listing resources")),
            ..Default::default()
        };
        Ok(Response::new(Box::pin(futures_util::stream::iter([Ok(
            event,
        )]))))
    }

    async fn validate_list_resource_config(
        &self,
        _r: Request<pb::validate_list_resource_config::Request>,
    ) -> Res<pb::validate_list_resource_config::Response> {
        Ok(Response::new(pb::validate_list_resource_config::Response {
            diagnostics: convert::diagnostics(unsupported("Listing resources")),
        }))
    }

    async fn get_functions(
        &self,
        _r: Request<pb::get_functions::Request>,
    ) -> Res<pb::get_functions::Response> {
        Ok(Response::new(Default::default()))
    }

    async fn call_function(
        &self,
        r: Request<pb::call_function::Request>,
    ) -> Res<pb::call_function::Response> {
        Ok(Response::new(pb::call_function::Response {
            result: None,
            error: Some(pb::FunctionError {
                text: format!(
                    "This provider has no function named {:?}.",
                    r.into_inner().name
                ),
                function_argument: None,
            }),
        }))
    }

    async fn validate_state_store_config(
        &self,
        _r: Request<pb::validate_state_store::Request>,
    ) -> Res<pb::validate_state_store::Response> {
        Ok(Response::new(pb::validate_state_store::Response {
            diagnostics: no_state_store(),
        }))
    }

    async fn configure_state_store(
        &self,
        _r: Request<pb::configure_state_store::Request>,
    ) -> Res<pb::configure_state_store::Response> {
        Ok(Response::new(pb::configure_state_store::Response {
            diagnostics: no_state_store(),
            ..Default::default()
        }))
    }

    async fn read_state_bytes(
        &self,
        _r: Request<pb::read_state_bytes::Request>,
    ) -> Res<EventStream<pb::read_state_bytes::Response>> {
        let resp = pb::read_state_bytes::Response {
            diagnostics: no_state_store(),
            ..Default::default()
        };
        Ok(Response::new(Box::pin(futures_util::stream::iter([Ok(
            resp,
        )]))))
    }

    async fn write_state_bytes(
        &self,
        _r: Request<Streaming<pb::write_state_bytes::RequestChunk>>,
    ) -> Res<pb::write_state_bytes::Response> {
        Ok(Response::new(pb::write_state_bytes::Response {
            diagnostics: no_state_store(),
        }))
    }

    async fn lock_state(
        &self,
        _r: Request<pb::lock_state::Request>,
    ) -> Res<pb::lock_state::Response> {
        Ok(Response::new(pb::lock_state::Response {
            lock_id: String::new(),
            diagnostics: no_state_store(),
        }))
    }

    async fn unlock_state(
        &self,
        _r: Request<pb::unlock_state::Request>,
    ) -> Res<pb::unlock_state::Response> {
        Ok(Response::new(pb::unlock_state::Response {
            diagnostics: no_state_store(),
        }))
    }

    async fn get_states(
        &self,
        _r: Request<pb::get_states::Request>,
    ) -> Res<pb::get_states::Response> {
        Ok(Response::new(pb::get_states::Response {
            state_id: Vec::new(),
            diagnostics: no_state_store(),
        }))
    }

    async fn delete_state(
        &self,
        _r: Request<pb::delete_state::Request>,
    ) -> Res<pb::delete_state::Response> {
        Ok(Response::new(pb::delete_state::Response {
            diagnostics: no_state_store(),
        }))
    }

    async fn plan_action(
        &self,
        r: Request<pb::plan_action::Request>,
    ) -> Res<pb::plan_action::Response> {
        let r = r.into_inner();
        let s = span("PlanAction", &r.action_type);
        let diags = async {
            let found = lookup(
                &self.inner.actions,
                "action",
                &r.action_type,
                r.config.as_ref(),
            )
            .and_then(|(e, config)| Ok((e, config, self.data()?)));
            match found {
                Err(d) => d.into(),
                Ok((e, config, data)) => {
                    let client_capabilities = convert::client_capabilities(r.client_capabilities);
                    let req = InvokeRequest {
                        config,
                        client_capabilities,
                    };
                    e.imp.plan(&self.ctx(), &data, req).await
                }
            }
        }
        .instrument(s)
        .await;
        Ok(Response::new(pb::plan_action::Response {
            diagnostics: convert::diagnostics(diags),
            deferred: None,
        }))
    }

    async fn invoke_action(
        &self,
        r: Request<pb::invoke_action::Request>,
    ) -> Res<EventStream<pb::invoke_action::Event>> {
        use pb::invoke_action::event::{Completed, Progress as PbProgress, Type as Ev};
        let r = r.into_inner();
        let (tx, rx) = mpsc::channel::<String>(16);
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<Diagnostics>();
        let this = self.clone();
        let s = span("InvokeAction", &r.action_type);
        tokio::spawn(
            async move {
                let mut diags = Diagnostics::new();
                let result = this
                    .inner
                    .actions
                    .get(&r.action_type)
                    .cloned()
                    .ok_or_else(|| unknown_type("action", &r.action_type))
                    .and_then(|e| {
                        let config = decode(r.config.as_ref(), &e.ty, "configuration")?;
                        Ok((e, config, this.data()?))
                    });
                match result {
                    Err(d) => diags.push(d),
                    Ok((e, config, data)) => {
                        let progress = Progress::new(tx);
                        diags.extend(
                            e.imp
                                .invoke(
                                    &this.ctx(),
                                    &data,
                                    InvokeRequest {
                                        config,
                                        client_capabilities: convert::client_capabilities(
                                            r.client_capabilities,
                                        ),
                                    },
                                    &progress,
                                )
                                .await,
                        );
                    }
                }
                let _ = done_tx.send(diags);
            }
            .instrument(s),
        );
        // The sender drops when the action finishes, which ends the progress stream.
        let stream = tokio_stream::wrappers::ReceiverStream::new(rx);
        // Progress lines first (in order), then the completion with its diagnostics.
        let progress = futures_util::StreamExt::map(stream, |message| {
            Ok(pb::invoke_action::Event {
                r#type: Some(Ev::Progress(PbProgress { message })),
            })
        });
        let completed = futures_util::stream::once(async move {
            let diags = done_rx.await.unwrap_or_else(|_| {
                Diagnostic::error(
                    "Action failed",
                    "The action stopped unexpectedly. Run it again; if it keeps failing, report it.",
                )
                .into()
            });
            Ok(pb::invoke_action::Event {
                r#type: Some(Ev::Completed(Completed {
                    diagnostics: convert::diagnostics(diags),
                })),
            })
        });
        Ok(Response::new(Box::pin(futures_util::StreamExt::chain(
            progress, completed,
        ))))
    }

    async fn validate_action_config(
        &self,
        r: Request<pb::validate_action_config::Request>,
    ) -> Res<pb::validate_action_config::Response> {
        let r = r.into_inner();
        let s = span("ValidateActionConfig", &r.type_name);
        let found = lookup(
            &self.inner.actions,
            "action",
            &r.type_name,
            r.config.as_ref(),
        );
        let diags = match found {
            Err(d) => d.into(),
            Ok((e, config)) => {
                e.imp
                    .validate(ValidateRequest::new(config))
                    .instrument(s)
                    .await
            }
        };
        Ok(Response::new(pb::validate_action_config::Response {
            diagnostics: convert::diagnostics(diags),
        }))
    }

    async fn stop_provider(
        &self,
        _r: Request<pb::stop_provider::Request>,
    ) -> Res<pb::stop_provider::Response> {
        // Running operations start no new work (what already reached a remote system is
        // finished); later requests get a fresh token.
        let mut g = self.inner.stop.lock().unwrap_or_else(|p| p.into_inner());
        g.cancel();
        *g = self.inner.closing.child_token();
        tracing::info!("StopProvider: cancelling in-flight operations");
        Ok(Response::new(pb::stop_provider::Response {
            error: String::new(),
        }))
    }
}
