//! `action "defentry_password_reset"`: complete a password recovery.

use async_trait::async_trait;

use crate::sdk::action::{Action, InvokeRequest, Progress};
use crate::sdk::cty::{AttributePath, Type};
use crate::sdk::provider::ValidateRequest;
use crate::sdk::schema::{Attribute, Block, Schema};
use crate::sdk::{Context, Diagnostics};

use crate::defentry::client::Secret;
use crate::defentry::diagnostics::api_error;
use crate::defentry::provider::ProviderData;
use crate::defentry::session;

/// The `defentry_password_reset` action.
pub struct PasswordResetAction;

const TOKEN: &str = "token";
const PASSWORD: &str = "password";

#[async_trait]
impl Action<ProviderData> for PasswordResetAction {
    fn type_name(&self) -> &'static str {
        "defentry_password_reset"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new(vec![
                Attribute::required(TOKEN, Type::String)
                    .sensitive()
                    .description("The reset token from the recovery email."),
                Attribute::required(PASSWORD, Type::String)
                    .sensitive()
                    .description("The new password (sent with an equal confirmation). Defentry enforces its own rules, such as a minimum length."),
            ])
            .description("Completes a password recovery with the emailed token (Terraform 1.14+). Afterwards the old password no longer logs in."),
        )
    }

    async fn validate(&self, req: ValidateRequest) -> Diagnostics {
        let mut d = Diagnostics::new();
        for name in [TOKEN, PASSWORD] {
            if req.config.attr(name).as_str() == Some("") {
                d.attr_error(
                    AttributePath::attr(name),
                    format!("Empty {name}"),
                    format!("{name} must not be empty."),
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
        let token = Secret::new(req.config.attr(TOKEN).as_str().unwrap_or_default());
        let password = Secret::new(req.config.attr(PASSWORD).as_str().unwrap_or_default());
        let client = match data.client() {
            Ok(c) => c,
            Err(d) => return d.into(),
        };
        progress.say("Resetting the password").await;
        let doing = "reset the password";
        let field = |f: &str| match f {
            "password" | "password_confirmation" => Some(AttributePath::attr(PASSWORD)),
            _ => Some(AttributePath::attr(TOKEN)),
        };
        match session::call(ctx, doing, client.password_reset(&token, &password)).await {
            Err(d) => d.into(),
            Ok(Err(e)) => api_error(&e, doing, field).into(),
            Ok(Ok(message)) => {
                progress.say(message).await;
                Diagnostics::new()
            }
        }
    }
}
