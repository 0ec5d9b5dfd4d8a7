//! Single-use TOTP codes (RFC 6238 §5.2, as Laravel Fortify does): once a code is accepted for
//! a user, that code and every older one are refused, so a code seen on the wire cannot be
//! replayed within its validity window. Kept per user as the last accepted 30 s step.

use std::collections::HashMap;

/// The last accepted TOTP step of each user.
#[derive(Debug, Default)]
pub struct TotpUses {
    last_step: HashMap<String, u64>,
}

impl TotpUses {
    /// Whether a code of `step` is newer than every code `username` has used.
    pub fn is_fresh(&self, username: &str, step: u64) -> bool {
        self.last_step.get(username).is_none_or(|last| step > *last)
    }

    /// Records that `username` used the code of `step`.
    pub fn record(&mut self, username: &str, step: u64) {
        let last = self.last_step.entry(username.to_owned()).or_insert(step);
        *last = (*last).max(step);
    }

    /// Forgets every use.
    pub fn clear(&mut self) {
        self.last_step.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_used_step_and_older_ones_are_refused_per_user() {
        let mut uses = TotpUses::default();
        assert!(uses.is_fresh("a", 10));
        uses.record("a", 10);
        assert!(!uses.is_fresh("a", 10));
        assert!(!uses.is_fresh("a", 9));
        assert!(uses.is_fresh("a", 11));
        assert!(uses.is_fresh("b", 10));
        uses.record("a", 8);
        assert!(
            !uses.is_fresh("a", 10),
            "an older use does not rewind the record"
        );
        uses.clear();
        assert!(uses.is_fresh("a", 10));
    }
}
