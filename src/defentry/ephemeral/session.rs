//! `ephemeral "defentry_session"`: logs in on open, logs out on close, never stored.

use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;

use crate::sdk::cty::Value;
use crate::sdk::ephemeral::{EphemeralResource, OpenRequest, OpenResponse};
use crate::sdk::provider::ValidateRequest;
use crate::sdk::schema::Schema;
use crate::sdk::{Context, Diagnostic, Diagnostics};

use crate::defentry::client::LogoutOutcome;
use crate::defentry::provider::ProviderData;
use crate::defentry::session;

/// The `defentry_session` ephemeral resource.
pub struct SessionEphemeral;

const DESCRIPTION: &str = "A Defentry session for the length of one Terraform run (Terraform 1.10+): \
logs in when Terraform opens it and **always logs out** when Terraform closes it. Nothing of it reaches plan or state.\n\n\
Terraform opens ephemeral resources in every phase, so `plan` and `apply` each log in and out once. \
Feed `token` to write-only arguments (for example `secret_string_wo`) or to provider configuration.";

static NEXT_HANDLE: AtomicU64 = AtomicU64::new(1);

#[async_trait]
impl EphemeralResource<ProviderData> for SessionEphemeral {
    fn type_name(&self) -> &'static str {
        "defentry_session"
    }

    fn schema(&self) -> Schema {
        session::session_schema(DESCRIPTION)
    }

    async fn validate(&self, req: ValidateRequest) -> Diagnostics {
        session::validate_session_config(&req.config)
    }

    async fn open(&self, ctx: &Context, data: &ProviderData, req: OpenRequest) -> OpenResponse {
        let opened = session::open(ctx, data, &req.config).await;
        match opened {
            Err(d) => OpenResponse {
                result: Value::Null,
                private: None,
                renew_at: None,
                diagnostics: d.into(),
            },
            Ok(token) => {
                // Private data holds only a handle; the token stays in this process for close.
                let handle = NEXT_HANDLE.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut m) = data.ephemeral_sessions.lock() {
                    m.insert(handle, token.secret().clone());
                }
                OpenResponse {
                    result: session::session_result(&req.config, &token),
                    private: Some(handle.to_be_bytes().to_vec()),
                    renew_at: None,
                    diagnostics: Diagnostics::new(),
                }
            }
        }
    }

    async fn close(
        &self,
        ctx: &Context,
        data: &ProviderData,
        private: Option<Vec<u8>>,
    ) -> Diagnostics {
        let handle = private
            .and_then(|p| <[u8; 8]>::try_from(p.as_slice()).ok())
            .map(u64::from_be_bytes);
        let token = handle.and_then(|h| data.ephemeral_sessions.lock().ok()?.remove(&h));
        let Some(token) = token else {
            return Diagnostic::warning(
                "Session not logged out",
                "The provider no longer knows this session, so it could not log it out; Defentry will expire it.",
            )
            .into();
        };
        let Ok(client) = data.client() else {
            return Diagnostics::new();
        };
        match session::logout(ctx, client, &token).await {
            Ok(LogoutOutcome::LoggedOut | LogoutOutcome::AlreadyInvalid) => Diagnostics::new(),
            // A failed logout must never fail the run that used the session.
            Err(d) => Diagnostic::warning(
                "Session not logged out",
                format!("{} Defentry will expire the session on its own.", d.detail),
            )
            .into(),
        }
    }
}
