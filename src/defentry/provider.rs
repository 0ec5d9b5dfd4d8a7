//! The `defentry` provider: its configuration and the objects it offers.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::sdk::action::Action;
use crate::sdk::cty::{AttributePath, Type, Value};
use crate::sdk::data_source::DataSource;
use crate::sdk::ephemeral::EphemeralResource;
use crate::sdk::model::{from_value_or_default, Maybe};
use crate::sdk::object::{ObjectType, ValidateRequest, ValidateResponse};
use crate::sdk::provider::{ConfigureRequest, ConfigureResponse};
use crate::sdk::resource::Resource;
use crate::sdk::schema::{Attribute, Block, Schema};
use crate::sdk::{Context, Diagnostic, Diagnostics, Provider};

use super::actions::Checked;
use super::attr;
use super::client::{ApiDomain, Client, ClientConfig, Secret};
use super::data::ProviderData;
use super::diagnostics::sentence;
use super::session::totp;
use super::time::duration;

/// The provider's version, reported in the User-Agent and the docs.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
const DEFAULT_TIMEOUT: &str = "30s";
/// Covers a fleet of a few hundred tokens at Laravel's default 60 requests a minute.
const DEFAULT_RATE_LIMIT_TIMEOUT: &str = "10m";
const DEFAULT_RETRIES: u32 = 4;
const MAX_RETRIES_LIMIT: u32 = 20;

/// Reads the process environment (injectable for tests).
pub type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The `defentry` provider.
pub struct DefentryProvider {
    env: EnvLookup,
}

impl Default for DefentryProvider {
    fn default() -> Self {
        Self {
            env: Arc::new(|k| std::env::var(k).ok().filter(|v| !v.is_empty())),
        }
    }
}

impl DefentryProvider {
    /// A provider reading the environment through `env` (tests).
    pub fn with_env(env: EnvLookup) -> Self {
        Self { env }
    }
}

fn path(name: &str) -> AttributePath {
    AttributePath::attr(name)
}

/// The provider block, attribute by attribute.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct Config {
    api_domain: Maybe<String>,
    username: Maybe<String>,
    password: Maybe<Secret>,
    keep_logged: Maybe<bool>,
    request_timeout: Maybe<String>,
    max_retries: Maybe<f64>,
    rate_limit_timeout: Maybe<String>,
    ca_cert_pem: Maybe<String>,
    totp_secret: Maybe<Secret>,
}

impl Config {
    fn read(v: &Value) -> Result<Config, Diagnostic> {
        Ok(from_value_or_default(v)?)
    }

    /// Checks the static settings; unknown values (validate time) are skipped.
    fn check(&self) -> Diagnostics {
        let mut d = Diagnostics::new();
        if let Some(s) = self.api_domain.known() {
            if let Err(e) = ApiDomain::parse(s) {
                d.attr_error(path(attr::API_DOMAIN), "Invalid api_domain", sentence(e));
            }
        }
        let durations = [
            (attr::REQUEST_TIMEOUT, &self.request_timeout),
            (attr::RATE_LIMIT_TIMEOUT, &self.rate_limit_timeout),
        ];
        for (name, value) in durations {
            if let Some(Err(e)) = value.known().map(|s| duration::parse_positive(s)) {
                d.attr_error(
                    path(name),
                    format!("Invalid {name}"),
                    format!("{name} {e}."),
                );
            }
        }
        if let Some(n) = self.max_retries.known() {
            if Self::retries(*n).is_none() {
                d.attr_error(
                    path(attr::MAX_RETRIES),
                    "Invalid max_retries",
                    format!(
                        "max_retries must be a whole number from 0 to {MAX_RETRIES_LIMIT}; {n} is not."
                    ),
                );
            }
        }
        if let Some(seed) = self.totp_secret.known() {
            totp::check_seed(attr::TOTP_SECRET, seed.expose(), &mut d);
        }
        d
    }

    /// `max_retries` as a count, when it is one in range.
    fn retries(n: f64) -> Option<u32> {
        let whole = n.fract() == 0.0 && (0.0..=f64::from(MAX_RETRIES_LIMIT)).contains(&n);
        // In range and whole, so the conversion is exact.
        whole.then_some(n as u32)
    }
}

