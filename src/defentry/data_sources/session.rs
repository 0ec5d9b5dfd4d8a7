//! `data "defentry_session"`: logs in when read.

use async_trait::async_trait;

use crate::sdk::data_source::{DataSource, ReadDataRequest, ReadDataResponse};
use crate::sdk::Context;

use crate::defentry::client::Token;
use crate::defentry::data::ProviderData;
use crate::defentry::op::Op;
use crate::defentry::session::{self, session_object_type};

/// The `defentry_session` data source.
pub struct SessionDataSource;

const DESCRIPTION: &str = "Logs the service account in each time Terraform reads it and returns the session token.\n\n\
**A data source cannot log out**: every plan and apply opens a new session that lives until Defentry expires it. \
Prefer the `defentry_session` ephemeral resource (Terraform 1.10+), which logs out when Terraform is done, or the \
`defentry_token` resource for a long-lived, rotated token. The token is stored in state (marked sensitive).";

session_object_type!(SessionDataSource, DESCRIPTION);

#[async_trait]
impl DataSource<ProviderData> for SessionDataSource {
    async fn read(
        &self,
        ctx: &Context,
        data: &ProviderData,
        req: ReadDataRequest,
        resp: &mut ReadDataResponse,
    ) {
        let op = Op::new(ctx);
        // Terraform is stopping and will not keep this result: do not leak the session.
        let keep = |_: &Token| (!ctx.is_cancelled()).then_some(());
        let result = session::open(&op, data, &req.config, keep).await;
        op.report(&mut resp.diagnostics);
        if let Some((state, ())) = resp.diagnostics.take(result) {
            resp.state = state;
        }
    }
}
