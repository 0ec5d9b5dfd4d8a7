//! Fault injection: the next `count` requests matching a path (and method) are delayed and/or
//! answered with a chosen status and body.

use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::error::{default_message, ValidationErrors};

/// Longest accepted delay, so a typo cannot hang a test suite for hours.
pub const MAX_DELAY_MS: u64 = 10 * 60 * 1000;

/// A fault: as requested through `POST /_mock/faults` (or built in a test), then as registered
/// and listed, with its id and the uses it has left.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Fault {
    /// Registration order, starting at 1; given by [`FaultSet::add`] (0 before).
    pub id: u64,
    /// Exact request path (no query string), e.g. `/api/v1/crm/auth/login`.
    pub path: String,
    /// Upper-case method; `None` (`null`) matches any method.
    pub method: Option<String>,
    /// Status to answer; `None` (`null`) = only delay, then handle normally.
    pub status: Option<u16>,
    /// How many matching requests get the fault (once registered: how many remain).
    pub count: u32,
    /// Delay in milliseconds before answering (or before normal handling).
    pub delay_ms: u64,
    /// `Retry-After` header value.
    pub retry_after: Option<String>,
    /// Raw body; default a Laravel JSON message for the status.
    pub body: Option<String>,
    /// Content type of `body`; default `application/json`.
    pub content_type: Option<String>,
}

/// The keys a fault spec may have; anything else is a typo that would register a no-op.
pub const SPEC_KEYS: [&str; 8] = [
    "path",
    "method",
    "status",
    "count",
    "delay_ms",
    "retry_after",
    "body",
    "content_type",
];

impl Fault {
    /// Validates a request body, collecting Laravel-style field errors. Unknown keys are
    /// errors too, named in the answer.
    pub fn from_json(body: &Map<String, Value>) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        for key in body.keys().filter(|k| !SPEC_KEYS.contains(&k.as_str())) {
            errors.add(
                key,
                format!(
                    "The {key} field is not a fault setting; use {}.",
                    SPEC_KEYS.join(", ")
                ),
            );
        }
        let path = match body.get("path") {
            None | Some(Value::Null) => {
                errors.add("path", "The path field is required.");
                String::new()
            }
            Some(Value::String(p)) if p.is_empty() => {
                errors.add("path", "The path field is required.");
                String::new()
            }
            Some(Value::String(p)) if !p.starts_with('/') => {
                errors.add("path", "The path field must start with \"/\".");
                String::new()
            }
            Some(Value::String(p)) => p.clone(),
            Some(_) => {
                errors.add("path", "The path field must be a string.");
                String::new()
            }
        };
        let method = optional_string(body, "method", &mut errors).map(|m| m.to_ascii_uppercase());
        if method
            .as_deref()
            .is_some_and(|m| m.is_empty() || !m.bytes().all(|b| b.is_ascii_alphabetic()))
        {
            errors.add("method", "The method field must be an HTTP method name.");
        }
        let status = optional_int(body, "status", 100, 599, &mut errors).map(|s| s as u16);
        let count = optional_int(body, "count", 1, u64::from(u32::MAX), &mut errors)
            .map_or(1, |c| c as u32);
        let delay_ms = optional_int(body, "delay_ms", 0, MAX_DELAY_MS, &mut errors).unwrap_or(0);
        let retry_after = match body.get("retry_after") {
            // Accept a number too; the header is text either way.
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => optional_string(body, "retry_after", &mut errors),
        };
        check_header_value(retry_after.as_deref(), "retry_after", &mut errors);
        let body_text = optional_string(body, "body", &mut errors);
        let content_type = optional_string(body, "content_type", &mut errors);
        check_header_value(content_type.as_deref(), "content_type", &mut errors);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Self {
            id: 0,
            path,
            method,
            status,
            count,
            delay_ms,
            retry_after,
            body: body_text,
            content_type,
        })
    }
}

fn label(field: &str) -> String {
    field.replace('_', " ")
}

fn optional_string(
    body: &Map<String, Value>,
    field: &str,
    errors: &mut ValidationErrors,
) -> Option<String> {
    match body.get(field) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            errors.add(
                field,
                format!("The {} field must be a string.", label(field)),
            );
            None
        }
    }
}

/// A header's text must be a valid header value, or the fault could not be served.
fn check_header_value(value: Option<&str>, field: &str, errors: &mut ValidationErrors) {
    if value.is_some_and(|v| HeaderValue::from_str(v).is_err()) {
        errors.add(
            field,
            format!("The {} field must be a valid header value.", label(field)),
        );
    }
}

fn optional_int(
    body: &Map<String, Value>,
    field: &str,
    min: u64,
    max: u64,
    errors: &mut ValidationErrors,
) -> Option<u64> {
    match body.get(field) {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => match n.as_u64() {
            Some(v) if (min..=max).contains(&v) => Some(v),
            _ => {
                errors.add(
                    field,
                    format!(
                        "The {} field must be between {min} and {max}.",
                        label(field)
                    ),
                );
                None
            }
        },
        Some(_) => {
            errors.add(
                field,
                format!("The {} field must be an integer.", label(field)),
            );
            None
        }
    }
}

impl Fault {
    /// The delay to wait before answering.
    pub fn delay(&self) -> Duration {
        Duration::from_millis(self.delay_ms)
    }

