//! What the session objects show Terraform: their shared schema, its static checks, and the
//! values a fresh token fills in.

use serde::{Deserialize, Serialize};

use crate::sdk::cty::{Type, Value};
use crate::sdk::model::{from_value, to_value, Maybe};
use crate::sdk::object::{ValidateRequest, ValidateResponse};
use crate::sdk::schema::{Attribute, Block, Schema};
use crate::sdk::{Context, Diagnostic};

use crate::defentry::attr;
use crate::defentry::client::{Secret, Token};
use crate::defentry::time::rfc3339;

use super::credentials::LoginArgs;

/// The computed attributes of a token (`id`, `token_id`, `token`, `authorization_header`),
/// shared by every object that logs in; `token_id` describes the identifier for that object.
pub fn token_attributes(token_id: &str) -> Vec<Attribute> {
    vec![
        Attribute::computed(attr::ID, Type::String).description("Same as `token_id`."),
        Attribute::computed(attr::TOKEN_ID, Type::String).description(token_id),
        Attribute::computed(attr::TOKEN, Type::String)
            .sensitive()
            .description("The CRM token, sent as `Authorization: Bearer <token>`."),
        Attribute::computed(attr::AUTHORIZATION_HEADER, Type::String)
            .sensitive()
            .description("The ready-made header value `Bearer <token>`."),
    ]
}

/// The 2FA arguments of every object that logs in (`totp_secret`, `two_factor_code`);
/// `write_only` for a resource, whose plan and state must never hold them.
pub fn two_factor_attributes(write_only: bool) -> [Attribute; 2] {
    [
        (attr::TOTP_SECRET, "Interactive users only (service accounts are never enrolled): base32 TOTP secret. With it, every login completes the 2FA challenge (setup, then verify). Defaults to the provider's `totp_secret`."),
        (attr::TWO_FACTOR_CODE, "Interactive users only: a current 6-digit 2FA code, instead of `totp_secret`; the login then completes the 2FA challenge with it."),
    ]
    .map(|(name, description)| {
        let a = Attribute::optional(name, Type::String).sensitive().description(description);
        if write_only { a.write_only() } else { a }
    })
}

/// The schema shared by the `defentry_session` data source and ephemeral resource.
pub fn session_schema(description: &str) -> Schema {
    let arguments = vec![
        Attribute::optional(attr::USERNAME, Type::String)
            .description("Service-account username. Defaults to the provider's `username`."),
        Attribute::optional(attr::PASSWORD, Type::String)
            .sensitive()
            .description("Password. Defaults to the provider's `password` (prefer that, set through DEFENTRY_PASSWORD)."),
        Attribute::optional(attr::KEEP_LOGGED, Type::Bool)
            .description("Ask Defentry for a long-lived session. Defaults to the provider's `keep_logged`."),
    ];
    let two_factor = two_factor_attributes(false);
    let token = token_attributes(
        "The non-secret token identifier (the part before `|`). Safe to log and to use as a secret version.",
    );
    let issued_at = Attribute::computed(attr::ISSUED_AT, Type::String)
        .description("When the session was created (RFC 3339).");
    let attributes = arguments
        .into_iter()
        .chain(two_factor)
        .chain(token)
        .chain([issued_at]);
    Schema::new(Block::new(attributes.collect()).description(description))
}

/// The type name of the `defentry_session` data source and ephemeral resource.
pub const SESSION_TYPE_NAME: &str = "defentry_session";

/// The static checks of a `defentry_session` configuration, the data source's or the
/// ephemeral resource's.
pub fn validate_session(req: ValidateRequest, resp: &mut ValidateResponse) {
    if let Some(m) = resp.diagnostics.take(SessionModel::read(&req.config)) {
        m.login_args().validate(&mut resp.diagnostics);
    }
}

/// Implements `ObjectType` for a `defentry_session` object (the data source or the ephemeral
/// resource) from the one name, schema and validation above, given the schema's description.
/// A macro, not a blanket impl over a local trait: that would break the orphan rule (E0210)
/// once the SDK is a crate of its own.
macro_rules! session_object_type {
    ($object:ty, $description:expr) => {
        #[async_trait::async_trait]
        impl $crate::sdk::object::ObjectType for $object {
            fn type_name(&self) -> &'static str {
                $crate::defentry::session::SESSION_TYPE_NAME
            }

            fn schema(&self) -> $crate::sdk::schema::Schema {
                $crate::defentry::session::session_schema($description)
            }

            async fn validate(
                &self,
                _ctx: &$crate::sdk::Context,
                req: $crate::sdk::object::ValidateRequest,
                resp: &mut $crate::sdk::object::ValidateResponse,
            ) {
                $crate::defentry::session::validate_session(req, resp)
            }
        }
    };
}
pub(crate) use session_object_type;

/// The configuration and result of the `defentry_session` data source and ephemeral
/// resource, attribute by attribute (see [`session_schema`]).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SessionModel {
    username: Maybe<String>,
    password: Maybe<Secret>,
    keep_logged: Maybe<bool>,
    totp_secret: Maybe<Secret>,
    two_factor_code: Maybe<Secret>,
    id: Maybe<String>,
    token_id: Maybe<String>,
    token: Maybe<Secret>,
    authorization_header: Maybe<Secret>,
    issued_at: Maybe<String>,
}

impl SessionModel {
    /// Reads a configuration or result.
    pub fn read(v: &Value) -> Result<Self, Diagnostic> {
        Ok(from_value(v)?)
    }

    /// The login arguments it sets.
    pub fn login_args(&self) -> LoginArgs<'_> {
        LoginArgs {
            username: &self.username,
            password: (attr::PASSWORD, &self.password),
            keep_logged: &self.keep_logged,
            totp_secret: &self.totp_secret,
            two_factor_code: &self.two_factor_code,
        }
    }

    /// The result: this configuration with the computed attributes of a fresh token, issued
    /// now by the context's clock.
    pub fn issued(mut self, ctx: &Context, token: &Token) -> Result<Value, Diagnostic> {
        self.id = Maybe::Known(token.id().to_string());
        self.token_id = Maybe::Known(token.id().to_string());
        self.token = Maybe::Known(token.secret().clone());
        self.authorization_header = Maybe::Known(token.authorization_header());
        self.issued_at = Maybe::Known(rfc3339::format(ctx.now()));
        Ok(to_value(&self, &session_schema("").block.implied_type())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_model_names_the_schema_attributes() {
        let schema = session_schema("");
        crate::sdk::model::check_model::<SessionModel>(&schema.block)
            .unwrap_or_else(|e| panic!("{e}"));
    }
}
