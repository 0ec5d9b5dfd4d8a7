//! One Terraform operation's calls to Defentry.

use std::future::Future;

use crate::sdk::{Context, Diagnostic, Diagnostics};

use crate::defentry::client::{ApiError, CallCtx};
use crate::defentry::time::duration::format_duration;

/// Waits shorter than this are pacing, not worth a warning.
const NOTABLE_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// The calls of one operation (a create, a read, an action): Terraform's context (stop,
/// shutdown, clock) and the client's [`CallCtx`], which is passed explicitly into every client
/// call and records what they waited. Objects make one per operation and report its waits with
/// [`Op::warning`].
#[derive(Debug)]
pub struct Op<'a> {
    ctx: &'a Context,
    calls: CallCtx,
}

impl<'a> Op<'a> {
    /// Calls that stop when Terraform asks the provider to stop.
    pub fn new(ctx: &'a Context) -> Self {
        Self {
            ctx,
            calls: CallCtx::new(ctx.stop_token()),
        }
    }

    /// Calls that are sent even after Terraform asked to stop (a logout that must not be
    /// skipped); process shutdown still ends them.
    pub fn unstoppable(ctx: &'a Context) -> Self {
        Self {
            ctx,
            calls: CallCtx::unstoppable(),
        }
    }

    /// Terraform's context.
    pub fn ctx(&self) -> &'a Context {
        self.ctx
    }

    /// The client's call context, for the client calls of this operation.
    pub fn calls(&self) -> &CallCtx {
        &self.calls
    }

    /// Runs a client call (made with [`Op::calls`]) to completion: once Terraform stops the
    /// provider no new attempt starts and waits end, but a request already sent is finished, so
    /// a session it opened or closed is not lost. Only the process shutting down cuts it short.
    pub async fn call<T>(
        &self,
        fut: impl Future<Output = Result<T, ApiError>>,
    ) -> Result<T, ApiError> {
        self.ctx
            .finish(fut)
            .await
            .unwrap_or(Err(ApiError::Cancelled))
    }

    /// Adds [`Op::warning`], if any, to the object's diagnostics.
    pub fn report(&self, diagnostics: &mut Diagnostics) {
        if let Some(w) = self.warning() {
            diagnostics.push(w);
        }
    }

    /// A warning for the object, when its calls waited for Defentry's rate limit.
    pub fn warning(&self) -> Option<Diagnostic> {
        let waited = self.calls.waited();
        if waited.rate_limit < NOTABLE_WAIT && waited.throttled == 0 {
            return None;
        }
        let answered = match waited.throttled {
            0 => "another call of the same account or address had been told to wait".to_owned(),
            1 => "it answered HTTP 429 (too many requests) once".to_owned(),
            n => format!("it answered HTTP 429 (too many requests) {n} times"),
        };
        Some(Diagnostic::warning(
            "Waited for the Defentry rate limit",
            format!(
                "This operation waited {} for the Defentry rate limit, which allows a fixed number of requests \
                 per minute for each account (and each IP address before login); {answered}. Nothing failed. \
                 Waiting is bounded by `rate_limit_timeout` in the provider block. To wait less, lower \
                 Terraform's -parallelism or spread large `count`/`for_each` fleets over several runs.",
                format_duration(waited.rate_limit)
            ),
        ))
    }
}
