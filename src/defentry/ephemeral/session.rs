//! `ephemeral "defentry_session"`: logs in on open, logs out on close, never stored.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use async_trait::async_trait;

use serde::{Deserialize, Serialize};

use crate::sdk::ephemeral::{
    CloseResponse, EphemeralResource, OpenRequest, OpenResponse, PrivateRequest,
};
use crate::sdk::private::Private;
use crate::sdk::{Context, Diagnostic};

use crate::defentry::client::{Client, LogoutOutcome, Token};
use crate::defentry::data::ProviderData;
use crate::defentry::op::Op;
use crate::defentry::session::{self, session_object_type};

/// The `defentry_session` ephemeral resource. It owns the tokens of the sessions it opened
/// until Terraform closes them, or the provider process ends (then it logs them all out).
#[derive(Default)]
pub struct SessionEphemeral {
    registry: Mutex<Registry>,
    next_handle: AtomicU64,
}

/// The private data of an open session: its handle in the registry (the token itself never
/// leaves the process).
#[derive(Debug, Serialize, Deserialize)]
struct Handle {
    session: u64,
}

/// An open session: its token and the account it belongs to (for the rate limit).
struct Held {
    token: Token,
    account: Option<String>,
}

impl Held {
    /// Logs the session out, its calls counted against the account that opened it; `op`
    /// reports what they waited.
    async fn logout(&self, op: &Op<'_>, client: &Client) -> Result<LogoutOutcome, Diagnostic> {
        if let Some(account) = &self.account {
            op.calls().set_account(account);
        }
        session::logout(op, client, self.token.secret()).await
    }
}

#[derive(Default)]
struct Registry {
    /// Open sessions by handle: tokens never leave the process through private data.
    sessions: HashMap<u64, Held>,
    /// Set by `close_all`: the process is exiting, so nothing may be kept any more.
    closed: bool,
}

const DESCRIPTION: &str = "A Defentry session for the length of one Terraform run (Terraform 1.10+): \
logs in when Terraform opens it and **always logs out** when Terraform closes it. Nothing of it reaches plan or state. \
If the run is interrupted (Ctrl-C, a cancelled CI job), Terraform closes nothing, so the provider logs out the sessions \
it still holds before it exits; it does so too when Terraform itself is killed. A logout that cannot finish before \
Terraform's shutdown deadline (for example while Defentry's rate limit makes calls wait) is logged as a warning with \
the token id; that session ends when its lifetime does.\n\n\
Terraform opens ephemeral resources in every phase, so `plan` and `apply` each log in and out once. \
Feed `token` to write-only arguments (for example `secret_string_wo`) or to provider configuration.";

impl SessionEphemeral {
    fn registry(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps `token` for close under a new handle, unless the provider is stopping or
    /// exiting: then nobody would close it, and `None` says it must be logged out now.
    fn keep(&self, ctx: &Context, token: &Token, account: Option<&str>) -> Option<u64> {
        let mut registry = self.registry();
        if registry.closed || ctx.is_cancelled() {
            return None;
        }
        // Handles start at 1, so 0 never names a session.
        let handle = self.next_handle.fetch_add(1, Ordering::Relaxed) + 1;
        let held = Held {
            token: token.clone(),
            account: account.map(str::to_owned),
        };
        registry.sessions.insert(handle, held);
        Some(handle)
    }
}

session_object_type!(SessionEphemeral, DESCRIPTION);

#[async_trait]
impl EphemeralResource<ProviderData> for SessionEphemeral {
    async fn open(
        &self,
        ctx: &Context,
        data: &ProviderData,
        req: OpenRequest,
        resp: &mut OpenResponse,
    ) {
        let op = Op::new(ctx);
        // Terraform is stopping and will not close what it opens now: do not leak it.
        let keep = |token: &Token| self.keep(ctx, token, op.calls().account());
        let opened = session::open(&op, data, &req.config, keep).await;
        op.report(&mut resp.diagnostics);
        if let Some((result, session)) = resp.diagnostics.take(opened) {
            resp.result = result;
            resp.private = Private::of(&Handle { session });
        }
    }

