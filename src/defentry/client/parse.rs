//! Reading response bodies: the final response of a call, the login, 2FA setup and message
//! bodies. Defensive: size-capped, JSON checked, server strings sanitised. Nothing here ever puts
//! body bytes into an error or a log: only descriptions of what was wrong.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Map, Value};

use super::headers::RateHeaders;
use super::models::{LoginResponse, Token, TwoFactorSetup};
use super::secret::Secret;

/// Bodies beyond this are not read: a hostile or broken server must not exhaust memory.
pub(crate) const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Server-provided strings shown in errors are cut to this many characters.
const MAX_MESSAGE_CHARS: usize = 300;
const MAX_FIELDS: usize = 20;
const MAX_MESSAGES_PER_FIELD: usize = 5;

/// The final response of a call (after retries).
#[derive(Debug)]
pub(crate) struct RawResponse {
    pub status: u16,
    /// Media type essence (`text/html`), lower-cased and sanitised; `None` if absent.
    pub content_type: Option<String>,
    /// `None` when the body exceeded [`MAX_BODY_BYTES`].
    pub body: Option<Vec<u8>>,
    pub retry_after: Option<Duration>,
    /// The `X-RateLimit-*` headers.
    pub rate: RateHeaders,
    pub attempts: u32,
}

impl RawResponse {
    /// The body as a JSON object, or a description of why it is not one.
    pub fn json_object(&self) -> Result<Map<String, Value>, String> {
        let Some(body) = &self.body else {
            return Err(format!("body larger than {} KiB", MAX_BODY_BYTES / 1024));
        };
        if let Some(ct) = &self.content_type {
            if !is_json_media_type(ct) {
                return Err(format!("not JSON ({ct})"));
            }
        }
        if body.iter().all(|b| b.is_ascii_whitespace()) {
            return Err("empty body".to_owned());
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err("JSON body is not an object".to_owned()),
            Err(_) if self.content_type.is_none() => Err("not JSON (no Content-Type)".to_owned()),
            Err(_) => Err("body is not valid JSON".to_owned()),
        }
    }

    /// The Laravel `message` of an error body, sanitised; `None` if the body has none.
    pub fn message(&self) -> Option<String> {
        let map = self.json_object().ok()?;
        map.get("message")
            .and_then(Value::as_str)
            .map(sanitize)
            .filter(|m| !m.is_empty())
    }

    /// The Laravel `errors` of a 422 body: field → messages, sanitised and bounded.
    pub fn field_errors(&self) -> BTreeMap<String, Vec<String>> {
        let mut out = BTreeMap::new();
        let Ok(map) = self.json_object() else {
            return out;
        };
        let Some(Value::Object(errors)) = map.get("errors") else {
            return out;
        };
        for (field, messages) in errors.iter().take(MAX_FIELDS) {
            let messages: Vec<String> = match messages {
                Value::Array(items) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .take(MAX_MESSAGES_PER_FIELD)
                    .map(sanitize)
                    .collect(),
                Value::String(s) => vec![sanitize(s)],
                _ => Vec::new(),
            };
            out.insert(sanitize(field), messages);
        }
        out
    }
}

/// The body of a successful login.
pub(crate) fn parse_login(map: &Map<String, Value>) -> Result<LoginResponse, String> {
    let token = match map.get("token") {
        None | Some(Value::Null) => return Err("no token field".to_owned()),
        Some(Value::String(s)) => Token::parse(s).map_err(|e| e.to_string())?,
        Some(_) => return Err("token field is not a string".to_owned()),
    };
    let two_factor_required = match map.get("two_factor_required") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        // Guessing could hand out a pending token as usable, or the reverse.
        Some(_) => return Err("two_factor_required is not a boolean".to_owned()),
    };
    Ok(LoginResponse {
        token,
        two_factor_required,
    })
}

/// Reads the hints of a setup response; never fails, since the vendor documents no body.
pub(crate) fn parse_two_factor_setup(map: &Map<String, Value>) -> TwoFactorSetup {
    let hint = |name: &str| match map.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Some(Secret::new(s.as_str())),
        _ => None,
    };
    let secret = hint("secret");
    let otpauth_url = hint("otpauth_url");
    // A revealed seed means a new enrolment has been offered: the account is not enrolled.
    let enrolled = if secret.is_some() || otpauth_url.is_some() {
        Some(false)
    } else {
        map.get("enabled").and_then(Value::as_bool)
    };
    TwoFactorSetup {
        enrolled,
        secret,
        otpauth_url,
    }
}

/// `application/json` or any `+json` type.
fn is_json_media_type(essence: &str) -> bool {
    essence == "application/json" || essence.ends_with("+json")
}

/// The media type essence of a `Content-Type` value, safe to show: `text/html; charset=x` → `text/html`.
pub(crate) fn content_type_essence(raw: &[u8]) -> String {
    let raw = String::from_utf8_lossy(raw);
    let essence = raw
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let clean: String = essence
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(60)
        .collect();
    if clean.is_empty() {
        "empty Content-Type".to_owned()
    } else {
        clean
    }
}

