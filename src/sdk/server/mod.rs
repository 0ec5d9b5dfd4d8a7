//! The tfplugin6 gRPC service: decodes each request by schema, dispatches it to the
//! provider's typed objects, and encodes the answer. Every failure becomes a diagnostic in an
//! OK response; only RPCs Terraform never needs for this provider answer Unimplemented.
//!
//! This file holds the server's state and the routing; `state` builds it and gives each call
//! its context, and the handlers live with their RPC family (`provider`, `resource`,
//! `data_source`, `ephemeral`, `action`, `unsupported`). Every handler has the same shape,
//! described in `shape`: a body that decodes (one lookup), calls and encodes, stopping with
//! `?`, settled by `answer` into the protocol answer.

mod action;
mod data_source;
mod ephemeral;
mod provider;
mod resource;
mod shape;
mod state;
mod unsupported;

use std::sync::{Arc, Mutex, RwLock};

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic::{Request, Response, Status, Streaming};

use super::context::Clock;
use super::cty::Type;
use super::proto::tfplugin6 as pb;
use super::provider::Provider;
use super::schema::Schema;
use shape::{Entries, EventStream};

type Res<T> = Result<Response<T>, Status>;

pub(super) struct Inner<P: Provider> {
    provider: P,
    provider_schema: Schema,
    provider_ty: Type,
    resources: Entries<dyn super::resource::Resource<P::Data>>,
    data_sources: Entries<dyn super::data_source::DataSource<P::Data>>,
    ephemerals: Entries<dyn super::ephemeral::EphemeralResource<P::Data>>,
    actions: Entries<dyn super::action::Action<P::Data>>,
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
    /// What every request context reads the time from.
    clock: Clock,
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

/// Writes the `tfplugin6.Provider` service impl, one row per RPC: `rpc(server, request) =>
/// answer`, where `answer` is a `Result` of `pb::rpc::Response`; RPCs whose types are not
/// their module's `Request`/`Response` pair come last, with their types.
macro_rules! routes {
    (
        $($rpc:ident($this:pat_param, $r:pat_param) => $body:expr;)*
        --
        $($srpc:ident($sthis:pat_param, $sr:pat_param) ($req:ty) -> $resp:ty => $sbody:expr;)*
    ) => {
        #[tonic::async_trait]
        impl<P: Provider> pb::provider_server::Provider for ProviderServer<P> {
            $(async fn $rpc(&self, r: Request<pb::$rpc::Request>) -> Res<pb::$rpc::Response> {
                let ($this, $r) = (self, r.into_inner());
                let answer: Result<pb::$rpc::Response, Status> = $body;
                answer.map(Response::new)
            })*
            $(async fn $srpc(&self, r: Request<$req>) -> Res<$resp> {
                let ($sthis, $sr) = (self, r.into_inner());
                let answer: Result<$resp, Status> = $sbody;
                answer.map(Response::new)
            })*
        }
    };
}

// Routing: each RPC goes to its family's handler.
routes! {
    get_metadata(this, _) => Ok(this.metadata());
    get_provider_schema(this, _) => Ok(this.provider_schema());
    get_resource_identity_schemas(_, _) => Ok(Default::default());
    upgrade_resource_identity(_, _) => Ok(unsupported::upgrade_resource_identity());
    validate_provider_config(this, r) => Ok(this.validate_provider(r).await);
    configure_provider(this, r) => Ok(this.configure(r).await);
    validate_resource_config(this, r) => Ok(this.validate_resource(r).await);
    validate_data_resource_config(this, r) => {
        let (ctx, rpc) = (this.ctx(), "ValidateDataResourceConfig");
        let found = this.inner.data_sources.validate(&ctx, rpc, &r.type_name, r.config.as_ref());
        Ok(found.await)
    };
    upgrade_resource_state(this, r) => Ok(this.upgrade_resource(r).await);
    read_resource(this, r) => Ok(this.read_resource(r).await);
    plan_resource_change(this, r) => Ok(this.plan_resource(r).await);
    apply_resource_change(this, r) => this.apply_resource(r).await;
    import_resource_state(this, r) => Ok(this.import_resource(r).await);
    move_resource_state(_, _) => Ok(unsupported::move_resource_state());
    read_data_source(this, r) => this.read_data_source(r).await;
    generate_resource_config(_, _) => Ok(unsupported::generate_resource_config());
    validate_ephemeral_resource_config(this, r) => {
        let (ctx, rpc) = (this.ctx(), "ValidateEphemeralResourceConfig");
        let found = this.inner.ephemerals.validate(&ctx, rpc, &r.type_name, r.config.as_ref());
        Ok(found.await)
    };
    open_ephemeral_resource(this, r) => this.open_ephemeral(r).await;
    renew_ephemeral_resource(this, r) => Ok(this.renew_ephemeral(r).await);
    close_ephemeral_resource(this, r) => this.close_ephemeral(r).await;
    validate_list_resource_config(_, _) => Ok(unsupported::validate_list_resource_config());
    get_functions(_, _) => Ok(Default::default());
    call_function(_, r) => Ok(unsupported::call_function(r));
    configure_state_store(_, _) => Ok(unsupported::configure_state_store());
    lock_state(_, _) => Ok(unsupported::lock_state());
    unlock_state(_, _) => Ok(unsupported::unlock_state());
    get_states(_, _) => Ok(unsupported::get_states());
    delete_state(_, _) => Ok(unsupported::delete_state());
    plan_action(this, r) => Ok(this.plan_action(r).await);
    validate_action_config(this, r) => {
        let (ctx, rpc) = (this.ctx(), "ValidateActionConfig");
        let found = this.inner.actions.validate(&ctx, rpc, &r.type_name, r.config.as_ref());
        Ok(found.await)
    };
    stop_provider(this, _) => Ok(this.stop());
    --
    validate_state_store_config(_, _) (pb::validate_state_store::Request) -> pb::validate_state_store::Response => Ok(unsupported::validate_state_store_config());
    list_resource(_, _) (pb::list_resource::Request) -> EventStream<pb::list_resource::Event> => Ok(unsupported::list_resource());
    read_state_bytes(_, _) (pb::read_state_bytes::Request) -> EventStream<pb::read_state_bytes::Response> => Ok(unsupported::read_state_bytes());
    write_state_bytes(_, _) (Streaming<pb::write_state_bytes::RequestChunk>) -> pb::write_state_bytes::Response => Ok(unsupported::write_state_bytes());
    invoke_action(this, r) (pb::invoke_action::Request) -> EventStream<pb::invoke_action::Event> => Ok(this.invoke_action(r));
}
