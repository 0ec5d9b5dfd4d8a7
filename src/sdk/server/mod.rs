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

/// Routing: each RPC goes to its family's handler.
#[tonic::async_trait]
impl<P: Provider> pb::provider_server::Provider for ProviderServer<P> {
    async fn get_metadata(
        &self,
        _r: Request<pb::get_metadata::Request>,
    ) -> Res<pb::get_metadata::Response> {
        Ok(Response::new(self.metadata()))
    }

    async fn get_provider_schema(
        &self,
        _r: Request<pb::get_provider_schema::Request>,
    ) -> Res<pb::get_provider_schema::Response> {
        Ok(Response::new(self.provider_schema()))
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
        Ok(Response::new(unsupported::upgrade_resource_identity()))
    }

    async fn validate_provider_config(
        &self,
        r: Request<pb::validate_provider_config::Request>,
    ) -> Res<pb::validate_provider_config::Response> {
        Ok(Response::new(self.validate_provider(r.into_inner()).await))
    }

    async fn configure_provider(
        &self,
        r: Request<pb::configure_provider::Request>,
    ) -> Res<pb::configure_provider::Response> {
        Ok(Response::new(self.configure(r.into_inner()).await))
    }

    async fn validate_resource_config(
        &self,
        r: Request<pb::validate_resource_config::Request>,
    ) -> Res<pb::validate_resource_config::Response> {
        Ok(Response::new(self.validate_resource(r.into_inner()).await))
    }

    async fn validate_data_resource_config(
        &self,
        r: Request<pb::validate_data_resource_config::Request>,
    ) -> Res<pb::validate_data_resource_config::Response> {
        let (r, ctx) = (r.into_inner(), self.ctx());
        let rpc = "ValidateDataResourceConfig";
        let found = self
            .inner
            .data_sources
            .validate(&ctx, rpc, &r.type_name, r.config.as_ref());
        Ok(Response::new(found.await))
    }

    async fn upgrade_resource_state(
        &self,
        r: Request<pb::upgrade_resource_state::Request>,
    ) -> Res<pb::upgrade_resource_state::Response> {
        Ok(Response::new(self.upgrade_resource(r.into_inner()).await))
    }

    async fn read_resource(
        &self,
        r: Request<pb::read_resource::Request>,
    ) -> Res<pb::read_resource::Response> {
        Ok(Response::new(self.read_resource(r.into_inner()).await))
    }

    async fn plan_resource_change(
        &self,
        r: Request<pb::plan_resource_change::Request>,
    ) -> Res<pb::plan_resource_change::Response> {
        Ok(Response::new(self.plan_resource(r.into_inner()).await))
    }

    async fn apply_resource_change(
        &self,
        r: Request<pb::apply_resource_change::Request>,
    ) -> Res<pb::apply_resource_change::Response> {
        self.apply_resource(r.into_inner()).await.map(Response::new)
    }

    async fn import_resource_state(
        &self,
        r: Request<pb::import_resource_state::Request>,
    ) -> Res<pb::import_resource_state::Response> {
        Ok(Response::new(self.import_resource(r.into_inner()).await))
    }

    async fn move_resource_state(
        &self,
        _r: Request<pb::move_resource_state::Request>,
    ) -> Res<pb::move_resource_state::Response> {
        Ok(Response::new(unsupported::move_resource_state()))
    }

    async fn read_data_source(
        &self,
        r: Request<pb::read_data_source::Request>,
    ) -> Res<pb::read_data_source::Response> {
        self.read_data_source(r.into_inner())
            .await
            .map(Response::new)
    }

    async fn generate_resource_config(
        &self,
        _r: Request<pb::generate_resource_config::Request>,
    ) -> Res<pb::generate_resource_config::Response> {
        Ok(Response::new(unsupported::generate_resource_config()))
    }

    async fn validate_ephemeral_resource_config(
        &self,
        r: Request<pb::validate_ephemeral_resource_config::Request>,
    ) -> Res<pb::validate_ephemeral_resource_config::Response> {
        let (r, ctx) = (r.into_inner(), self.ctx());
        let rpc = "ValidateEphemeralResourceConfig";
        let found = self
            .inner
            .ephemerals
            .validate(&ctx, rpc, &r.type_name, r.config.as_ref());
        Ok(Response::new(found.await))
    }

