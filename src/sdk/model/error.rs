//! [`ModelError`]: why a value and a model do not fit.

use std::fmt;

use crate::cty::{AttributePath, CtyError};
use crate::diag::Diagnostic;

/// Why a value and a model do not fit; says where (an [`AttributePath`]) and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// The value has another type than the model reads (null included).
    #[error("{}expected {expected}, found {found}", At(.path))]
    Mismatch {
        /// Where.
        path: AttributePath,
        /// What the model reads, like "a string".
        expected: &'static str,
        /// What the value is, like "a bool".
        found: &'static str,
    },
    /// An unknown value where the model has no [`Maybe`](super::Maybe) to hold it.
    #[error("{}unknown value where a known one is required", At(.path))]
    Unknown {
        /// Where.
        path: AttributePath,
    },
    /// A number that the model's numeric type cannot hold.
    #[error("{}{reason}", At(.path))]
    Number {
        /// Where.
        path: AttributePath,
        /// Why, like "1.5 is not a whole number".
        reason: String,
    },
    /// A written model does not have the schema's type.
    #[error("{}does not conform to type {expected}: {reason}", At(.path))]
    Conform {
        /// Where.
        path: AttributePath,
        /// The type's friendly name.
        expected: String,
        /// What was wrong.
        reason: String,
    },
    /// Anything else serde or a model's own (de)serializer reports, like a missing field.
    #[error("{}{message}", At(.path))]
    Custom {
        /// Where.
        path: AttributePath,
        /// What.
        message: String,
    },
}

/// `at a.b: ` before a message, or nothing at the root.
struct At<'a>(&'a AttributePath);

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.is_root() {
            true => Ok(()),
            false => write!(f, "at {}: ", self.0),
        }
    }
}

impl ModelError {
    /// Where the problem is, for a diagnostic's attribute path; `None` for the whole value.
    pub fn path(&self) -> Option<&AttributePath> {
        let path = match self {
            ModelError::Mismatch { path, .. }
            | ModelError::Unknown { path }
            | ModelError::Number { path, .. }
            | ModelError::Conform { path, .. }
            | ModelError::Custom { path, .. } => path,
        };
        (!path.is_root()).then_some(path)
    }

    /// Places an error raised without a path (serde's own, like "missing field") at `path`.
    pub(super) fn or_at(mut self, at: AttributePath) -> Self {
        if self.path().is_none() {
            match &mut self {
                ModelError::Mismatch { path, .. }
                | ModelError::Unknown { path }
                | ModelError::Number { path, .. }
                | ModelError::Conform { path, .. }
                | ModelError::Custom { path, .. } => *path = at,
            }
        }
        self
    }

    fn custom(message: impl fmt::Display) -> Self {
        ModelError::Custom {
            path: AttributePath::root(),
            message: message.to_string(),
        }
    }
}

impl serde::de::Error for ModelError {
    fn custom<M: fmt::Display>(message: M) -> Self {
        ModelError::custom(message)
    }
}

impl serde::ser::Error for ModelError {
    fn custom<M: fmt::Display>(message: M) -> Self {
        ModelError::custom(message)
    }
}

impl From<CtyError> for ModelError {
    fn from(e: CtyError) -> Self {
        match e {
            CtyError::TypeMismatch {
                path,
                expected,
                reason,
            } => ModelError::Conform {
                path,
                expected,
                reason,
            },
            other => ModelError::custom(other),
        }
    }
}

/// A model that does not fit its values is a bug in the provider (its schema and its structs
/// disagree), reported at the attribute concerned.
impl From<ModelError> for Diagnostic {
    fn from(e: ModelError) -> Self {
        let d = Diagnostic::error(
            "Provider model mismatch",
            format!("The provider could not handle this object's values ({e}). This is a bug in the provider; please report it."),
        );
        match e.path() {
            Some(p) => d.at(p.clone()),
            None => d,
        }
    }
}
