//! Reading Terraform state and the clock in token tests.

use std::time::{Duration, SystemTime};

use serde_json::Value;

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

/// Seconds since the epoch of an RFC 3339 UTC timestamp like `2026-11-28T00:00:18Z`.
pub fn parse_rfc3339(t: &str) -> f64 {
    let (date, time) = t.trim_end_matches('Z').split_once('T').expect("RFC 3339");
    let d: Vec<i64> = date.split('-').map(|x| x.parse().expect("date")).collect();
    let hms: Vec<i64> = time.split(':').map(|x| x.parse().expect("time")).collect();
    // Days from civil (Howard Hinnant's algorithm).
    let (y, m, day) = (if d[1] <= 2 { d[0] - 1 } else { d[0] }, d[1], d[2]);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    (days * 86_400 + hms[0] * 3600 + hms[1] * 60 + hms[2]) as f64
}

/// Sleeps until the wall clock passes `t` (a rotation time, not a server's readiness).
pub fn wait_until(t: f64) {
    let now = unix_now();
    if t > now {
        std::thread::sleep(Duration::from_secs_f64(t - now));
    }
}
