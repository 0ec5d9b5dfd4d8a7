//! `action "defentry_password_forgot"`: start a password recovery.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::sdk::action::InvokeResponse;
use crate::sdk::cty::{AttributePath, Type};
use crate::sdk::model::Maybe;
use crate::sdk::schema::{Attribute, Block, Schema};
use crate::sdk::{Context, Diagnostics};

use crate::defentry::client::Client;
use crate::defentry::op::Op;

use super::{request, required_text, ActionConfig, Phase, Run};

/// The `defentry_password_forgot` action.
pub struct PasswordForgotAction;

const EMAIL: &str = "email";

#[async_trait]
impl Run for PasswordForgotAction {
    const TYPE_NAME: &'static str = "defentry_password_forgot";
    type Config = Config;

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new(vec![Attribute::required(EMAIL, Type::String)
                .description("Email address of the CRM user who lost their password.")])
            .description("Asks Defentry to email a password-reset token to a CRM user (Terraform 1.14+). \
                Complete it with `defentry_password_reset`. Defentry answers the same way for unknown addresses."),
        )
    }

    async fn run(
        &self,
        ctx: &Context,
        client: &Client,
        email: <Config as ActionConfig>::Input,
        resp: &mut InvokeResponse,
    ) {
        resp.progress(format!("Requesting a password reset for {email}"))
            .await;
        let doing = "request a password reset";
        let op = Op::new(ctx);
        let call = client.password_forgot(op.calls(), &email);
        request(&op, resp, doing, call, |_| EMAIL, |_| None).await;
    }
}

/// The configuration of `defentry_password_forgot`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Config {
    email: Maybe<String>,
}

impl ActionConfig for Config {
    type Input = String;

    /// The email if usable. Only the obvious is checked here; Defentry applies its own rules.
    fn check(&self, phase: Phase, d: &mut Diagnostics) -> Option<String> {
        let email = self.email.as_ref().map(String::as_str);
        let email = required_text(email, EMAIL, "the email address of a CRM user", phase, d)?;
        if !looks_like_email(email) {
            d.attr_error(
                AttributePath::attr(EMAIL),
                "Invalid email",
                format!(
                    "{email:?} is not an email address: `email` must look like name@example.com."
                ),
            );
            return None;
        }
        Some(email.to_string())
    }
}

/// One `@` with something on both sides, no whitespace: the obvious, not Defentry's rules.
fn looks_like_email(e: &str) -> bool {
    let one_at = e.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && !domain.is_empty() && !domain.contains('@')
    });
    one_at && !e.contains(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_shapes() {
        assert!(looks_like_email("admin@partner.com"));
        for bad in ["", "admin", "@partner.com", "admin@", "a@b@c", "a b@c.d"] {
            assert!(!looks_like_email(bad), "{bad}");
        }
    }
}
