//! What `defentry_token` keeps in Terraform's private state: the decisions refresh leaves
//! for the next plan.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::sdk::model::Maybe;

use super::schedule::time_of;
use super::Model;

/// What the resource keeps in Terraform's private state. (Private data does not survive a
/// replacement: Terraform re-plans the new object at apply time without it.)
#[derive(Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub(super) struct Marks {
    /// Set by refresh once `rotate_at` has passed; plan turns it into a replacement.
    #[serde(default)]
    pub(super) due: bool,
    /// Set by refresh once `previous_revoke_at` has passed; plan turns it into an update that
    /// logs the previous token out.
    #[serde(default)]
    pub(super) revoke_due: bool,
}

/// The private state refresh records at `now`: which decisions the next plan must take.
pub(super) fn refreshed_marks(state: &Model, now: DateTime<Utc>) -> Marks {
    let passed = |t: &Maybe<String>| time_of(t).is_some_and(|t| now >= t);
    Marks {
        due: passed(&state.rotate_at),
        revoke_due: !state.previous_token.is_null() && passed(&state.previous_revoke_at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sdk::cty::Value;
    use crate::sdk::private::Private;

    use super::super::model::fixtures::{model, t};
    use super::super::token_attr;

    #[test]
    fn private_state_round_trips_and_tolerates_garbage() {
        let p = Marks {
            due: true,
            revoke_due: false,
        };
        let parse = |b: &[u8]| Private::from_bytes(b.to_vec()).get::<Marks>();
        assert_eq!(Private::of(&p).get::<Marks>(), p);
        assert_eq!(parse(b"\xff not json"), Marks::default());
        assert_eq!(parse(b""), Marks::default());
        // Older private data with extra fields still parses.
        assert!(parse(br#"{"anchor":"2026-01-01T00:00:00Z","due":true}"#).due);
    }

    #[test]
    fn refresh_decides_rotation_and_revocation_from_the_clock() {
        let s = model(&[
            (token_attr::ROTATE_AT, Value::string("2026-01-02T00:00:00Z")),
            (token_attr::PREVIOUS_TOKEN, Value::string("7|old")),
            (
                token_attr::PREVIOUS_REVOKE_AT,
                Value::string("2026-01-01T01:00:00Z"),
            ),
        ]);
        let at = |now| refreshed_marks(&s, t(now));
        assert_eq!(at("2026-01-01T00:59:59Z"), Marks::default());
        assert_eq!(
            at("2026-01-01T01:00:00Z"),
            Marks {
                due: false,
                revoke_due: true
            }
        );
        assert_eq!(
            at("2026-01-02T00:00:00Z"),
            Marks {
                due: true,
                revoke_due: true
            }
        );
        // Nothing to revoke without a previous token, whatever the time says.
        let mut gone = s.clone();
        gone.previous_token = Maybe::Null;
        assert!(!refreshed_marks(&gone, t("2026-06-01T00:00:00Z")).revoke_due);
    }
}
