//! Time as the provider reads and writes it: Go durations in configuration, RFC 3339
//! timestamps in both directions, and the rotation grid `defentry_token` schedules on.

pub mod duration;
pub mod grid;
pub mod rfc3339;
