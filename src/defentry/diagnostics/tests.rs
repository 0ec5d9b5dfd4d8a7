//! Every diagnostic text the provider can produce reads as sentences: texts composed at
//! run time are produced for every error variant and invalid setting, and the literal
//! texts of every diagnostic in the source are checked as written.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::defentry::client::{ApiDomain, Client, ClientBuildError, ClientConfig, Secret};
use crate::defentry::data::ProviderData;
use crate::defentry::provider::DefentryProvider;
use crate::sdk::cty::Value;
use crate::sdk::object::{ObjectType, ValidateRequest, ValidateResponse};
use crate::sdk::{Context, Diagnostics};

/// Capitalised words that may follow a lowercase word inside a sentence.
const PROPER_NOUNS: &[&str] = &[
    "Defentry",
    "Terraform",
    "Terraform's",
    "OpenTofu",
    "Laravel",
    "Sanctum",
    "Bearer",
    "Go",
    "Ctrl-C",
    "StopProvider",
    "Retry-After",
    "Content-Type",
    "Windows",
    "Linux",
];

/// Joined sentences ("later Nothing", "certificate Check") and fragments that start with
/// an attribute name followed by an article ("rotation_period the duration is empty.").
fn problems(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let words: Vec<&str> = text.split_whitespace().collect();
    for pair in words.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let open = a
            .chars()
            .last()
            .is_some_and(|c| c.is_alphanumeric() || matches!(c, '`' | ')' | '"' | '\''));
        let mut chars = b.chars();
        let capitalised = chars.next().is_some_and(char::is_uppercase)
            && chars.next().is_some_and(char::is_lowercase);
        let word = b.trim_end_matches(|c: char| !c.is_alphanumeric() && c != '\'');
        if open && capitalised && !PROPER_NOUNS.contains(&word) {
            found.push(format!("joined sentences at {a:?} {b:?}"));
        }
    }
    for sentence in text.split(". ") {
        let mut w = sentence.split_whitespace();
        if let (Some(first), Some(second)) = (w.next(), w.next()) {
            let identifier =
                first.contains('_') && first.chars().all(|c| c.is_ascii_lowercase() || c == '_');
            if identifier && matches!(second, "the" | "a" | "an") {
                found.push(format!("fragment {first:?} {second:?}"));
            }
        }
    }
    found
}

fn check(origin: &str, d: &Diagnostic, bad: &mut Vec<String>) {
    for p in problems(&d.detail) {
        bad.push(format!("{origin}: {p}: {:?}", d.detail));
    }
    if !d.detail.trim_end().ends_with(['.', '!', '?']) {
        bad.push(format!(
            "{origin}: detail does not end with a full stop: {:?}",
            d.detail
        ));
    }
}

fn check_all(origin: &str, ds: &Diagnostics, bad: &mut Vec<String>) {
    assert!(!ds.is_empty(), "{origin}: expected diagnostics");
    for d in ds.iter() {
        check(origin, d, bad);
    }
}

