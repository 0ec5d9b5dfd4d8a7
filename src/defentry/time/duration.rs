//! Go-style durations (`"720h"`, `"1h30m"`, `"90s"`, `"1.5h"`), as Terraform users write them
//! for time_rotating and friends.

use std::time::Duration;

/// Why a duration string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Empty input; reads after the attribute name ("request_timeout is empty").
    #[error("is empty")]
    Empty,
    /// Not of the form `<number><unit>...`.
    #[error("{0:?} is not a duration: write a number and a unit, such as \"720h\", \"90m\" or \"1h30m\" (units: ns, us, ms, s, m, h)")]
    Syntax(String),
    /// Negative or zero where a positive duration is needed.
    #[error("{0:?} must be greater than zero")]
    NotPositive(String),
    /// Too large to represent.
    #[error("{0:?} is too large")]
    Overflow(String),
}

fn unit_nanos(unit: &str) -> Option<u128> {
    Some(match unit {
        "ns" => 1,
        "us" | "µs" | "μs" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return None,
    })
}

/// Parses a strictly positive Go duration.
pub fn parse_positive(s: &str) -> Result<Duration, DurationError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(DurationError::Empty);
    }
    let syntax = || DurationError::Syntax(s.to_string());
    let (negative, mut rest) = match t.as_bytes()[0] {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    if rest == "0" {
        return Err(DurationError::NotPositive(s.to_string()));
    }
    if rest.is_empty() {
        return Err(syntax());
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(syntax)?;
        let (num, after) = rest.split_at(num_end);
        let unit_end = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_end);
        let scale = unit_nanos(unit).ok_or_else(syntax)?;
        let (int_part, frac_part) = num.split_once('.').unwrap_or((num, ""));
        if (int_part.is_empty() && frac_part.is_empty()) || frac_part.contains('.') {
            return Err(syntax());
        }
        let overflow = || DurationError::Overflow(s.to_string());
        let int: u128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| overflow())?
        };
        let mut nanos = int.checked_mul(scale).ok_or_else(overflow)?;
        // Fractions are exact down to the nanosecond, like Go's.
        let mut place = scale;
        for d in frac_part.bytes().take(30) {
            place /= 10;
            nanos += u128::from(d - b'0') * place;
        }
        total = total.checked_add(nanos).ok_or_else(overflow)?;
        rest = next;
    }
    if negative || total == 0 {
        return Err(DurationError::NotPositive(s.to_string()));
    }
    let secs =
        u64::try_from(total / 1_000_000_000).map_err(|_| DurationError::Overflow(s.to_string()))?;
    // total % 1e9 < 1e9 always fits in u32.
    let sub = u32::try_from(total % 1_000_000_000).unwrap_or(0);
    Ok(Duration::new(secs, sub))
}

/// `30s`, `250ms`, `1.5s`, `2m30s`: short and exact enough for messages.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        if ms == 0 && !d.is_zero() {
            return format!("{}µs", d.as_micros());
        }
        return format!("{ms}ms");
    }
    let secs = d.as_secs();
    if secs >= 60 && d.subsec_millis() == 0 {
        let (m, s) = (secs / 60, secs % 60);
        return if s == 0 {
            format!("{m}m")
        } else {
            format!("{m}m{s}s")
        };
    }
    if d.subsec_millis() == 0 {
        format!("{secs}s")
    } else {
        let s = format!("{:.3}", d.as_secs_f64());
        format!("{}s", s.trim_end_matches('0').trim_end_matches('.'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_durations_for_messages() {
        assert_eq!(format_duration(Duration::from_secs(30)), "30s");
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format_duration(Duration::from_secs(150)), "2m30s");
        assert_eq!(format_duration(Duration::from_secs(120)), "2m");
        assert_eq!(format_duration(Duration::ZERO), "0ms");
        assert_eq!(format_duration(Duration::from_micros(5)), "5µs");
    }

    #[test]
    fn parses_go_durations() {
        assert_eq!(parse_positive("720h"), Ok(Duration::from_secs(720 * 3600)));
        assert_eq!(parse_positive("90m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_positive("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_positive("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_positive("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_positive("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_positive(".5s"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_positive("+2s"), Ok(Duration::from_secs(2)));
    }

    #[test]
    fn rejects_bad_durations() {
        for bad in ["", "5", "h", "5d", "1..2s", "abc", "10 s", "s5"] {
            assert!(parse_positive(bad).is_err(), "{bad:?}");
        }
        for zero in ["0", "0s", "-5m", "0h0m"] {
            assert!(
                matches!(parse_positive(zero), Err(DurationError::NotPositive(_))),
                "{zero}"
            );
        }
        assert!(matches!(
            parse_positive("999999999999999999999999999999h"),
            Err(DurationError::Overflow(_))
        ));
    }
}
