//! The schedule arguments of a `defentry_token` (`rotation_period`, `rotation_anchor`,
//! `overlap`), read and checked, and the times a model records.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::sdk::cty::AttributePath;
use crate::sdk::model::Maybe;
use crate::sdk::Diagnostic;

use crate::defentry::time::grid::{MAX_ROTATION_PERIOD, MAX_ROTATION_PERIOD_TEXT};
use crate::defentry::time::{duration, rfc3339};

use super::token_attr;
use super::Model;

impl Model {
    pub(super) fn rotation_anchor(&self) -> Result<Option<DateTime<Utc>>, Diagnostic> {
        match self.rotation_anchor.known() {
            None => Ok(None),
            Some(raw) => rfc3339::parse(raw).map(Some).ok_or_else(|| {
                Diagnostic::error(
                    "Invalid rotation_anchor",
                    format!("rotation_anchor {raw:?} is not an RFC 3339 time; write it like \"2026-01-01T02:00:00Z\"."),
                )
                .at(AttributePath::attr(token_attr::ROTATION_ANCHOR))
            }),
        }
    }

    pub(super) fn rotation_period(&self) -> Result<Option<Duration>, Diagnostic> {
        let Some(p) = self.rotation_period.known() else {
            return Ok(None);
        };
        let invalid = |detail: String| {
            Diagnostic::error("Invalid rotation_period", detail)
                .at(AttributePath::attr(token_attr::ROTATION_PERIOD))
        };
        let period =
            duration::parse_positive(p).map_err(|e| invalid(format!("rotation_period {e}.")))?;
        if period > MAX_ROTATION_PERIOD {
            return Err(invalid(format!(
                "rotation_period {p:?} is longer than the longest supported period, {MAX_ROTATION_PERIOD_TEXT}: \
                 a later rotate_at could not be written as an RFC 3339 time that Terraform's timecmp() accepts. \
                 Choose a shorter period."
            )));
        }
        Ok(Some(period))
    }

    pub(super) fn overlap(&self) -> Result<Option<Duration>, Diagnostic> {
        let Some(raw) = self.overlap.known() else {
            return Ok(None);
        };
        let at = AttributePath::attr(token_attr::OVERLAP);
        let overlap = duration::parse_positive(raw).map_err(|e| {
            Diagnostic::error("Invalid overlap", format!("overlap {e}.")).at(at.clone())
        })?;
        // A rotation logs the previous token out, so an overlap as long as the period would be
        // cut short by the next rotation.
        if let Ok(Some(period)) = self.rotation_period() {
            if overlap >= period {
                return Err(Diagnostic::error(
                    "Invalid overlap",
                    format!(
                        "overlap {raw:?} must be shorter than rotation_period {:?}, because the next rotation logs the previous token out. \
                         Choose an overlap no longer than the time your consumers need to pick up a new token.",
                        self.rotation_period.known().map(String::as_str).unwrap_or_default()
                    ),
                )
                .at(at));
            }
        }
        Ok(Some(overlap))
    }
}

/// The time a model records in `v`, if it is set and RFC 3339.
pub(super) fn time_of(v: &Maybe<String>) -> Option<DateTime<Utc>> {
    v.known().and_then(|t| rfc3339::parse(t))
}

#[cfg(test)]
mod tests {
    use super::super::model::fixtures::model;
    use super::*;
    use crate::sdk::cty::Value;

    #[test]
    fn oversized_periods_are_refused() {
        let config = |p: &str| model(&[(token_attr::ROTATION_PERIOD, Value::string(p))]);
        assert_eq!(
            config("876000h").rotation_period().unwrap(),
            Some(MAX_ROTATION_PERIOD)
        );
        for p in ["876000h1s", "1000000000h"] {
            let d = config(p).rotation_period().unwrap_err();
            assert!(d.detail.contains("876000h (100 years)"), "{}", d.detail);
            assert!(d.detail.contains("timecmp()"), "{}", d.detail);
        }
        let d = config("").rotation_period().unwrap_err();
        assert_eq!(d.detail, "rotation_period is empty.");
    }

    #[test]
    fn overlap_is_positive_and_shorter_than_the_period() {
        let cfg = |overlap: &str, period: Option<&str>| {
            model(&[
                (token_attr::OVERLAP, Value::string(overlap)),
                (token_attr::ROTATION_PERIOD, Value::opt_string(period)),
            ])
        };
        assert_eq!(
            cfg("1h", Some("24h")).overlap().ok().flatten(),
            Some(Duration::from_secs(3600))
        );
        assert!(cfg("1h", None).overlap().is_ok_and(|o| o.is_some()));
        assert!(model(&[]).overlap().is_ok_and(|o| o.is_none()));
        for (o, p) in [
            ("24h", Some("24h")),
            ("25h", Some("24h")),
            ("0s", None),
            ("-1h", None),
            ("soon", None),
        ] {
            let e = cfg(o, p).overlap().err();
            assert!(
                e.as_ref().is_some_and(|d| d.summary == "Invalid overlap"
                    && d.attribute == Some(AttributePath::attr(token_attr::OVERLAP))),
                "{o} {p:?}: {e:?}"
            );
        }
        let e = cfg("24h", Some("24h")).overlap().err();
        assert!(e.is_some_and(|d| d.detail.contains("shorter than rotation_period")));
    }
}