    async fn close(
        &self,
        ctx: &Context,
        data: &ProviderData,
        req: PrivateRequest,
        resp: &mut CloseResponse,
    ) {
        let handle: Option<Handle> = req.private.get();
        let Some(held) = handle.and_then(|h| self.registry().sessions.remove(&h.session)) else {
            resp.diagnostics.push(Diagnostic::warning(
                "Session not logged out",
                "The provider no longer knows this session, so it could not log it out. Defentry will expire it.",
            ));
            return;
        };
        let Ok(client) = data.client() else {
            return;
        };
        let op = Op::new(ctx);
        let result = held.logout(&op, client).await;
        op.report(&mut resp.diagnostics);
        if let Err(d) = result {
            // A failed logout must never fail the run that used the session.
            resp.diagnostics.push(Diagnostic::warning(
                "Session not logged out",
                format!("{} Defentry will expire the session on its own.", d.detail),
            ));
        }
    }

    async fn close_all(&self, ctx: &Context, data: &ProviderData) {
        let open: Vec<Held> = {
            let mut registry = self.registry();
            registry.closed = true;
            registry.sessions.drain().map(|(_, held)| held).collect()
        };
        let Ok(client) = data.client() else {
            return;
        };
        if open.is_empty() {
            return;
        }
        tracing::info!(
            sessions = open.len(),
            "logging out ephemeral sessions Terraform did not close"
        );
        // Reports, even if shutdown drops this future at its deadline, the logouts not done.
        let pending = Pending(Mutex::new(
            open.iter().map(|h| h.token.id().to_owned()).collect(),
        ));
        let logouts = open.iter().map(|held| async {
            // `ctx` is not stopped by Terraform's stop, only by the shutdown deadline, which
            // ends a rate-limit wait at once.
            match held.logout(&Op::new(ctx), client).await {
                Ok(_) => pending.done(held.token.id()),
                Err(d) => tracing::warn!(
                    token_id = held.token.id(),
                    error = %d.detail,
                    "ephemeral session not logged out"
                ),
            }
        });
        futures_util::future::join_all(logouts).await;
    }
}

/// Token ids of shutdown logouts not (yet) done; logged at WARN when dropped.
struct Pending(Mutex<BTreeSet<String>>);

impl Pending {
    fn done(&self, id: &str) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        let ids = self.0.get_mut().unwrap_or_else(|p| p.into_inner());
        if !ids.is_empty() {
            let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
            tracing::warn!(
                token_ids = %ids.join(","),
                "ephemeral sessions could not be logged out before Terraform's shutdown deadline; \
                 Defentry ends them when their lifetime does"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    use crate::defentry::client::{ApiDomain, Client, ClientConfig};

    /// Shutdown's deadline cuts logouts short (here: a CRM that never answers): the ids of the
    /// sessions left are logged at WARN, never their secrets.
    #[test]
    fn logouts_cut_short_at_shutdown_are_logged_with_their_ids() {
        // A file, since a subscriber writes through `&File` while the test keeps the path.
        let log = tempfile::NamedTempFile::new().unwrap();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(Arc::new(log.reopen().unwrap()))
            .with_ansi(false)
            .with_max_level(tracing::Level::WARN)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                // Accepts connections and never answers, as a CRM holding requests would.
                let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let url = format!("http://{}", silent.local_addr().unwrap());
                let client = Client::new(ClientConfig::new(ApiDomain::parse(&url).unwrap()));
                let data = ProviderData::new(client.unwrap(), None, None);
                let ephemeral = SessionEphemeral::default();
                let ctx = Context::default();
                for raw in ["41|secretA", "42|secretB"] {
                    let token = Token::parse(raw).unwrap();
                    ephemeral
                        .keep(&ctx, &token, Some("svc@partner.com"))
                        .unwrap();
                }
                let closing = ephemeral.close_all(&ctx, &data);
                let cut = tokio::time::timeout(Duration::from_millis(300), closing).await;
                assert!(cut.is_err(), "the logouts finished against a silent CRM");
                drop(silent);
            });
        });
        let logs = std::fs::read_to_string(log.path()).unwrap();
        assert!(logs.contains("WARN"), "{logs}");
        assert!(logs.contains("token_ids=41,42"), "{logs}");
        assert!(logs.contains("lifetime"), "{logs}");
        assert!(!logs.contains("secret"), "{logs}");
    }
}
