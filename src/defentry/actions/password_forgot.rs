//! `action "defentry_password_forgot"`: start a password recovery.

use async_trait::async_trait;

use crate::sdk::action::{Action, InvokeRequest, Progress};
use crate::sdk::cty::{AttributePath, Type};
use crate::sdk::provider::ValidateRequest;
use crate::sdk::schema::{Attribute, Block, Schema};
use crate::sdk::{Context, Diagnostics};

use crate::defentry::diagnostics::api_error;
use crate::defentry::provider::ProviderData;
use crate::defentry::session;

/// The `defentry_password_forgot` action.
pub struct PasswordForgotAction;

const EMAIL: &str = "email";

#[async_trait]
impl Action<ProviderData> for PasswordForgotAction {
    fn type_name(&self) -> &'static str {
        "defentry_password_forgot"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new(vec![Attribute::required(EMAIL, Type::String)
                .description("Email address of the CRM user who lost their password.")])
            .description("Asks Defentry to email a password-reset token to a CRM user (Terraform 1.14+). \
                Complete it with `defentry_password_reset`. Defentry answers the same way for unknown addresses."),
        )
    }

    async fn validate(&self, req: ValidateRequest) -> Diagnostics {
        let mut d = Diagnostics::new();
        if let Some(e) = req.config.attr(EMAIL).as_str() {
            if !e.contains('@') {
                d.attr_error(
                    AttributePath::attr(EMAIL),
                    "Invalid email",
                    format!("{e:?} is not an email address."),
                );
            }
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
        let email = req
            .config
            .attr(EMAIL)
            .as_str()
            .unwrap_or_default()
            .to_string();
        let client = match data.client() {
            Ok(c) => c,
            Err(d) => return d.into(),
        };
        progress
            .say(format!("Requesting a password reset for {email}"))
            .await;
        let doing = "request a password reset";
        match session::call(ctx, doing, client.password_forgot(&email)).await {
            Err(d) => d.into(),
            Ok(Err(e)) => api_error(&e, doing, |_| Some(AttributePath::attr(EMAIL))).into(),
            Ok(Ok(message)) => {
                progress.say(message).await;
                Diagnostics::new()
            }
        }
    }
}
