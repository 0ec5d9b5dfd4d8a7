//! The SDK's traits for `defentry_token`, wiring the schema, plan and apply together.

use async_trait::async_trait;

use crate::sdk::model::update_value;
use crate::sdk::object::{ObjectType, ValidateRequest, ValidateResponse};
use crate::sdk::private::Private;
use crate::sdk::resource::{
    ApplyResponse, CreateRequest, DeleteRequest, DeleteResponse, ImportRequest, ImportResponse,
    PlanRequest, PlanResponse, ReadRequest, ReadResponse, Resource, UpdateRequest,
};
use crate::sdk::schema::Schema;
use crate::sdk::{Context, Diagnostic};

use crate::defentry::attr;
use crate::defentry::data::ProviderData;

use super::apply::{log_in, log_out};
use super::marks::{refreshed_marks, Marks};
use super::model::TYPE;
use super::Model;
use super::{apply, plan, schema, TokenResource};
use crate::defentry::op::Op;

#[async_trait]
impl ObjectType for TokenResource {
    fn type_name(&self) -> &'static str {
        "defentry_token"
    }

    fn schema(&self) -> Schema {
        schema::schema()
    }

    async fn validate(&self, _ctx: &Context, req: ValidateRequest, resp: &mut ValidateResponse) {
        let d = &mut resp.diagnostics;
        let Some(config) = d.take(Model::read(&req.config)) else {
            return;
        };
        config.login_args().validate(d);
        for check in [
            config.rotation_period().err(),
            config.rotation_anchor().err(),
            config.overlap().err(),
        ]
        .into_iter()
        .flatten()
        {
            d.push(check);
        }
    }
}

#[async_trait]
impl Resource<ProviderData> for TokenResource {
    async fn modify_plan(
        &self,
        _ctx: &Context,
        data: &ProviderData,
        req: PlanRequest,
        resp: &mut PlanResponse,
    ) {
        if resp.planned_state.is_null() {
            return;
        }
        let models = (|| {
            let prior = Model::read(&req.prior_state)?;
            Ok::<_, Diagnostic>((
                Model::read(&req.config)?,
                prior,
                Model::read(&resp.planned_state)?,
            ))
        })();
        let Some((config, prior, mut planned)) = resp.diagnostics.take(models) else {
            return;
        };
        let prior = (!req.prior_state.is_null()).then(|| (&prior, req.prior_private.get()));
        plan::plan(data, &config, prior, &mut planned, resp);
        let planned = update_value(&resp.planned_state, &planned, &TYPE).map_err(Into::into);
        if let Some(v) = resp.diagnostics.take(planned) {
            resp.planned_state = v;
        }
    }

    async fn create(
        &self,
        ctx: &Context,
        data: &ProviderData,
        req: CreateRequest,
        resp: &mut ApplyResponse,
    ) {
        let op = Op::new(ctx);
        let created = async {
            let planned = Model::read(&req.planned_state)?;
            log_in(&op, data, &Model::read(&req.config)?, planned)
                .await?
                .write()
        };
        let created = created.await;
        op.report(&mut resp.diagnostics);
        if let Some(state) = resp.diagnostics.take(created) {
            let token_id = state.attr(attr::TOKEN_ID).as_str().unwrap_or_default();
            tracing::info!(token_id, "defentry_token created");
            resp.new_state = state;
            resp.private = Private::of(&Marks::default());
        }
    }

    async fn update(
        &self,
        ctx: &Context,
        data: &ProviderData,
        req: UpdateRequest,
        resp: &mut ApplyResponse,
    ) {
        resp.private = Private::of(&Marks::default());
        let op = Op::new(ctx);
        let updated = async {
            let prior = Model::read(&req.prior_state)?;
            let planned = Model::read(&req.planned_state)?;
            let config = Model::read(&req.config)?;
            apply::update(&op, data, prior, planned, &config, resp).await
        };
        let updated = updated.await;
        op.report(&mut resp.diagnostics);
        resp.diagnostics.take(updated);
    }

    async fn read(
        &self,
        ctx: &Context,
        _data: &ProviderData,
        req: ReadRequest,
        resp: &mut ReadResponse,
    ) {
        // Defentry has no endpoint to inspect a token, so refresh only decides the schedule.
        if let Some(state) = resp.diagnostics.take(Model::read(&req.current_state)) {
            resp.private = Private::of(&refreshed_marks(&state, ctx.now()));
        }
    }

    async fn delete(
        &self,
        ctx: &Context,
        data: &ProviderData,
        req: DeleteRequest,
        resp: &mut DeleteResponse,
    ) {
        let Some(state) = resp.diagnostics.take(Model::read(&req.prior_state)) else {
            return;
        };
        let op = Op::new(ctx);
        if let Some(user) = state.username.known() {
            op.calls().set_account(user);
        }
        // Both tokens, each attempted: a failure keeps the resource in state, and the next
        // destroy finds the one already logged out invalid, which counts as done.
        for token in [&state.previous_token, &state.token] {
            if let Err(e) = log_out(&op, data, token).await {
                resp.diagnostics.push(e);
            }
        }
        op.report(&mut resp.diagnostics);
    }

    async fn import(
        &self,
        _ctx: &Context,
        _data: &ProviderData,
        _req: ImportRequest,
        resp: &mut ImportResponse,
    ) {
        resp.diagnostics.push(Diagnostic::error(
            "defentry_token cannot be imported",
            "Defentry never returns a token's secret after login, so an existing session cannot be brought under Terraform. \
             Let Terraform log in anew (terraform apply creates a fresh token), and end the old session with the \
             defentry_logout action or by letting it expire.",
        ));
    }
}
