//! Actions (Terraform 1.14+): the imperative parts of the API.
//!
//! Terraform points at the offending attribute only for diagnostics of ValidateActionConfig and
//! of the PlanAction that `-invoke` runs; it flattens those of InvokeAction (and of anything an
//! `action_trigger` runs) into one line without a source location. So every check that needs no
//! server runs at validate time (literal values) and again at plan time (values from variables),
//! and rejections by Defentry name the attribute in their text.

use crate::sdk::cty::{AttributePath, Value};
use crate::sdk::{Diagnostic, Diagnostics};

use super::client::ApiError;
use super::diagnostics::api_error;

pub mod logout;
pub mod password_forgot;
pub mod password_reset;

/// When a check runs: values may be unknown in both; only a plan sees null from variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// ValidateActionConfig: variables are still unknown, Terraform enforces `required`.
    Validate,
    /// PlanAction: values are final unless an `action_trigger` references unknown ones.
    Plan,
}

/// The value of a required string attribute if it is known and non-empty; otherwise records why
/// not (null at plan time, empty string) in `diags` and returns `None`. Unknown values pass.
pub(crate) fn required_text<'a>(
    config: &'a Value,
    name: &str,
    what: &str,
    phase: Phase,
    diags: &mut Diagnostics,
) -> Option<&'a str> {
    let v = config.attr(name);
    match v.as_str() {
        Some("") => {
            diags.attr_error(
                AttributePath::attr(name),
                format!("Empty {name}"),
                format!("`{name}` must be {what}; it is an empty string."),
            );
            None
        }
        Some(s) => Some(s),
        None if v.is_null() && v.is_known() && phase == Phase::Plan => {
            diags.attr_error(
                AttributePath::attr(name),
                format!("Missing {name}"),
                format!("`{name}` must be {what}; it is null."),
            );
            None
        }
        None => None,
    }
}

/// A diagnostic for a failed call. Field errors of a 422 name the attribute (`attr_of` maps
/// API fields to attributes), because Terraform drops the attribute path of invoke results;
/// `hint` is added for the fields it concerns.
pub(crate) fn rejected(
    err: &ApiError,
    doing: &str,
    attr_of: impl Fn(&str) -> &'static str,
    hint: impl Fn(&str) -> Option<&'static str>,
) -> Diagnostic {
    let ApiError::Validation { fields, .. } = err else {
        return api_error(err, doing, |f| Some(AttributePath::attr(attr_of(f))));
    };
    if fields.is_empty() {
        return api_error(err, doing, |f| Some(AttributePath::attr(attr_of(f))));
    }
    let mut detail = format!("Could not {doing} (HTTP 422).");
    let mut hints: Vec<&str> = Vec::new();
    for (field, messages) in fields {
        detail.push_str(&format!(" `{}`: {}", attr_of(field), messages.join(" ")));
        if let Some(h) = hint(field).filter(|h| !hints.contains(h)) {
            hints.push(h);
        }
    }
    for h in hints {
        detail.push(' ');
        detail.push_str(h);
    }
    detail.push_str(" Correct the value and invoke the action again.");
    let first = fields.keys().next().map(|f| attr_of(f)).unwrap_or_default();
    Diagnostic::error("Defentry rejected the input", detail).at(AttributePath::attr(first))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn required_text_by_phase() {
        let cfg = Value::object([
            ("a", Value::string("")),
            ("b", Value::Null),
            ("c", Value::unknown()),
            ("d", Value::string("x")),
        ]);
        let mut d = Diagnostics::new();
        assert_eq!(
            required_text(&cfg, "a", "set", Phase::Validate, &mut d),
            None
        );
        assert_eq!(
            required_text(&cfg, "b", "set", Phase::Validate, &mut d),
            None
        );
        assert_eq!(required_text(&cfg, "c", "set", Phase::Plan, &mut d), None);
        assert_eq!(
            required_text(&cfg, "d", "set", Phase::Plan, &mut d),
            Some("x")
        );
        assert_eq!(d.iter().count(), 1, "{d:?}");
        assert_eq!(required_text(&cfg, "b", "set", Phase::Plan, &mut d), None);
        let summaries: Vec<_> = d.iter().map(|x| x.summary.as_str()).collect();
        assert_eq!(summaries, ["Empty a", "Missing b"]);
    }

    #[test]
    fn rejected_names_attributes_and_hints() {
        let mut fields = BTreeMap::new();
        fields.insert(
            "password_confirmation".to_string(),
            vec!["No match.".to_string()],
        );
        fields.insert("token".to_string(), vec!["Invalid.".to_string()]);
        let err = ApiError::Validation {
            message: "Invalid.".into(),
            fields,
        };
        let d = rejected(
            &err,
            "reset the password",
            |f| if f == "token" { "token" } else { "password" },
            |f| (f == "token").then_some("Ask again."),
        );
        assert_eq!(
            d.detail,
            "Could not reset the password (HTTP 422). `password`: No match. `token`: Invalid. \
             Ask again. Correct the value and invoke the action again."
        );
        assert_eq!(d.attribute, Some(AttributePath::attr("password")));
    }
}
