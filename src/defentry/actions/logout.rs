//! `action "defentry_logout"`: revoke a session now.

use async_trait::async_trait;

use crate::sdk::action::{Action, InvokeRequest, Progress};
use crate::sdk::cty::{Type, Value};
use crate::sdk::provider::ValidateRequest;
use crate::sdk::schema::{Attribute, Block, Schema};
use crate::sdk::{Context, Diagnostic, Diagnostics};

use crate::defentry::client::{LogoutOutcome, Secret};
use crate::defentry::provider::ProviderData;
use crate::defentry::session;

use super::{required_text, Phase};

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
        let (token, diags) = check(&req.config, Phase::Plan);
        let Some(token) = token else {
            return diags;
        };
        let client = match data.client() {
            Ok(c) => c,
            Err(d) => return d.into(),
        };
        let session = session_label(token);
        progress
            .say(format!("Logging out Defentry {session}"))
            .await;
        match session::logout(ctx, client, &Secret::new(token)).await {
            Ok(LogoutOutcome::LoggedOut) => {
                progress
                    .say(format!("{} logged out", capitalize(&session)))
                    .await;
                Diagnostics::new()
            }
            Ok(LogoutOutcome::AlreadyInvalid) => {
                progress
                    .say(format!(
                        "{} was already logged out or expired",
                        capitalize(&session)
                    ))
                    .await;
                Diagnostic::warning(
                    "Session already ended",
                    format!("Defentry no longer accepts {session} (already logged out, expired or never issued); there was nothing to revoke."),
                )
                .into()
            }
            Err(d) => d.into(),
        }
    }
}

fn check(config: &Value, phase: Phase) -> (Option<&str>, Diagnostics) {
    let mut d = Diagnostics::new();
    let token = required_text(config, TOKEN, "the session token to revoke", phase, &mut d);
    (token, d)
}

/// "session 12" for a Sanctum token `12|…` (the id is not secret), else "the session".
fn session_label(token: &str) -> String {
    match token.split_once('|') {
        Some((id, _)) if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => {
            format!("session {id}")
        }
        _ => "the session".to_string(),
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_never_show_the_secret() {
        assert_eq!(session_label("12|abcdef"), "session 12");
        assert_eq!(session_label("abcdef"), "the session");
        assert_eq!(session_label("x1|abcdef"), "the session");
        assert_eq!(capitalize("the session"), "The session");
    }
}