/// The configured value, else the environment variable `var`.
fn or_env<T: Clone + From<String>>(v: &Maybe<T>, env: &EnvLookup, var: &str) -> Option<T> {
    v.known().cloned().or_else(|| env(var).map(T::from))
}

#[async_trait]
impl ObjectType for DefentryProvider {
    fn type_name(&self) -> &'static str {
        "defentry"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new(vec![
                Attribute::optional(attr::API_DOMAIN, Type::String)
                    .description("Base URL of the Defentry API assigned to your account (e.g. `https://api.example.com`). `https` is required except for loopback hosts such as a local defentry-mock. A path prefix is kept.")
                    .env_doc("DEFENTRY_API_DOMAIN"),
                Attribute::optional(attr::USERNAME, Type::String)
                    .description("Default service-account username for objects that do not set their own.")
                    .env_doc("DEFENTRY_USERNAME"),
                Attribute::optional(attr::PASSWORD, Type::String)
                    .sensitive()
                    .description("Default service-account password. Prefer the environment variable, which keeps it out of configuration files.")
                    .env_doc("DEFENTRY_PASSWORD"),
                Attribute::optional(attr::KEEP_LOGGED, Type::Bool)
                    .description("Default for `keep_logged`: ask Defentry for a long-lived session.")
                    .default_doc("false"),
                Attribute::optional(attr::REQUEST_TIMEOUT, Type::String)
                    .description("Timeout of each HTTP attempt, as a Go duration such as `\"30s\"` or `\"2m\"`.")
                    .default_doc(format!("\"{DEFAULT_TIMEOUT}\"")),
                Attribute::optional(attr::MAX_RETRIES, Type::Number)
                    .description("How many times a request is retried after a network error or HTTP 502, 503 or 504, with exponential backoff and `Retry-After` honoured. Rejected credentials and validation errors are never retried; rate limiting (HTTP 429) is waited out instead, see `rate_limit_timeout`.")
                    .default_doc(DEFAULT_RETRIES.to_string()),
                Attribute::optional(attr::RATE_LIMIT_TIMEOUT, Type::String)
                    .description("How long one operation may wait, in total, for Defentry's rate limit (HTTP 429: too many requests per minute for the account, or for the address before login), as a Go duration such as `\"10m\"`. The provider waits at least as long as Defentry asks (`Retry-After`), and all operations of one account wait together for the limit's window to reset, so a large `count` or `for_each` of tokens completes, a bit slower, instead of failing. An object whose operation waited gets a warning saying how long.")
                    .default_doc(format!("\"{DEFAULT_RATE_LIMIT_TIMEOUT}\"")),
                Attribute::optional(attr::CA_CERT_PEM, Type::String)
                    .description("Extra PEM-encoded CA certificates to trust, for an API behind a private CA. TLS verification is always on."),
                Attribute::optional(attr::TOTP_SECRET, Type::String)
                    .sensitive()
                    .description("Base32 TOTP secret of an interactive (2FA-enrolled) user, used to answer the 2FA challenge after login. Service accounts do not need it.")
                    .env_doc("DEFENTRY_TOTP_SECRET"),
            ])
            .description("The Defentry provider logs a Defentry CRM service account in and hands the session token to the rest of your configuration, with rotation through ordinary plan/apply runs."),
        )
    }

    async fn validate(&self, _ctx: &Context, req: ValidateRequest, resp: &mut ValidateResponse) {
        if let Some(c) = resp.diagnostics.take(Config::read(&req.config)) {
            resp.diagnostics.extend(c.check());
        }
    }
}

#[async_trait]
impl Provider for DefentryProvider {
    type Data = ProviderData;