    async fn open_ephemeral_resource(
        &self,
        r: Request<pb::open_ephemeral_resource::Request>,
    ) -> Res<pb::open_ephemeral_resource::Response> {
        self.open_ephemeral(r.into_inner()).await.map(Response::new)
    }

    async fn renew_ephemeral_resource(
        &self,
        r: Request<pb::renew_ephemeral_resource::Request>,
    ) -> Res<pb::renew_ephemeral_resource::Response> {
        Ok(Response::new(self.renew_ephemeral(r.into_inner()).await))
    }

    async fn close_ephemeral_resource(
        &self,
        r: Request<pb::close_ephemeral_resource::Request>,
    ) -> Res<pb::close_ephemeral_resource::Response> {
        self.close_ephemeral(r.into_inner())
            .await
            .map(Response::new)
    }

    async fn list_resource(
        &self,
        _r: Request<pb::list_resource::Request>,
    ) -> Res<EventStream<pb::list_resource::Event>> {
        Ok(Response::new(unsupported::list_resource()))
    }

    async fn validate_list_resource_config(
        &self,
        _r: Request<pb::validate_list_resource_config::Request>,
    ) -> Res<pb::validate_list_resource_config::Response> {
        Ok(Response::new(unsupported::validate_list_resource_config()))
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
        Ok(Response::new(unsupported::call_function(r.into_inner())))
    }

    async fn validate_state_store_config(
        &self,
        _r: Request<pb::validate_state_store::Request>,
    ) -> Res<pb::validate_state_store::Response> {
        Ok(Response::new(unsupported::validate_state_store_config()))
    }

    async fn configure_state_store(
        &self,
        _r: Request<pb::configure_state_store::Request>,
    ) -> Res<pb::configure_state_store::Response> {
        Ok(Response::new(unsupported::configure_state_store()))
    }

    async fn read_state_bytes(
        &self,
        _r: Request<pb::read_state_bytes::Request>,
    ) -> Res<EventStream<pb::read_state_bytes::Response>> {
        Ok(Response::new(unsupported::read_state_bytes()))
    }

    async fn write_state_bytes(
        &self,
        _r: Request<Streaming<pb::write_state_bytes::RequestChunk>>,
    ) -> Res<pb::write_state_bytes::Response> {
        Ok(Response::new(unsupported::write_state_bytes()))
    }

    async fn lock_state(
        &self,
        _r: Request<pb::lock_state::Request>,
    ) -> Res<pb::lock_state::Response> {
        Ok(Response::new(unsupported::lock_state()))
    }

    async fn unlock_state(
        &self,
        _r: Request<pb::unlock_state::Request>,
    ) -> Res<pb::unlock_state::Response> {
        Ok(Response::new(unsupported::unlock_state()))
    }

    async fn get_states(
        &self,
        _r: Request<pb::get_states::Request>,
    ) -> Res<pb::get_states::Response> {
        Ok(Response::new(unsupported::get_states()))
    }

    async fn delete_state(
        &self,
        _r: Request<pb::delete_state::Request>,
    ) -> Res<pb::delete_state::Response> {
        Ok(Response::new(unsupported::delete_state()))
    }

    async fn plan_action(
        &self,
        r: Request<pb::plan_action::Request>,
    ) -> Res<pb::plan_action::Response> {
        Ok(Response::new(self.plan_action(r.into_inner()).await))
    }

    async fn invoke_action(
        &self,
        r: Request<pb::invoke_action::Request>,
    ) -> Res<EventStream<pb::invoke_action::Event>> {
        Ok(Response::new(self.invoke_action(r.into_inner())))
    }

    async fn validate_action_config(
        &self,
        r: Request<pb::validate_action_config::Request>,
    ) -> Res<pb::validate_action_config::Response> {
        let (r, ctx) = (r.into_inner(), self.ctx());
        let rpc = "ValidateActionConfig";
        let found = self
            .inner
            .actions
            .validate(&ctx, rpc, &r.type_name, r.config.as_ref());
        Ok(Response::new(found.await))
    }

    async fn stop_provider(
        &self,
        _r: Request<pb::stop_provider::Request>,
    ) -> Res<pb::stop_provider::Response> {
        Ok(Response::new(self.stop()))
    }
}
