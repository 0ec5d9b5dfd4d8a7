//! A string that must never reach logs, diagnostics or error messages.

use std::fmt;

/// A secret string (password, token, reset token, 2FA code or seed).
///
/// `Debug` and `Display` print `[REDACTED]`, so a secret that ends up in a `{:?}`, a tracing field or an
/// error message by accident does not leak. The value is only reachable through [`Secret::expose`].
/// Serde reads and writes the value itself (`transparent`), so typed models can hold secrets
/// that Terraform sends and stores (attributes marked sensitive in the schema).
#[derive(Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The secret itself. Every call site is a place where the secret leaves its wrapper: keep them few.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

const REDACTED: &str = "[REDACTED]";

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_are_redacted() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "[REDACTED]");
        assert_eq!(format!("{s}"), "[REDACTED]");
        assert_eq!(format!("{:?}", Some(s.clone())), "Some([REDACTED])");
        assert!(!format!("{s:#?}").contains("hunter2"));
    }

    #[test]
    fn expose_and_conversions() {
        let a = Secret::from("pw");
        let b = Secret::from(String::from("pw"));
        assert_eq!(a, b);
        assert_eq!(a.expose(), "pw");
        assert!(!a.is_empty());
        assert!(Secret::new("").is_empty());
        assert!(Secret::default().is_empty());
    }
}