    async fn configure(
        &self,
        _ctx: &Context,
        req: ConfigureRequest,
        resp: &mut ConfigureResponse<ProviderData>,
    ) {
        let Some(c) = resp.diagnostics.take(Config::read(&req.config)) else {
            return;
        };
        let mut diags = c.check();
        let env = &self.env;
        let api_domain = or_env(&c.api_domain, env, "DEFENTRY_API_DOMAIN");
        let username = or_env(&c.username, env, "DEFENTRY_USERNAME");
        let password = or_env(&c.password, env, "DEFENTRY_PASSWORD");
        let totp_secret = or_env(&c.totp_secret, env, "DEFENTRY_TOTP_SECRET");
        if let (None, Some(t)) = (c.totp_secret.known(), &totp_secret) {
            // From the environment, which validate could not see.
            totp::check_seed("DEFENTRY_TOTP_SECRET", t.expose(), &mut diags);
        }
        let keep_logged = c.keep_logged.known().copied().unwrap_or(false);
        let timeout = c
            .request_timeout
            .known()
            .map_or(DEFAULT_TIMEOUT, String::as_str);
        let timeout = duration::parse_positive(timeout).unwrap_or(Duration::from_secs(30));
        let rate_limit_timeout = c
            .rate_limit_timeout
            .known()
            .map_or(DEFAULT_RATE_LIMIT_TIMEOUT, String::as_str);
        let rate_limit_timeout =
            duration::parse_positive(rate_limit_timeout).unwrap_or(Duration::from_secs(600));
        let max_retries = c
            .max_retries
            .known()
            .and_then(|n| Config::retries(*n))
            .unwrap_or(DEFAULT_RETRIES);
        let ca_cert_pem = c.ca_cert_pem.known().cloned();

        // No network call here: a missing api_domain only matters to objects that need the API.
        let client = match api_domain {
            None => Err(Diagnostic::error(
                "Missing api_domain",
                "The Defentry API base URL is not set. Set `api_domain` in the provider block or export DEFENTRY_API_DOMAIN (for a local mock: http://127.0.0.1:PORT).",
            )
            .at(path(attr::API_DOMAIN))),
            Some(s) => match ApiDomain::parse(&s) {
                Err(e) => {
                    let d = Diagnostic::error(
                        "Invalid api_domain",
                        sentence(format!("{e} (from `api_domain` or DEFENTRY_API_DOMAIN)")),
                    )
                    .at(path(attr::API_DOMAIN));
                    if c.api_domain.is_null() {
                        // From the environment: validate could not see it.
                        diags.push(d.clone());
                    }
                    Err(d)
                }
                Ok(domain) => {
                    let mut cfg = ClientConfig::new(domain);
                    cfg.request_timeout = timeout;
                    cfg.max_retries = max_retries;
                    cfg.rate_limit_timeout = rate_limit_timeout;
                    cfg.ca_cert_pem = ca_cert_pem;
                    cfg.user_agent = format!(
                        "terraform-provider-defentry/{VERSION} (terraform {})",
                        if req.terraform_version.is_empty() { "unknown" } else { &req.terraform_version }
                    );
                    Client::new(cfg).map_err(|e| {
                        let d = Diagnostic::error("Invalid ca_cert_pem", sentence(e))
                            .at(path(attr::CA_CERT_PEM));
                        diags.push(d.clone());
                        d
                    })
                }
            },
        };
        let data = ProviderData {
            client,
            username,
            password,
            keep_logged,
            totp_secret,
        };
        resp.data = Some(data);
        resp.diagnostics.extend(diags);
    }

    fn resources(&self) -> Vec<Arc<dyn Resource<ProviderData>>> {
        vec![Arc::new(super::resources::token::TokenResource)]
    }

    fn data_sources(&self) -> Vec<Arc<dyn DataSource<ProviderData>>> {
        vec![Arc::new(super::data_sources::session::SessionDataSource)]
    }

    fn ephemeral_resources(&self) -> Vec<Arc<dyn EphemeralResource<ProviderData>>> {
        vec![Arc::new(
            super::ephemeral::session::SessionEphemeral::default(),
        )]
    }

    fn actions(&self) -> Vec<Arc<dyn Action<ProviderData>>> {
        vec![
            Arc::new(Checked(super::actions::logout::LogoutAction)),
            Arc::new(Checked(
                super::actions::password_forgot::PasswordForgotAction,
            )),
            Arc::new(Checked(super::actions::password_reset::PasswordResetAction)),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_model_names_the_schema_attributes() {
        let schema = DefentryProvider::default().schema();
        assert_eq!(
            crate::sdk::model::check_model::<Config>(&schema.block),
            Ok(())
        );
    }
}
