//! `action "defentry_password_reset"`: complete a password recovery.

use async_trait::async_trait;

use crate::sdk::action::{Action, InvokeRequest, Progress};
use crate::sdk::cty::{Type, Value};
use crate::sdk::provider::ValidateRequest;
use crate::sdk::schema::{Attribute, Block, Schema};
use crate::sdk::{Context, Diagnostics};

use crate::defentry::client::Secret;
use crate::defentry::provider::ProviderData;
use crate::defentry::session;

use super::{rejected, required_text, Phase};

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
        check(&req.config, Phase::Validate).1
    }

    async fn plan(&self, _ctx: &Context, _data: &ProviderData, req: InvokeRequest) -> Diagnostics {
        check(&req.config, Phase::Plan).1
    }

    async fn invoke(
        &self,
        ctx: &Context,
        data: &ProviderData,
        req: InvokeRequest,
        progress: &Progress,
    ) -> Diagnostics {
        let (values, diags) = check(&req.config, Phase::Plan);
        let Some((token, password)) = values else {
            return diags;
        };
        let client = match data.client() {
            Ok(c) => c,
            Err(d) => return d.into(),
        };
        progress.say("Resetting the password").await;
        let doing = "reset the password";
        match session::call(ctx, doing, client.password_reset(&token, &password)).await {
            Err(d) => d.into(),
            Ok(Err(e)) => rejected(&e, doing, attr_of, hint).into(),
            Ok(Ok(message)) => {
                progress.say(message).await;
                Diagnostics::new()
            }
        }
    }
}

/// Token and password if both are usable. Password rules are Defentry's (it answers 422).
fn check(config: &Value, phase: Phase) -> (Option<(Secret, Secret)>, Diagnostics) {
    let mut d = Diagnostics::new();
    let token = required_text(
        config,
        TOKEN,
        "the reset token from the recovery email",
        phase,
        &mut d,
    );
    let password = required_text(config, PASSWORD, "the new password", phase, &mut d);
    match (token, password) {
        (Some(t), Some(p)) => (Some((Secret::new(t), Secret::new(p))), d),
        _ => (None, d),
    }
}

/// API field → attribute: the confirmation is sent equal to `password`.
fn attr_of(field: &str) -> &'static str {
    match field {
        "token" | "email" => TOKEN,
        _ => PASSWORD,
    }
}

fn hint(field: &str) -> Option<&'static str> {
    (field == "token").then_some(
        "Reset tokens work once and expire: request a new one with the `defentry_password_forgot` action.",
    )
}