    /// The injected response, or `None` when the fault is only a delay.
    pub fn response(&self) -> Option<Response> {
        let status = StatusCode::from_u16(self.status?).ok()?;
        let (content_type, body) = match &self.body {
            Some(body) => (
                self.content_type
                    .clone()
                    .unwrap_or_else(|| "application/json".to_owned()),
                body.clone(),
            ),
            None => (
                self.content_type
                    .clone()
                    .unwrap_or_else(|| "application/json".to_owned()),
                json!({ "message": default_message(status) }).to_string(),
            ),
        };
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&content_type) {
            headers.insert(header::CONTENT_TYPE, value);
        }
        if let Some(value) = self
            .retry_after
            .as_deref()
            .and_then(|v| HeaderValue::from_str(v).ok())
        {
            headers.insert(header::RETRY_AFTER, value);
        }
        Some(response)
    }
}

/// The registered faults, matched first-registered first.
#[derive(Debug, Default)]
pub struct FaultSet {
    next_id: u64,
    faults: Vec<Fault>,
}

impl FaultSet {
    /// Registers a fault under the next id and returns it.
    pub fn add(&mut self, fault: Fault) -> Fault {
        self.next_id += 1;
        let fault = Fault {
            id: self.next_id,
            ..fault
        };
        self.faults.push(fault.clone());
        fault
    }

    /// Consumes one use of the first fault matching the request, if any.
    pub fn take(&mut self, method: &str, path: &str) -> Option<Fault> {
        let index = self.faults.iter().position(|f| {
            f.path == path
                && f.method
                    .as_deref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(method))
        })?;
        let fault = &mut self.faults[index];
        fault.count = fault.count.saturating_sub(1);
        let taken = fault.clone();
        if fault.count == 0 {
            self.faults.remove(index);
        }
        Some(taken)
    }

    /// Faults with uses left.
    pub fn list(&self) -> Vec<Fault> {
        self.faults.clone()
    }

    /// Removes every fault.
    pub fn clear(&mut self) {
        self.faults.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: Value) -> Result<Fault, ValidationErrors> {
        match json {
            Value::Object(map) => Fault::from_json(&map),
            _ => unreachable!(),
        }
    }

    #[test]
    fn spec_defaults() {
        let s = spec(json!({"path": "/x"})).unwrap();
        assert_eq!(s.count, 1);
        assert_eq!(s.status, None);
        assert_eq!(s.delay_ms, 0);
        assert_eq!(s.method, None);
        let s = spec(json!({"path": "/x", "method": "post", "retry_after": 3})).unwrap();
        assert_eq!(s.method.as_deref(), Some("POST"));
        assert_eq!(s.retry_after.as_deref(), Some("3"));
    }

    #[test]
    fn spec_validation() {
        let e = spec(json!({})).unwrap_err();
        assert!(e.has("path"));
        let e = spec(
            json!({"path": "x", "status": 99, "count": 0, "delay_ms": -1,
                            "method": 5, "body": [], "retry_after": "a\nb"}),
        )
        .unwrap_err();
        for field in [
            "path",
            "status",
            "count",
            "delay_ms",
            "method",
            "body",
            "retry_after",
        ] {
            assert!(e.has(field), "{field}");
        }
        let e = spec(json!({"path": "/x", "delay_ms": MAX_DELAY_MS + 1})).unwrap_err();
        assert!(e.has("delay_ms"));
        let e = spec(json!({"path": "/x", "delay": 300, "stauts": 503})).unwrap_err();
        assert!(e.has("delay") && e.has("stauts") && !e.has("path"), "{e:?}");
        assert!(e.summary().contains("delay_ms"), "{}", e.summary());
    }

    #[test]
    fn faults_are_counted_down_and_removed() {
        let mut set = FaultSet::default();
        set.add(spec(json!({"path": "/a", "status": 503, "count": 2})).unwrap());
        assert_eq!(set.take("POST", "/b"), None);
        let first = set.take("POST", "/a").unwrap();
        assert_eq!((first.status, first.count), (Some(503), 1));
        assert_eq!(set.list()[0].count, 1);
        assert!(set.take("GET", "/a").is_some());
        assert!(set.list().is_empty());
        assert_eq!(set.take("POST", "/a"), None);
    }

    #[test]
    fn method_filter_and_fifo_order() {
        let mut set = FaultSet::default();
        set.add(spec(json!({"path": "/a", "method": "GET", "status": 500})).unwrap());
        set.add(spec(json!({"path": "/a", "status": 502})).unwrap());
        assert_eq!(set.take("POST", "/a").unwrap().status, Some(502));
        assert_eq!(set.take("post", "/a"), None);
        assert_eq!(set.take("get", "/a").unwrap().status, Some(500));
        set.add(spec(json!({"path": "/a", "count": 5})).unwrap());
        set.clear();
        assert!(set.list().is_empty());
    }

    #[test]
    fn response_shapes() {
        let mut set = FaultSet::default();
        let f = set.add(spec(json!({"path": "/a", "status": 503, "retry_after": "7"})).unwrap());
        let r = f.response().unwrap();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers()[header::RETRY_AFTER], "7");
        assert_eq!(r.headers()[header::CONTENT_TYPE], "application/json");
        let f = set.add(
            spec(
                json!({"path": "/a", "status": 502, "body": "<html>", "content_type": "text/html"}),
            )
            .unwrap(),
        );
        let r = f.response().unwrap();
        assert_eq!(r.headers()[header::CONTENT_TYPE], "text/html");
        let delay_only = set.add(spec(json!({"path": "/a", "delay_ms": 250})).unwrap());
        assert!(delay_only.response().is_none());
        assert_eq!(delay_only.delay(), Duration::from_millis(250));
    }
}