/// One of every [`ApiError`]; the match fails to compile when a variant is added.
fn every_api_error() -> Vec<ApiError> {
    let host = || "api.example.com".to_owned();
    let mut fields = BTreeMap::new();
    fields.insert(
        "username".to_owned(),
        vec!["The username field is required.".to_owned()],
    );
    let all = vec![
        ApiError::InvalidCredentials {
            username: "svc@partner.com".into(),
        },
        ApiError::Unauthenticated,
        ApiError::Forbidden {
            message: "Forbidden.".into(),
        },
        ApiError::Forbidden {
            message: "Two-factor authentication required.".into(),
        },
        ApiError::Validation {
            message: "The given data was invalid.".into(),
            fields,
        },
        ApiError::Validation {
            message: "Invalid".into(),
            fields: BTreeMap::new(),
        },
        ApiError::RateLimited {
            host: host(),
            waited: Duration::from_secs(570),
            timeout: Duration::from_secs(600),
            retry_after: Some(Duration::from_secs(60)),
        },
        ApiError::RateLimited {
            host: host(),
            waited: Duration::ZERO,
            timeout: Duration::from_secs(600),
            retry_after: None,
        },
        ApiError::Server {
            host: host(),
            status: 503,
            attempts: 5,
        },
        ApiError::UnexpectedStatus {
            host: host(),
            status: 302,
        },
        ApiError::UnexpectedStatus {
            host: host(),
            status: 404,
        },
        ApiError::UnexpectedStatus {
            host: host(),
            status: 418,
        },
        ApiError::Transport {
            host: host(),
            cause: "TLS handshake failed: invalid peer certificate".into(),
            attempts: 1,
        },
        ApiError::UnexpectedResponse {
            host: host(),
            status: 200,
            reason: "not JSON (text/html)".into(),
        },
        ApiError::Cancelled,
    ];
    for e in &all {
        match e {
            ApiError::InvalidCredentials { .. }
            | ApiError::Unauthenticated
            | ApiError::Forbidden { .. }
            | ApiError::Validation { .. }
            | ApiError::RateLimited { .. }
            | ApiError::Server { .. }
            | ApiError::UnexpectedStatus { .. }
            | ApiError::Transport { .. }
            | ApiError::UnexpectedResponse { .. }
            | ApiError::Cancelled => {}
        }
    }
    all
}

#[test]
fn api_errors_read_as_sentences() {
    let mut bad = Vec::new();
    for e in every_api_error() {
        for doing in ["log in as svc@partner.com", "log the session out"] {
            check(&format!("{e:?}"), &api_error(&e, doing, |_| None), &mut bad);
        }
    }
    check("cancelled", &cancelled("log in"), &mut bad);
    for e in [
        ClientBuildError::CaPemInvalid {
            reason: "bad base64".into(),
        },
        ClientBuildError::CaPemNoCertificates,
        ClientBuildError::CaCertificateInvalid {
            index: 2,
            reason: "bad DER".into(),
        },
        ClientBuildError::InvalidUserAgent,
        ClientBuildError::ZeroTimeout,
        ClientBuildError::Http {
            cause: "no CA certificates".into(),
        },
    ] {
        check(
            &format!("{e:?}"),
            &Diagnostic::error("x", sentence(&e)),
            &mut bad,
        );
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

fn config(attrs: &[(&str, Value)]) -> Value {
    Value::object(attrs.iter().map(|(k, v)| (k.to_string(), v.clone())))
}

#[tokio::test]
async fn validation_and_session_texts_read_as_sentences() {
    let mut bad = Vec::new();
    let provider = DefentryProvider::with_env(Arc::new(|_| None));
    let s = Value::string;
    for domain in [
        "",
        "not a url",
        "ftp://x",
        "https://",
        "http://example.com",
        "https://u:p@x",
        "https://x/?q=1",
        "https://x/#f",
    ] {
        let d = validated(&provider, &[("api_domain", s(domain))]).await;
        check_all(&format!("api_domain {domain:?}"), &d, &mut bad);
    }
    for (attr, value) in [
        ("request_timeout", s("")),
        ("request_timeout", s("abc")),
        ("request_timeout", s("0s")),
        ("request_timeout", s("99999999999999999999999999h")),
        ("max_retries", Value::int(99)),
        ("rate_limit_timeout", s("soon")),
        ("rate_limit_timeout", s("0s")),
        ("totp_secret", s("!!")),
    ] {
        let d = validated(&provider, &[(attr, value.clone())]).await;
        check_all(&format!("provider {attr} {value:?}"), &d, &mut bad);
    }
    let token = crate::defentry::resources::token::TokenResource;
    for (attr, value) in [
        ("rotation_period", ""),
        ("rotation_period", "5d"),
        ("rotation_period", "-1h"),
        ("rotation_period", "1000000000h"),
        ("rotation_period", "99999999999999999999999999h"),
        ("rotation_anchor", "yesterday"),
        ("two_factor_code", "12"),
        ("totp_secret", "!!"),
        ("username", ""),
    ] {
        let d = validated(&token, &[(attr, s(value))]).await;
        check_all(&format!("defentry_token {attr} {value:?}"), &d, &mut bad);
    }

    // Session texts composed at run time, against a CRM that cannot be reached.
    let mut cfg = ClientConfig::new(ApiDomain::parse("http://127.0.0.1:9").unwrap());
    cfg.max_retries = 0;
    cfg.request_timeout = Duration::from_secs(2);
    let data = ProviderData::new(Client::new(cfg).unwrap(), None, None);
    let d = crate::defentry::session::logged_out_after_stop(
        &Context::default(),
        &data,
        &Secret::new("1|abc"),
    )
    .await;
    check("logged_out_after_stop", &d, &mut bad);
    let ephemeral = crate::defentry::ephemeral::session::SessionEphemeral::default();
    let mut closed = crate::sdk::ephemeral::CloseResponse::default();
    crate::sdk::ephemeral::EphemeralResource::close(
        &ephemeral,
        &Context::default(),
        &data,
        Default::default(),
        &mut closed,
    )
    .await;
    let d = closed.diagnostics;
    check_all("ephemeral close of an unknown session", &d, &mut bad);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// What validating a configuration of `object` with `attrs` reports.
async fn validated(object: &dyn ObjectType, attrs: &[(&str, Value)]) -> Diagnostics {
    let req = ValidateRequest::new(config(attrs));
    let mut resp = ValidateResponse::default();
    object.validate(&Context::default(), req, &mut resp).await;
    resp.diagnostics
}

/// The string literals passed to every diagnostic constructor in `src/`, with format
/// placeholders standing for a finished sentence.
fn literal_diagnostic_texts() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut dirs = vec![root.join("defentry"), root.join("sdk")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let src = std::fs::read_to_string(&path).unwrap();
            for call in [
                "Diagnostic::error(",
                "Diagnostic::warning(",
                ".attr_error(",
                "diags.error(",
                "d.error(",
            ] {
                for (at, _) in src.match_indices(call) {
                    for text in call_literals(&src[at + call.len()..]) {
                        out.push((format!("{}:{call}", path.display()), text));
                    }
                }
            }
        }
    }
    out
}

/// The string literals of one call's arguments (up to its closing parenthesis).
fn call_literals(rest: &str) -> Vec<String> {
    let mut texts = Vec::new();
    let mut depth = 1;
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            '"' => {
                let mut text = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => match chars.next() {
                            // A line continuation: the newline and indentation vanish.
                            Some('\n') => {
                                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                                    chars.next();
                                }
                            }
                            Some(e) => text.push(e),
                            None => break,
                        },
                        _ => text.push(c),
                    }
                }
                texts.push(placeholders_as_sentences(&text));
            }
            _ => {}
        }
    }
    texts
}

