//! Per-request context: Terraform's stop request, the process's teardown, and client facts.
//!
//! Two signals, because they ask for different things:
//! - *stop* (Terraform's StopProvider, sent on Ctrl-C): start no new work and cut waits
//!   short, but finish what already reached a remote system, so its result is not lost;
//! - *abandon* (the process is exiting): drop whatever is still running.

use std::future::Future;

use tokio_util::sync::CancellationToken;

/// What the Terraform client says it supports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientCapabilities {
    /// The client accepts deferred responses.
    pub deferral_allowed: bool,
    /// The client supports write-only attributes (Terraform 1.11+).
    pub write_only_attributes_allowed: bool,
}

/// Passed to every provider operation.
#[derive(Debug, Clone, Default)]
pub struct Context {
    stop: CancellationToken,
    abandon: CancellationToken,
}

/// The operation was cancelled by Terraform (Ctrl-C → StopProvider) or by the provider
/// process shutting down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the operation was cancelled because Terraform is stopping")]
pub struct Cancelled;

impl Context {
    /// A context stopped by `stop`, never abandoned.
    pub fn new(stop: CancellationToken) -> Self {
        Self {
            stop,
            abandon: CancellationToken::new(),
        }
    }

    /// A context abandoned by `abandon` and stopped by `stop`, which should be a child of
    /// `abandon` (a teardown implies a stop).
    pub fn with_abandon(stop: CancellationToken, abandon: CancellationToken) -> Self {
        Self { stop, abandon }
    }

    /// Whether Terraform asked the provider to stop (or the process is exiting).
    pub fn is_cancelled(&self) -> bool {
        self.stop.is_cancelled() || self.abandon.is_cancelled()
    }

    /// A token cancelled when Terraform asks the provider to stop, for code that must
    /// start no new work from then on (for example a retry loop). The server derives it from
    /// the abandon token, so it is cancelled on teardown too.
    pub fn stop_token(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Runs `f` unless Terraform stops the provider first; for work that has no effect
    /// outside the provider until it completes.
    pub async fn run<F: Future>(&self, f: F) -> Result<F::Output, Cancelled> {
        tokio::select! {
            biased;
            () = self.stop.cancelled() => Err(Cancelled),
            () = self.abandon.cancelled() => Err(Cancelled),
            out = f => Ok(out),
        }
    }

    /// Runs `f` to completion even if Terraform asks to stop, unless the process is
    /// exiting; for work that may already have changed a remote system, whose outcome
    /// must reach Terraform. `f` itself should bound its time (e.g. with a request timeout).
    pub async fn finish<F: Future>(&self, f: F) -> Result<F::Output, Cancelled> {
        tokio::select! {
            biased;
            () = self.abandon.cancelled() => Err(Cancelled),
            out = f => Ok(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn stop_cancels_run_but_not_finish() {
        let stop = CancellationToken::new();
        let abandon = CancellationToken::new();
        let ctx = Context::with_abandon(stop.clone(), abandon);
        stop.cancel();
        assert!(ctx.is_cancelled());
        assert_eq!(ctx.run(std::future::pending::<()>()).await, Err(Cancelled));
        let slow = async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            7
        };
        assert_eq!(ctx.finish(slow).await, Ok(7));
        assert!(ctx.stop_token().is_cancelled());
    }

    #[tokio::test]
    async fn abandon_cancels_finish_and_the_stop_token() {
        let abandon = CancellationToken::new();
        let ctx = Context::with_abandon(abandon.child_token(), abandon.clone());
        let stop = ctx.stop_token();
        assert!(!stop.is_cancelled());
        let pending = ctx.finish(std::future::pending::<()>());
        abandon.cancel();
        assert_eq!(pending.await, Err(Cancelled));
        tokio::time::timeout(Duration::from_secs(5), stop.cancelled())
            .await
            .expect("abandon reaches the stop token");
    }
}
