//! `action "defentry_logout"`: revoke a session now.

use async_trait::async_trait;

use crate::sdk::action::{Action, InvokeRequest, Progress};
use crate::sdk::cty::{AttributePath, Type};
use crate::sdk::provider::ValidateRequest;
use crate::sdk::schema::{Attribute, Block, Schema};
use crate::sdk::{Context, Diagnostic, Diagnostics};

use crate::defentry::client::{LogoutOutcome, Secret};
use crate::defentry::provider::ProviderData;
use crate::defentry::session;

/// The `defentry_logout` action.
pub struct LogoutAction;

const TOKEN: &str = "token";

#[async_trait]
impl Action<ProviderData> for LogoutAction {
    fn type_name(&self) -> &'static str {
        "defentry_logout"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new(vec![Attribute::required(TOKEN, Type::String)
                .sensitive()
                .description("The session token to revoke (for example `defentry_token.ci.token`).")])
            .description("Logs a Defentry session out now (Terraform 1.14+): break-glass revocation of a leaked token with \
                `terraform apply -invoke=action.defentry_logout.NAME`, or after a rotation through `action_trigger`. \
                A token that is already invalid is reported, not treated as a failure."),
        )
    }

    async fn validate(&self, req: ValidateRequest) -> Diagnostics {
        let mut d = Diagnostics::new();
        if req.config.attr(TOKEN).as_str() == Some("") {
            d.attr_error(
                AttributePath::attr(TOKEN),
                "Empty token",
                "token must be the session token to revoke.",
            );
        }
        d
    }

    async fn invoke(
        &self,
        ctx: &Context,
        data: &ProviderData,
        req: InvokeRequest,
        progress: &Progress,
    ) -> Diagnostics {
        let Some(token) = req.config.attr(TOKEN).as_str() else {
            return Diagnostic::error("Missing token", "Set token to the session to revoke.")
                .at(AttributePath::attr(TOKEN))
                .into();
        };
        let client = match data.client() {
            Ok(c) => c,
            Err(d) => return d.into(),
        };
        let id = token.split_once('|').map_or("?", |(id, _)| id).to_string();
        progress
            .say(format!("Logging out Defentry session {id}"))
            .await;
        match session::logout(ctx, client, &Secret::new(token)).await {
            Ok(LogoutOutcome::LoggedOut) => {
                progress.say(format!("Session {id} logged out")).await;
                Diagnostics::new()
            }
            Ok(LogoutOutcome::AlreadyInvalid) => {
                progress
                    .say(format!("Session {id} was already logged out or expired"))
                    .await;
                Diagnostic::warning(
                    "Session already ended",
                    format!("Defentry no longer accepted session {id} (already logged out or expired); nothing to revoke."),
                )
                .into()
            }
            Err(d) => d.into(),
        }
    }
}
