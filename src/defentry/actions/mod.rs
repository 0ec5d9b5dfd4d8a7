//! Actions (Terraform 1.14+): the imperative parts of the API.
//!
//! Terraform points at the offending attribute only for diagnostics of ValidateActionConfig and
//! of the PlanAction that `-invoke` runs; it flattens those of InvokeAction (and of anything an
//! `action_trigger` runs) into one line without a source location. So every check that needs no
//! server runs at validate time (literal values) and again at plan time (values from variables),
//! and rejections by Defentry name the attribute in their text.

use std::future::Future;

use async_trait::async_trait;
use serde::de::DeserializeOwned;

use crate::sdk::action::{Action, ActionRequest, InvokeResponse, PlanActionResponse};
use crate::sdk::cty::{AttributePath, Value};
use crate::sdk::model::{from_value, Maybe};
use crate::sdk::object::{ObjectType, ValidateRequest, ValidateResponse};
use crate::sdk::schema::Schema;
use crate::sdk::{Context, Diagnostic, Diagnostics};

use super::client::{ApiError, Client};
use super::data::ProviderData;
use super::diagnostics::api_error;
use super::op::Op;

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

/// A Defentry action: a typed configuration, checked alike at validate, plan and invoke, and
/// the call that runs once every check passed. [`Checked`] makes it an SDK action.
#[async_trait]
pub(crate) trait Run: Send + Sync + 'static {
    /// The action's type name.
    const TYPE_NAME: &'static str;
    /// Its configuration.
    type Config: ActionConfig;
    /// Its schema.
    fn schema(&self) -> Schema;
    /// Invokes it with the checked configuration.
    async fn run(
        &self,
        ctx: &Context,
        client: &Client,
        input: <Self::Config as ActionConfig>::Input,
        resp: &mut InvokeResponse,
    );
}

/// The SDK action of a `Run` (a Defentry action with its checks shared).
pub struct Checked<A>(pub(crate) A);

#[async_trait]
impl<A: Run> ObjectType for Checked<A> {
    fn type_name(&self) -> &'static str {
        A::TYPE_NAME
    }

    fn schema(&self) -> Schema {
        self.0.schema()
    }

    async fn validate(&self, _ctx: &Context, req: ValidateRequest, resp: &mut ValidateResponse) {
        A::Config::input(&req.config, Phase::Validate, &mut resp.diagnostics);
    }
}

#[async_trait]
impl<A: Run> Action<ProviderData> for Checked<A> {
    async fn plan(
        &self,
        _ctx: &Context,
        _data: &ProviderData,
        req: ActionRequest,
        resp: &mut PlanActionResponse,
    ) {
        A::Config::input(&req.config, Phase::Plan, &mut resp.diagnostics);
    }

    async fn invoke(
        &self,
        ctx: &Context,
        data: &ProviderData,
        req: ActionRequest,
        resp: &mut InvokeResponse,
    ) {
        let Some(input) = A::Config::input(&req.config, Phase::Plan, &mut resp.diagnostics) else {
            return;
        };
        match data.client() {
            Ok(client) => self.0.run(ctx, client, input, resp).await,
            Err(d) => resp.diagnostics.push(d),
        }
    }
}

/// An action's configuration, as a typed model: read and checked the same way at validate,
/// plan and invoke.
pub(crate) trait ActionConfig: DeserializeOwned {
    /// What invoke needs, once every check passed.
    type Input: Send;

    /// The input if the configuration is usable; otherwise records why not in `diags`.
    /// Unknown values pass (they are checked again once known).
    fn check(&self, phase: Phase, diags: &mut Diagnostics) -> Option<Self::Input>;

    /// Reads `config` and checks it.
    fn input(config: &Value, phase: Phase, diags: &mut Diagnostics) -> Option<Self::Input> {
        match from_value::<Self>(config) {
            Ok(c) => c.check(phase, diags),
            Err(e) => {
                diags.push(e.into());
                None
            }
        }
    }
}

/// The value of a required string attribute if it is known and non-empty; otherwise records why
/// not (null at plan time, empty string) in `diags` and returns `None`. Unknown values pass.
pub(crate) fn required_text<'a>(
    v: Maybe<&'a str>,
    name: &str,
    what: &str,
    phase: Phase,
    diags: &mut Diagnostics,
) -> Option<&'a str> {
    match v {
        Maybe::Known("") => {
            diags.attr_error(
                AttributePath::attr(name),
                format!("Empty {name}"),
                format!("`{name}` must be {what}; it is an empty string."),
            );
            None
        }
        Maybe::Known(s) => Some(s),
        Maybe::Null if phase == Phase::Plan => {
            diags.attr_error(
                AttributePath::attr(name),
                format!("Missing {name}"),
                format!("`{name}` must be {what}; it is null."),
            );
            None
        }
        Maybe::Null | Maybe::Unknown => None,
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

/// Sends a request whose answer is a message for the user (the password recovery calls):
/// the message goes to the progress stream, a rejection is reported as [`rejected`] says.
pub(crate) async fn request(
    op: &Op<'_>,
    resp: &mut InvokeResponse,
    doing: &str,
    call: impl Future<Output = Result<String, ApiError>>,
    attr_of: impl Fn(&str) -> &'static str,
    hint: impl Fn(&str) -> Option<&'static str>,
) {
    let result = op.call(call).await;
    op.report(&mut resp.diagnostics);
    match result {
        Err(e) => resp.diagnostics.push(rejected(&e, doing, attr_of, hint)),
        Ok(message) => resp.progress(message).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn every_action_model_names_its_schema_attributes() {
        use crate::sdk::model::check_model;
        for (name, result) in [
            (
                "defentry_logout",
                check_model::<logout::Config>(&logout::LogoutAction.schema().block),
            ),
            (
                "defentry_password_forgot",
                check_model::<password_forgot::Config>(
                    &password_forgot::PasswordForgotAction.schema().block,
                ),
            ),
            (
                "defentry_password_reset",
                check_model::<password_reset::Config>(
                    &password_reset::PasswordResetAction.schema().block,
                ),
            ),
        ] {
            assert_eq!(result, Ok(()), "{name}");
        }
    }

    #[test]
    fn required_text_by_phase() {
        let cfg = |name: &str| match name {
            "a" => Maybe::Known(""),
            "b" => Maybe::Null,
            "c" => Maybe::Unknown,
            _ => Maybe::Known("x"),
        };
        let mut d = Diagnostics::new();
        assert_eq!(
            required_text(cfg("a"), "a", "set", Phase::Validate, &mut d),
            None
        );
        assert_eq!(
            required_text(cfg("b"), "b", "set", Phase::Validate, &mut d),
            None
        );
        assert_eq!(
            required_text(cfg("c"), "c", "set", Phase::Plan, &mut d),
            None
        );
        assert_eq!(
            required_text(cfg("d"), "d", "set", Phase::Plan, &mut d),
            Some("x")
        );
        assert_eq!(d.iter().count(), 1, "{d:?}");
        assert_eq!(
            required_text(cfg("b"), "b", "set", Phase::Plan, &mut d),
            None
        );
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
