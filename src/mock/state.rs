//! The state every handler shares: the store behind its lock, and connection settings.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::config::{ConfigError, MockConfig};
use super::store::Store;

/// How long a connection may idle or stall before the mock closes it, unless configured.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Shared, cheaply clonable mock state.
#[derive(Clone, Debug)]
pub struct MockState {
    store: Arc<Mutex<Store>>,
    idle_timeout: Duration,
}

impl MockState {
    /// Validates the configuration (users, rate-limit window) and builds an empty store.
    pub fn new(config: &MockConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self {
            store: Arc::new(Mutex::new(Store::new(config))),
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
        })
    }

    /// The same state, closing connections that idle or stall for `timeout` (non-zero).
    pub fn with_idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// How long a connection may send nothing (between requests, or mid-request).
    pub fn idle_timeout(&self) -> Duration {
        self.idle_timeout
    }

    /// Runs `f` with the store locked. Keep `f` synchronous and short.
    pub fn with_store<R>(&self, f: impl FnOnce(&mut Store) -> R) -> R {
        f(&mut self.store())
    }

    /// A poisoned lock only means another handler panicked mid-call; the data is still
    /// consistent enough for a mock, so keep serving.
    pub(super) fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::MockUser;

    #[test]
    fn a_zero_rate_limit_window_is_rejected() {
        let config = MockConfig {
            rate_limit_window: Duration::ZERO,
            ..MockConfig::default()
        };
        assert!(matches!(
            MockState::new(&config),
            Err(ConfigError::RateLimitWindow)
        ));
    }

    #[test]
    fn invalid_users_are_rejected() {
        let config = MockConfig {
            users: vec![MockUser::new("x", "pw").with_totp_secret("!!")],
            ..MockConfig::default()
        };
        assert!(matches!(
            MockState::new(&config),
            Err(ConfigError::TotpSecret(_))
        ));
    }
}
