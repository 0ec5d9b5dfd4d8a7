//! Building the server, and what each call gets from it: its context (stop token, clock),
//! the provider's data, and a tracked task for calls that must outlive their connection.

use std::sync::{Arc, Mutex, RwLock};

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic::Status;

use super::super::context::{Clock, Context};
use super::super::diag::Diagnostic;
use super::super::provider::Provider;
use super::shape::Entries;
use super::{Inner, ProviderServer};

impl<P: Provider> ProviderServer<P> {
    /// Builds the service, computing every schema once; request contexts use the real clock.
    pub fn new(provider: P) -> Self {
        Self::with_clock(provider, Clock::system())
    }

    /// Builds the service with request contexts that read the time from `clock`.
    pub fn with_clock(provider: P, clock: Clock) -> Self {
        let provider_schema = provider.schema();
        let provider_ty = provider_schema.block.implied_type();
        let resources = Entries::new(provider.resources());
        let data_sources = Entries::new(provider.data_sources());
        let ephemerals = Entries::new(provider.ephemeral_resources());
        let actions = Entries::new(provider.actions());
        let abandon = CancellationToken::new();
        let closing = abandon.child_token();
        Self {
            inner: Arc::new(Inner {
                provider,
                provider_schema,
                provider_ty,
                resources,
                data_sources,
                ephemerals,
                actions,
                data: RwLock::new(None),
                stop: Mutex::new(closing.child_token()),
                closing,
                abandon,
                tasks: TaskTracker::new(),
                clock,
            }),
        }
    }

    /// The stop token of the operations running now.
    pub(super) fn current_stop(&self) -> CancellationToken {
        self.inner
            .stop
            .lock()
            .map(|t| t.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    pub(super) fn ctx(&self) -> Context {
        Context::with_abandon(self.current_stop(), self.inner.abandon.clone())
            .with_clock(self.inner.clock.clone())
    }

    /// A context with a stop token of its own, for work that must run even after a stop.
    pub(super) fn unstopped_ctx(&self) -> Context {
        Context::with_abandon(self.inner.abandon.child_token(), self.inner.abandon.clone())
            .with_clock(self.inner.clock.clone())
    }

    /// Runs `work` on a task of its own and waits for it. Calls that change remote state run
    /// this way: if Terraform's connection drops mid-call (Terraform was killed), the call still
    /// finishes, so a session it opened is kept for shutdown to close, or closed at once, rather
    /// than dropped half-way. [`ProviderServer::shutdown`] waits for these tasks (bounded).
    pub(super) async fn detached<T, F>(&self, work: impl FnOnce(Self) -> F) -> Result<T, Status>
    where
        T: Send + 'static,
        F: std::future::Future<Output = T> + Send + 'static,
    {
        self.inner
            .tasks
            .spawn(work(self.clone()))
            .await
            .map_err(|e| Status::internal(format!("the provider call failed: {e}")))
    }

    pub(super) fn data(&self) -> Result<Arc<P::Data>, Diagnostic> {
        let guard = self.inner.data.read().unwrap_or_else(|p| p.into_inner());
        guard.clone().ok_or_else(|| {
            Diagnostic::error(
                "Provider not configured",
                "Terraform called the provider before configuring it. This is unexpected; please report it with the Terraform version.",
            )
        })
    }
}
