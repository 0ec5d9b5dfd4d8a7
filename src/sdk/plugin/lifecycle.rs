//! The provider never outlives the process that started it.
//!
//! Terraform normally ends a provider with `plugin.GRPCController/Shutdown`. When Terraform
//! itself dies (SIGKILL, a crashed CI runner) nobody calls it, so the provider watches its
//! parent and shuts down (closing what it holds, bounded) once the parent is gone.
//!
//! Unix: the parent pid is polled every [`PARENT_POLL`]; a dead parent's children are
//! re-parented (to init or a subreaper), so a changed `getppid()` means the parent is gone.
//! `PR_SET_PDEATHSIG` is not used: it fires when the parent *thread* exits, which Go's
//! runtime makes racy, and it needs `unsafe`. Other platforms (Windows): no watch; the
//! provider relies on Shutdown and on Terraform's connection (the broker stream) closing.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// How often the parent is checked: well within the couple of seconds users wait.
pub(crate) const PARENT_POLL: Duration = Duration::from_millis(200);

/// Cancels `shutdown` once the parent process has gone (never, where that cannot be seen).
pub(crate) fn watch_parent(shutdown: CancellationToken) {
    let Some(parent) = parent_pid() else {
        return;
    };
    if parent <= 1 {
        // Started by init (or already orphaned): there is no parent to outlive.
        return;
    }
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(PARENT_POLL);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            if parent_pid() != Some(parent) {
                tracing::warn!(
                    parent,
                    "the process that started the provider is gone; shutting down"
                );
                shutdown.cancel();
                return;
            }
        }
    });
}

#[cfg(unix)]
fn parent_pid() -> Option<u32> {
    Some(std::os::unix::process::parent_id())
}

#[cfg(not(unix))]
fn parent_pid() -> Option<u32> {
    None
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn parent_is_known_on_unix() {
        let pid = parent_pid().expect("parent pid on unix");
        assert!(pid >= 1);
        assert_eq!(parent_pid(), Some(pid));
    }

    #[tokio::test]
    async fn a_living_parent_does_not_shut_down() {
        let shutdown = CancellationToken::new();
        watch_parent(shutdown.clone());
        tokio::time::sleep(PARENT_POLL * 3).await;
        assert!(!shutdown.is_cancelled());
        shutdown.cancel();
    }
}
