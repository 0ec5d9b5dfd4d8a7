//! Reading and writing the [`Model`] of a `defentry_token`, and what it says about itself.

use std::sync::LazyLock;

use crate::sdk::cty::{AttributePath, Type, Value};
use crate::sdk::model::{from_value_or_default, to_value, Maybe};
use crate::sdk::Diagnostic;

use crate::defentry::client::Token;
use crate::defentry::session::LoginArgs;

use super::schema::schema;
use super::{token_attr, Model};

/// The type of [`Model`] values: the schema's.
pub(super) static TYPE: LazyLock<Type> = LazyLock::new(|| schema().block.implied_type());

impl Model {
    /// Reads a configuration, plan or state; null (no object) reads as all null.
    pub(super) fn read(v: &Value) -> Result<Model, Diagnostic> {
        Ok(from_value_or_default(v)?)
    }

    /// The value Terraform receives as state.
    pub(super) fn write(&self) -> Result<Value, Diagnostic> {
        Ok(to_value(self, &TYPE)?)
    }

    pub(super) fn login_args(&self) -> LoginArgs<'_> {
        LoginArgs {
            username: &self.username,
            password: (token_attr::PASSWORD_WO, &self.password_wo),
            keep_logged: &self.keep_logged,
            totp_secret: &self.totp_secret,
            two_factor_code: &self.two_factor_code,
        }
    }

    /// Whether the schedule depends on values not known yet.
    pub(super) fn schedule_unknown(&self) -> bool {
        self.rotation_period.is_unknown() || self.rotation_anchor.is_unknown()
    }

    /// Fills in the attributes of a fresh session.
    pub(super) fn set_token(&mut self, token: &Token) {
        self.id = Maybe::Known(token.id().to_string());
        self.token_id = Maybe::Known(token.id().to_string());
        self.token = Maybe::Known(token.secret().clone());
        self.authorization_header = Maybe::Known(token.authorization_header());
    }

    /// Clears the previous token: planned as the revocation, applied once it is logged out.
    pub(super) fn clear_previous(&mut self) {
        self.previous_token = Maybe::Null;
        self.previous_token_id = Maybe::Null;
        self.previous_revoke_at = Maybe::Null;
    }

    /// Arguments whose change rotates the token (a replacement without `overlap`, an in-place
    /// rotation with it), in the order the plan reports them.
    pub(super) fn changed_rotating_arguments(&self, planned: &Model) -> Vec<AttributePath> {
        let mut changed = Vec::new();
        if self.triggers != planned.triggers {
            changed.push(AttributePath::attr(token_attr::TRIGGERS));
        }
        if self.password_wo_version != planned.password_wo_version {
            changed.push(AttributePath::attr(token_attr::PASSWORD_WO_VERSION));
        }
        changed
    }
}

/// Models and values as Terraform sends them, for the tests of this resource.
#[cfg(test)]
pub(super) mod fixtures {
    use chrono::{DateTime, Utc};

    use crate::sdk::cty::Value;

    use super::Model;
    use crate::defentry::time::rfc3339;

    pub fn t(s: &str) -> DateTime<Utc> {
        rfc3339::parse(s).unwrap_or_default()
    }

    /// A model from `(attribute, value)` pairs, through the value Terraform would send.
    pub fn model(pairs: &[(&str, Value)]) -> Model {
        Model::read(&state(pairs)).expect("a model")
    }

    /// An object as Terraform sends it: every attribute, null unless given.
    pub fn state(pairs: &[(&str, Value)]) -> Value {
        let mut v = Model::default().write().expect("a value");
        for (k, x) in pairs {
            v.set_attr(k, x.clone());
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::model;
    use super::*;

    #[test]
    fn the_model_names_the_schema_attributes() {
        let schema = schema();
        crate::sdk::model::check_model::<Model>(&schema.block).unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn trigger_and_password_version_changes_are_rotations() {
        let prior = model(&[
            (token_attr::TRIGGERS, Value::Null),
            (token_attr::PASSWORD_WO_VERSION, Value::string("1")),
        ]);
        assert!(prior.changed_rotating_arguments(&prior).is_empty());
        let mut planned = prior.clone();
        planned.password_wo_version = Maybe::Known("2".into());
        planned.triggers = Maybe::Unknown;
        assert_eq!(
            prior.changed_rotating_arguments(&planned),
            vec![
                AttributePath::attr(token_attr::TRIGGERS),
                AttributePath::attr(token_attr::PASSWORD_WO_VERSION)
            ]
        );
    }
}
