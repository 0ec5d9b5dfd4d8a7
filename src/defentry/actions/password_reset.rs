//! `action "defentry_password_reset"`: complete a password recovery.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::sdk::action::InvokeResponse;
use crate::sdk::cty::Type;
use crate::sdk::model::Maybe;
use crate::sdk::schema::{Attribute, Block, Schema};
use crate::sdk::{Context, Diagnostics};

use crate::defentry::attr::{PASSWORD, TOKEN};
use crate::defentry::client::{Client, Secret};
use crate::defentry::op::Op;

use super::{request, required_text, ActionConfig, Phase, Run};

/// The `defentry_password_reset` action.
pub struct PasswordResetAction;

#[async_trait]
impl Run for PasswordResetAction {
    const TYPE_NAME: &'static str = "defentry_password_reset";
    type Config = Config;

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

    async fn run(
        &self,
        ctx: &Context,
        client: &Client,
        input: <Config as ActionConfig>::Input,
        resp: &mut InvokeResponse,
    ) {
        resp.progress("Resetting the password").await;
        let doing = "reset the password";
        let op = Op::new(ctx);
        let call = client.password_reset(op.calls(), &input.token, &input.password);
        request(&op, resp, doing, call, attr_of, hint).await;
    }
}

/// The configuration of `defentry_password_reset`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Config {
    token: Maybe<Secret>,
    password: Maybe<Secret>,
}

/// What a reset sends.
pub(crate) struct Reset {
    token: Secret,
    password: Secret,
}

impl ActionConfig for Config {
    type Input = Reset;

    /// Token and password if both are usable. Password rules are Defentry's (it answers 422).
    fn check(&self, phase: Phase, d: &mut Diagnostics) -> Option<Reset> {
        fn text(v: &Maybe<Secret>) -> Maybe<&str> {
            v.as_ref().map(Secret::expose)
        }
        let what = "the reset token from the recovery email";
        let token = required_text(text(&self.token), TOKEN, what, phase, d);
        let password = required_text(text(&self.password), PASSWORD, "the new password", phase, d);
        Some(Reset {
            token: Secret::new(token?),
            password: Secret::new(password?),
        })
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
