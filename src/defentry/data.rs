//! What every Defentry object receives once the provider is configured. A module of its own,
//! so that the objects need not import the provider that lists them.

use crate::sdk::Diagnostic;

use super::client::{Client, Secret};

/// What every Defentry object receives once the provider is configured.
pub struct ProviderData {
    /// The client, or why there is none; built by `DefentryProvider::configure`.
    pub(super) client: Result<Client, Diagnostic>,
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
