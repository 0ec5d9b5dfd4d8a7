//! `action "defentry_logout"`: revoke a session now.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::sdk::action::InvokeResponse;
use crate::sdk::cty::Type;
use crate::sdk::model::Maybe;
use crate::sdk::schema::{Attribute, Block, Schema};
use crate::sdk::{Context, Diagnostic, Diagnostics};

use crate::defentry::attr::TOKEN;
use crate::defentry::client::{Client, LogoutOutcome, Secret};
use crate::defentry::op::Op;
use crate::defentry::session;

use super::{required_text, ActionConfig, Phase, Run};

/// The `defentry_logout` action.
pub struct LogoutAction;

#[async_trait]
impl Run for LogoutAction {
    const TYPE_NAME: &'static str = "defentry_logout";
    type Config = Config;

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

    async fn run(
        &self,
        ctx: &Context,
        client: &Client,
        token: <Config as ActionConfig>::Input,
        resp: &mut InvokeResponse,
    ) {
        let session = session_label(token.expose());
        resp.progress(format!("Logging out Defentry {session}"))
            .await;
        let op = Op::new(ctx);
        let result = session::logout(&op, client, &token).await;
        op.report(&mut resp.diagnostics);
        match result {
            Ok(LogoutOutcome::LoggedOut) => {
                resp.progress(format!("{} logged out", capitalize(&session)))
                    .await;
            }
            Ok(LogoutOutcome::AlreadyInvalid) => {
                resp.progress(format!(
                    "{} was already logged out or expired",
                    capitalize(&session)
                ))
                .await;
                resp.diagnostics.push(Diagnostic::warning(
                    "Session already ended",
                    format!("Defentry no longer accepts {session} (already logged out, expired or never issued); there was nothing to revoke."),
                ));
            }
            Err(d) => resp.diagnostics.push(d),
        }
    }
}

/// The configuration of `defentry_logout`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Config {
    token: Maybe<Secret>,
}

impl ActionConfig for Config {
    type Input = Secret;

    fn check(&self, phase: Phase, d: &mut Diagnostics) -> Option<Secret> {
        let token = self.token.as_ref().map(Secret::expose);
        required_text(token, TOKEN, "the session token to revoke", phase, d).map(Secret::new)
    }
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