fn placeholders_as_sentences(text: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in text.chars() {
        match c {
            '{' => inside = true,
            '}' if inside => {
                inside = false;
                out.push_str("X.");
            }
            _ if inside => {}
            _ => out.push(c),
        }
    }
    out
}

#[test]
fn literal_diagnostic_texts_read_as_sentences() {
    let texts = literal_diagnostic_texts();
    assert!(texts.len() > 50, "only {} texts found", texts.len());
    let bad: Vec<String> = texts
        .iter()
        .flat_map(|(origin, text)| {
            problems(text)
                .into_iter()
                .map(move |p| format!("{origin}: {p}: {text:?}"))
        })
        .collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn the_checks_catch_what_the_issue_reported() {
    assert!(!problems("Defentry at h failed; try again later Nothing was lost.").is_empty());
    assert!(
        !problems("could not reach Defentry; check its TLS certificate Check `api_domain`.")
            .is_empty()
    );
    assert!(!problems("rotation_period the duration is empty.").is_empty());
    assert!(problems("Could not log in: Defentry at h failed. Nothing was lost.").is_empty());
    assert!(problems("Set `username` here, or ask Defentry.").is_empty());
    assert_eq!(sentence("try again later"), "try again later.");
    assert_eq!(sentence("Done."), "Done.");
}