/// Drops control characters (no terminal tricks, no forged log lines) and bounds the length.
pub(crate) fn sanitize(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let cleaned = cleaned.trim();
    if cleaned.chars().count() <= MAX_MESSAGE_CHARS {
        cleaned.to_owned()
    } else {
        let mut cut: String = cleaned.chars().take(MAX_MESSAGE_CHARS).collect();
        cut.push('…');
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(ct: Option<&str>, body: &str) -> RawResponse {
        RawResponse {
            status: 200,
            content_type: ct.map(|c| content_type_essence(c.as_bytes())),
            body: Some(body.as_bytes().to_vec()),
            retry_after: None,
            rate: RateHeaders::default(),
            attempts: 1,
        }
    }

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn login_bodies() {
        use serde_json::json;
        let ok = parse_login(&obj(json!({"token": "7|abc"}))).unwrap();
        assert_eq!(ok.token.id(), "7");
        assert!(!ok.two_factor_required);
        let ok = parse_login(&obj(json!({"token": "8|abc", "two_factor_required": true}))).unwrap();
        assert!(ok.two_factor_required);
        let ok = parse_login(&obj(json!({"token": "8|abc", "two_factor_required": null}))).unwrap();
        assert!(!ok.two_factor_required);
        let cases = [
            (json!({}), "no token field"),
            (json!({"token": null}), "no token field"),
            (json!({"token": 7}), "token field is not a string"),
            (
                json!({"token": "abc"}),
                "token not of the form <id>|<secret>",
            ),
            (
                json!({"token": "7|abc", "two_factor_required": "yes"}),
                "two_factor_required is not a boolean",
            ),
        ];
        for (body, want) in cases {
            let err = parse_login(&obj(body.clone())).unwrap_err();
            assert!(err.starts_with(want), "{body}: {err}");
            assert!(!err.contains("abc"), "{err}");
        }
    }

    #[test]
    fn two_factor_setup_bodies() {
        use serde_json::json;
        let s = parse_two_factor_setup(&obj(json!({
            "enabled": false, "secret": "JBSWY3DP", "otpauth_url": "otpauth://totp/x?secret=JBSWY3DP"
        })));
        assert_eq!(s.enrolled, Some(false));
        assert_eq!(s.secret.unwrap().expose(), "JBSWY3DP");
        assert!(s.otpauth_url.is_some());
        let s = parse_two_factor_setup(&obj(json!({"enabled": true, "message": "m"})));
        assert!(s.enrolled == Some(true) && s.secret.is_none() && s.otpauth_url.is_none());
        // A revealed secret wins over a contradicting `enabled`.
        let s = parse_two_factor_setup(&obj(json!({"enabled": true, "secret": "JBSWY3DP"})));
        assert_eq!(s.enrolled, Some(false));
        // Bodies the vendor page allows (it shows none): no hint, no error.
        for body in [
            json!({}),
            json!({"message": "Two-factor authentication enabled."}),
            json!({"enabled": "no", "secret": 5, "otpauth_url": ""}),
        ] {
            let s = parse_two_factor_setup(&obj(body.clone()));
            assert!(
                s.enrolled.is_none() && s.secret.is_none() && s.otpauth_url.is_none(),
                "{body}"
            );
        }
    }

    #[test]
    fn classifies_bodies_without_echoing_them() {
        let json = Some("application/json");
        assert!(resp(json, r#"{"a":1}"#).json_object().is_ok());
        assert!(resp(Some("application/problem+json"), r#"{"a":1}"#)
            .json_object()
            .is_ok());
        assert!(resp(None, r#"{"a":1}"#).json_object().is_ok());
        let cases = [
            (
                Some("text/html; charset=UTF-8"),
                "<html>secret</html>",
                "not JSON (text/html)",
            ),
            (json, "", "empty body"),
            (json, "{not json secret", "body is not valid JSON"),
            (None, "secret", "not JSON (no Content-Type)"),
            (json, r#"["secret"]"#, "JSON body is not an object"),
        ];
        for (ct, body, want) in cases {
            assert_eq!(resp(ct, body).json_object().unwrap_err(), want);
        }
        let mut big = resp(json, "");
        big.body = None;
        assert_eq!(big.json_object().unwrap_err(), "body larger than 1024 KiB");
    }

    #[test]
    fn extracts_laravel_errors() {
        let r = resp(
            Some("application/json"),
            r#"{"message":"Bad\u001b[31m input","errors":{"username":["Required."],"odd":"One.","num":[1,"x"]}}"#,
        );
        assert_eq!(r.message().unwrap(), "Bad [31m input");
        let f = r.field_errors();
        assert_eq!(f["username"], vec!["Required."]);
        assert_eq!(f["odd"], vec!["One."]);
        assert_eq!(f["num"], vec!["x"]);
        assert!(resp(Some("text/html"), "<p>").message().is_none());
        assert!(resp(Some("text/html"), "<p>").field_errors().is_empty());
    }

    #[test]
    fn sanitises() {
        assert_eq!(sanitize("a\nb\r\n"), "a b");
        let long = "x".repeat(1000);
        assert_eq!(sanitize(&long).chars().count(), MAX_MESSAGE_CHARS + 1);
        assert_eq!(
            content_type_essence(b"Text/HTML ; charset=utf-8"),
            "text/html"
        );
        assert_eq!(content_type_essence(b""), "empty Content-Type");
    }
}
