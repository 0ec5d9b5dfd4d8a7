//! The rotation grid: when a token created at some instant is due, given a period and an
//! optional anchor. Exact nanosecond arithmetic over chrono's whole range.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// The longest `rotation_period` accepted: 100 years. With it, `rotate_at` (the next grid
/// point after a token's creation) stays within years 0000–9999, the range RFC 3339 and
/// Terraform's `timecmp()` accept, for any anchor they accept.
pub const MAX_ROTATION_PERIOD: Duration = Duration::from_secs(100 * 365 * 86_400);
/// [`MAX_ROTATION_PERIOD`] as users write it.
pub const MAX_ROTATION_PERIOD_TEXT: &str = "876000h (100 years)";

const NANOS_PER_SEC: i128 = 1_000_000_000;

fn to_nanos(t: DateTime<Utc>) -> i128 {
    i128::from(t.timestamp()) * NANOS_PER_SEC + i128::from(t.timestamp_subsec_nanos())
}

fn from_nanos(ns: i128) -> Option<DateTime<Utc>> {
    let secs = i64::try_from(ns.div_euclid(NANOS_PER_SEC)).ok()?;
    let nanos = u32::try_from(ns.rem_euclid(NANOS_PER_SEC)).ok()?;
    DateTime::from_timestamp(secs, nanos)
}

/// The first point of the grid `anchor + k·period` (any integer k) strictly after `after`.
/// Exact for any anchor and period chrono can represent (i128 nanoseconds cannot overflow
/// here); `None` only when the result is beyond chrono's range.
fn next_rotation(
    anchor: DateTime<Utc>,
    period: Duration,
    after: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let period_ns = i128::try_from(period.as_nanos()).ok()?.max(1);
    let anchor_ns = to_nanos(anchor);
    let k = (to_nanos(after) - anchor_ns).div_euclid(period_ns) + 1;
    from_nanos(anchor_ns.checked_add(k.checked_mul(period_ns)?)?)
}

/// When a token created at `created` is due: `created + period`, or the next point of the
/// `rotation_anchor` grid when one is set.
pub fn rotation_time(
    created: DateTime<Utc>,
    anchor: Option<DateTime<Utc>>,
    period: Duration,
) -> Option<DateTime<Utc>> {
    match anchor {
        Some(a) => next_rotation(a, period, created),
        None => from_nanos(to_nanos(created).checked_add(i128::try_from(period.as_nanos()).ok()?)?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::defentry::time::rfc3339;

    fn t(s: &str) -> DateTime<Utc> {
        rfc3339::parse(s).unwrap_or_default()
    }

    #[test]
    fn rotation_time_is_created_plus_period_or_on_the_anchor_grid() {
        let day = Duration::from_secs(86_400);
        let created = t("2026-01-02T00:05:00Z");
        assert_eq!(
            rotation_time(created, None, day),
            Some(t("2026-01-03T00:05:00Z"))
        );
        let anchor = Some(t("2026-01-01T00:00:00Z"));
        // A token created 5 minutes late keeps the midnight grid.
        assert_eq!(
            rotation_time(created, anchor, day),
            Some(t("2026-01-03T00:00:00Z"))
        );
        // Exactly on a grid point: the next one.
        assert_eq!(
            rotation_time(t("2026-01-02T00:00:00Z"), anchor, day),
            Some(t("2026-01-03T00:00:00Z"))
        );
        // An anchor in the future works backwards along the grid.
        let future = Some(t("2026-03-01T00:00:00Z"));
        assert_eq!(
            rotation_time(created, future, day),
            Some(t("2026-01-03T00:00:00Z"))
        );
    }

    #[test]
    fn the_grid_holds_for_far_anchors_and_long_periods() {
        let created = t("2026-11-30T17:00:00Z");
        let hour = Duration::from_secs(3600);
        // Far past: 1700 is more than 292 years (i64 nanoseconds) before the token.
        assert_eq!(
            rotation_time(created, Some(t("1700-01-01T00:00:00Z")), hour),
            Some(t("2026-11-30T18:00:00Z"))
        );
        assert_eq!(
            rotation_time(created, Some(t("0000-01-01T00:30:00Z")), hour),
            Some(t("2026-11-30T17:30:00Z"))
        );
        // Far future: the grid is followed backwards.
        assert_eq!(
            rotation_time(created, Some(t("9999-12-31T23:59:59Z")), hour),
            Some(t("2026-11-30T17:59:59Z"))
        );
        // The longest period, on and off a grid, lands within four-digit years.
        let longest = MAX_ROTATION_PERIOD;
        for anchor in [
            None,
            Some(t("0000-01-01T00:00:00Z")),
            Some(t("9999-12-31T23:59:59Z")),
        ] {
            let at = rotation_time(created, anchor, longest).expect("representable");
            assert!(at > created && at <= created + chrono::Duration::from_std(longest).unwrap());
            assert!(rfc3339::format(at).len() == 20, "{}", rfc3339::format(at));
        }
        // Sub-second periods and anchors.
        assert_eq!(
            rotation_time(
                t("2026-01-01T00:00:00.250Z"),
                Some(t("2026-01-01T00:00:00Z")),
                Duration::from_millis(100)
            ),
            Some(t("2026-01-01T00:00:00.300Z"))
        );
    }

    #[test]
    fn the_grid_point_is_the_first_after_creation_at_any_instant() {
        // Exhaustive over a range of instants around an anchor, against a naive walk.
        let anchor = t("2026-01-01T00:00:00Z");
        let period = Duration::from_secs(7);
        for offset in -100i64..100 {
            let created = anchor + chrono::Duration::seconds(offset);
            let got = next_rotation(anchor, period, created).unwrap();
            let mut want = anchor;
            while want <= created {
                want += chrono::Duration::seconds(7);
            }
            while want - chrono::Duration::seconds(7) > created {
                want -= chrono::Duration::seconds(7);
            }
            assert_eq!(got, want, "offset {offset}");
        }
    }

    proptest::proptest! {
        /// Any anchor RFC 3339 can write, any accepted period, any creation time in
        /// four-digit years: rotate_at is the first grid point after creation.
        #[test]
        fn any_anchor_period_and_instant(
            anchor_s in -62_167_219_200i64..253_402_300_799,
            created_s in -62_167_219_200i64..253_402_300_799,
            period_ns in 1u64..=u64::MAX,
        ) {
            let period = Duration::from_nanos(period_ns).min(MAX_ROTATION_PERIOD);
            let anchor = DateTime::from_timestamp(anchor_s, 0).unwrap();
            let created = DateTime::from_timestamp(created_s, 0).unwrap();
            let at = next_rotation(anchor, period, created).unwrap();
            let p = i128::try_from(period.as_nanos()).unwrap();
            let (at_ns, created_ns) = (to_nanos(at), to_nanos(created));
            proptest::prop_assert!(at_ns > created_ns && at_ns - p <= created_ns);
            proptest::prop_assert_eq!((at_ns - to_nanos(anchor)).rem_euclid(p), 0);
        }
    }
}
