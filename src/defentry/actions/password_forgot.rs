//! `action "defentry_password_forgot"`: start a password recovery.

use async_trait::async_trait;

use crate::sdk::action::{Action, InvokeRequest, Progress};
use crate::sdk::cty::{AttributePath, Type, Value};
use crate::sdk::provider::ValidateRequest;
use crate::sdk::schema::{Attribute, Block, Schema};
use crate::sdk::{Context, Diagnostics};

use crate::defentry::provider::ProviderData;
use crate::defentry::session;

use super::{rejected, required_text, Phase};

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
        let (email, diags) = check(&req.config, Phase::Plan);
        let Some(email) = email.filter(|_| !diags.has_errors()) else {
            return diags;
        };
        let client = match data.client() {
            Ok(c) => c,
            Err(d) => return d.into(),
        };
        progress
            .say(format!("Requesting a password reset for {email}"))
            .await;
        let doing = "request a password reset";
        match session::call(ctx, doing, client.password_forgot(email)).await {
            Err(d) => d.into(),
            Ok(Err(e)) => rejected(&e, doing, |_| EMAIL, |_| None).into(),
            Ok(Ok(message)) => {
                progress.say(message).await;
                Diagnostics::new()
            }
        }
    }
}

/// The email if usable. Only the obvious is checked here; Defentry applies its own rules.
fn check(config: &Value, phase: Phase) -> (Option<&str>, Diagnostics) {
    let mut d = Diagnostics::new();
    let email = required_text(
        config,
        EMAIL,
        "the email address of a CRM user",
        phase,
        &mut d,
    );
    if let Some(e) = email {
        if !looks_like_email(e) {
            d.attr_error(
                AttributePath::attr(EMAIL),
                "Invalid email",
                format!("{e:?} is not an email address: `email` must look like name@example.com."),
            );
        }
    }
    (email, d)
}

fn looks_like_email(e: &str) -> bool {
    match e.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !e.chars().any(char::is_whitespace)
        }
        None => false,
    }
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
