//! Reading Terraform state and the clock in token tests.

use std::time::{Duration, SystemTime};

use serde_json::Value;
use terraform_provider_defentry::defentry::time::rfc3339;

use super::workspace::Workspace;

/// The text of a JSON string value; empty for anything else.
pub fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// The `show -json` entry of `address`; panics when it is not in state.
pub fn token_of(ws: &Workspace, address: &str) -> Value {
    ws.resources()
        .into_iter()
        .find(|r| r["address"] == address)
        .unwrap_or_else(|| panic!("{address} not in state ({})", ws.terraform()))
}

/// The attribute values of `address` in `show -json`; panics when it is not in state.
pub fn values_of(ws: &Workspace, address: &str) -> Value {
    token_of(ws, address)["values"].clone()
}

/// The wall clock, in seconds since the epoch.
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

/// Seconds since the epoch of an RFC 3339 timestamp like `2026-11-28T00:00:18Z`, read by the
/// provider's own parser; panics when it is not one.
pub fn parse_rfc3339(t: &str) -> f64 {
    let at = rfc3339::parse(t).unwrap_or_else(|| panic!("not RFC 3339: {t:?}"));
    at.timestamp() as f64 + f64::from(at.timestamp_subsec_nanos()) / 1e9
}

/// Sleeps until the wall clock passes `t` (a rotation time, not a server's readiness).
pub fn wait_until(t: f64) {
    let now = unix_now();
    if t > now {
        std::thread::sleep(Duration::from_secs_f64(t - now));
    }
}
