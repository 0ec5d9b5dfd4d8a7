//! The `defentry` provider: its configuration and the objects it offers.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::sdk::action::Action;
use crate::sdk::cty::{AttributePath, Type, Value};
use crate::sdk::data_source::DataSource;
use crate::sdk::ephemeral::EphemeralResource;
use crate::sdk::provider::{ConfigureRequest, ConfigureResponse, ValidateRequest};
use crate::sdk::resource::Resource;
use crate::sdk::schema::{Attribute, Block, Schema};
use crate::sdk::{Context, Diagnostic, Diagnostics, Provider};

use super::client::{ApiDomain, Client, ClientConfig, Secret};
use super::diagnostics::sentence;
use super::duration;
use super::session::check_totp_secret;

/// Provider attribute names.
pub mod attr {
    /// Base URL of the Defentry API.
    pub const API_DOMAIN: &str = "api_domain";
    /// Default account name.
    pub const USERNAME: &str = "username";
    /// Default password.
    pub const PASSWORD: &str = "password";
    /// Default keep_logged.
    pub const KEEP_LOGGED: &str = "keep_logged";
    /// Per-attempt timeout.
    pub const REQUEST_TIMEOUT: &str = "request_timeout";
    /// Retries after the first attempt.
    pub const MAX_RETRIES: &str = "max_retries";
    /// Extra trusted CA certificates.
    pub const CA_CERT_PEM: &str = "ca_cert_pem";
    /// Default TOTP seed for interactive logins.
    pub const TOTP_SECRET: &str = "totp_secret";
}

/// The provider's version, reported in the User-Agent and the docs.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
const DEFAULT_TIMEOUT: &str = "30s";
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

/// What every Defentry object receives once the provider is configured.
pub struct ProviderData {
    client: Result<Client, Diagnostic>,
    /// Default account name.
    pub username: Option<String>,
    /// Default password.
    pub password: Option<Secret>,
    /// Default keep_logged.
    pub keep_logged: bool,
    /// Default TOTP seed.
    pub totp_secret: Option<Secret>,
}

impl ProviderData {
    /// The API client, or the diagnostic explaining why there is none (e.g. no `api_domain`).
    pub fn client(&self) -> Result<&Client, Diagnostic> {
        self.client.as_ref().map_err(Clone::clone)
    }

    /// Data for tests and tools: a client plus default credentials.
    pub fn new(client: Client, username: Option<String>, password: Option<Secret>) -> Self {
        Self {
            client: Ok(client),
            username,
            password,
            keep_logged: false,
            totp_secret: None,
        }
    }
}

fn path(name: &str) -> AttributePath {
    AttributePath::attr(name)
}

fn string_or_env(config: &Value, name: &str, env: &EnvLookup, var: &str) -> Option<String> {
    config
        .attr(name)
        .as_str()
        .map(str::to_string)
        .or_else(|| env(var))
}

/// Checks the static settings; `known_only` skips unknown values (validate time).
fn check_settings(config: &Value) -> Diagnostics {
    let mut d = Diagnostics::new();
    if let Some(s) = config.attr(attr::API_DOMAIN).as_str() {
        if let Err(e) = ApiDomain::parse(s) {
            d.attr_error(path(attr::API_DOMAIN), "Invalid api_domain", sentence(e));
        }
    }
    if let Some(s) = config.attr(attr::REQUEST_TIMEOUT).as_str() {
        if let Err(e) = duration::parse_positive(s) {
            d.attr_error(
                path(attr::REQUEST_TIMEOUT),
                "Invalid request_timeout",
                format!("request_timeout {e}."),
            );
        }
    }
    if let Some(n) = config.attr(attr::MAX_RETRIES).as_number() {
        let ok = n.is_integer()
            && n.to_string()
                .parse::<u32>()
                .is_ok_and(|v| v <= MAX_RETRIES_LIMIT);
        if !ok {
            d.attr_error(
                path(attr::MAX_RETRIES),
                "Invalid max_retries",
                format!(
                    "max_retries must be a whole number from 0 to {MAX_RETRIES_LIMIT}; {n} is not."
                ),
            );
        }
    }
    if let Some(s) = config.attr(attr::TOTP_SECRET).as_str() {
        if let Err(e) = check_totp_secret(s) {
            d.attr_error(
                path(attr::TOTP_SECRET),
                "Invalid totp_secret",
                format!("totp_secret {e}."),
            );
        }
    }
    d
}

#[async_trait]
impl Provider for DefentryProvider {
    type Data = ProviderData;

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
                    .description("How many times a request is retried after a network error, HTTP 429, 502, 503 or 504, with exponential backoff and `Retry-After` honoured. Rejected credentials and validation errors are never retried.")
                    .default_doc(DEFAULT_RETRIES.to_string()),
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

    async fn validate(&self, req: ValidateRequest) -> Diagnostics {
        check_settings(&req.config)
    }

    async fn configure(
        &self,
        _ctx: &Context,
        req: ConfigureRequest,
    ) -> ConfigureResponse<ProviderData> {
        let c = &req.config;
        let mut diags = check_settings(c);
        let env = &self.env;
        let api_domain = string_or_env(c, attr::API_DOMAIN, env, "DEFENTRY_API_DOMAIN");
        let username = string_or_env(c, attr::USERNAME, env, "DEFENTRY_USERNAME");
        let password = string_or_env(c, attr::PASSWORD, env, "DEFENTRY_PASSWORD").map(Secret::new);
        let totp_secret =
            string_or_env(c, attr::TOTP_SECRET, env, "DEFENTRY_TOTP_SECRET").map(Secret::new);
        if c.attr(attr::TOTP_SECRET).is_null() {
            // From the environment, which validate could not see.
            if let Some(Err(e)) = totp_secret.as_ref().map(|t| check_totp_secret(t.expose())) {
                diags.attr_error(
                    path(attr::TOTP_SECRET),
                    "Invalid DEFENTRY_TOTP_SECRET",
                    format!("DEFENTRY_TOTP_SECRET {e}."),
                );
            }
        }
        let keep_logged = c.attr(attr::KEEP_LOGGED).as_bool().unwrap_or(false);
        let timeout = c
            .attr(attr::REQUEST_TIMEOUT)
            .as_str()
            .unwrap_or(DEFAULT_TIMEOUT);
        let timeout = duration::parse_positive(timeout).unwrap_or(Duration::from_secs(30));
        let max_retries = c
            .attr(attr::MAX_RETRIES)
            .as_number()
            .and_then(|n| n.to_string().parse::<u32>().ok())
            .unwrap_or(DEFAULT_RETRIES);
        let ca_cert_pem = c.attr(attr::CA_CERT_PEM).as_str().map(str::to_string);

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
                    if c.attr(attr::API_DOMAIN).is_null() {
                        // From the environment: validate could not see it.
                        diags.push(d.clone());
                    }
                    Err(d)
                }
                Ok(domain) => {
                    let mut cfg = ClientConfig::new(domain);
                    cfg.request_timeout = timeout;
                    cfg.max_retries = max_retries;
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
        ConfigureResponse {
            data: Some(data),
            diagnostics: diags,
        }
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
            Arc::new(super::actions::logout::LogoutAction),
            Arc::new(super::actions::password_forgot::PasswordForgotAction),
            Arc::new(super::actions::password_reset::PasswordResetAction),
        ]
    }
}
