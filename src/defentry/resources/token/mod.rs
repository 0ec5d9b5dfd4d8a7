//! `resource "defentry_token"`: one CRM session owned by Terraform. Create logs in, delete
//! logs out, and rotation is a real replacement, decided during refresh so that saved plans
//! apply exactly as planned.
//!
//! One job per file: [`token_attr`] and [`schema`] say what Terraform sees; `model` reads
//! and writes it as the [`Model`] below; `schedule` checks the rotation arguments; `marks` is
//! the private state refresh leaves for plan; `plan` and `apply` decide and do; `resource`
//! wires them into the SDK. The calendar arithmetic is in [`crate::defentry::time`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::defentry::client::Secret;
use crate::sdk::model::Maybe;

mod apply;
mod marks;
mod model;
mod plan;
mod resource;
mod schedule;
pub mod schema;
pub mod token_attr;

/// The `defentry_token` resource.
pub struct TokenResource;

/// The configuration, plan and state of a `defentry_token`, attribute by attribute. Values
/// are [`Maybe`]: null or, while planning, unknown. Declared here so that its fields are
/// private to this resource and open to each of its files.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
struct Model {
    username: Maybe<String>,
    password_wo: Maybe<Secret>,
    password_wo_version: Maybe<String>,
    keep_logged: Maybe<bool>,
    totp_secret: Maybe<Secret>,
    two_factor_code: Maybe<Secret>,
    rotation_period: Maybe<String>,
    rotation_anchor: Maybe<String>,
    triggers: Maybe<BTreeMap<String, Maybe<String>>>,
    overlap: Maybe<String>,
    id: Maybe<String>,
    token_id: Maybe<String>,
    token: Maybe<Secret>,
    authorization_header: Maybe<Secret>,
    created_at: Maybe<String>,
    rotate_at: Maybe<String>,
    previous_token: Maybe<Secret>,
    previous_token_id: Maybe<String>,
    previous_revoke_at: Maybe<String>,
}
