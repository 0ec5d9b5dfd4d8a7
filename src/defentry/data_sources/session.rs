//! `data "defentry_session"`: logs in when read.

use async_trait::async_trait;

use crate::sdk::data_source::{DataSource, ReadDataRequest, ReadDataResponse};
use crate::sdk::provider::ValidateRequest;
use crate::sdk::schema::Schema;
use crate::sdk::{Context, Diagnostics};

use crate::defentry::provider::ProviderData;
use crate::defentry::session;

/// The `defentry_session` data source.
pub struct SessionDataSource;

const DESCRIPTION: &str = "Logs the service account in each time Terraform reads it and returns the session token.\n\n\
**A data source cannot log out**: every plan and apply opens a new session that lives until Defentry expires it. \
Prefer the `defentry_session` ephemeral resource (Terraform 1.10+), which logs out when Terraform is done, or the \
`defentry_token` resource for a long-lived, rotated token. The token is stored in state (marked sensitive).";

#[async_trait]
impl DataSource<ProviderData> for SessionDataSource {
    fn type_name(&self) -> &'static str {
        "defentry_session"
    }

    fn schema(&self) -> Schema {
        session::session_schema(DESCRIPTION)
    }

    async fn validate(&self, req: ValidateRequest) -> Diagnostics {
        session::validate_session_config(&req.config)
    }

    async fn read(
        &self,
        ctx: &Context,
        data: &ProviderData,
        req: ReadDataRequest,
    ) -> ReadDataResponse {
        let result = async {
            let token = session::open(ctx, data, &req.config).await?;
            if ctx.is_cancelled() {
                // Terraform is stopping and will not keep this result: do not leak the session.
                return Err(session::logged_out_after_stop(ctx, data, token.secret()).await);
            }
            Ok::<_, crate::sdk::Diagnostic>(session::session_result(ctx, &req.config, &token))
        }
        .await;
        match result {
            Ok(state) => ReadDataResponse {
                state,
                diagnostics: Diagnostics::new(),
            },
            Err(d) => ReadDataResponse {
                state: crate::sdk::cty::Value::Null,
                diagnostics: d.into(),
            },
        }
    }
}
