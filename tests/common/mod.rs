//! Shared end-to-end harness: the Terraforms under `.tools/bin`, a `defentry-mock` on a free
//! port, and a throw-away Terraform working directory wired to the freshly built provider.
//!
//! Everything here panics with context on failure (these are tests), and nothing waits a fixed
//! time: servers are ready when they print their readiness line. Each test owns its temp dirs
//! and mock, so tests run in parallel safely. A missing Terraform is a failure, never a skip:
//! run `make setup` (or `tools/ensure_terraform.py`).
//!
//! # Modules, and why there is no `allow(dead_code)`
//!
//! [`terraform`] (discovery: versions, oldest/newest), [`workspace`] (working directories and
//! Terraform runs), [`mock`] (the mock process, its HTTP endpoints and fixtures),
//! [`debug_provider`] (`--debug` and reattach), [`group`] (process groups for Ctrl-C),
//! [`state`] (state and clock helpers), and `process` (child-process plumbing they share).
//! Everything public is re-exported here, so `use common::*;` keeps working.
//!
//! A test file declares the harness with **`pub mod common;`**. Each test file is its own
//! crate and uses its own subset of the harness; rustc's dead-code lint treats the public
//! items of a test crate's public modules as reachable, so the subset a file leaves unused is
//! not reported, while private helpers here that nothing calls still are. (With a private
//! `mod common;` every unused helper would warn.)

pub mod debug_provider;
pub mod group;
pub mod mock;
mod process;
pub mod state;
pub mod terraform;
pub mod workspace;

use std::path::PathBuf;

pub use debug_provider::{parse_reattach_line, DebugProvider};
pub use group::GroupJob;
pub use mock::{
    default_user, mock_binary, Mock, ADMIN_PASSWORD, ADMIN_TOTP_SECRET, ADMIN_USER,
    SERVICE_PASSWORD, SERVICE_USER,
};
pub use state::{parse_rfc3339, s, token_of, unix_now, values_of, wait_until};
pub use terraform::{
    all_terraforms, newest_terraform, terraforms, too_old_for_write_only, Terraform,
    NO_EPHEMERAL_BLOCKS, NO_EPHEMERAL_VARIABLES, TF_VERSIONS_ENV, WRITE_ONLY_NOT_ALLOWED,
};
pub use terraform_provider_defentry::defentry::client::{
    LOGIN as LOGIN_PATH, LOGOUT as LOGOUT_PATH, PASSWORD_FORGOT as PASSWORD_FORGOT_PATH,
    PASSWORD_RESET as PASSWORD_RESET_PATH, TWO_FACTOR_SETUP as TWO_FACTOR_SETUP_PATH,
    TWO_FACTOR_VERIFY as TWO_FACTOR_VERIFY_PATH,
};
pub use workspace::{
    mirror_workspace, mirror_workspace_bare, terraform_platform, Output, Workspace,
};

/// Provider source address as users write it in `required_providers`.
pub const PROVIDER_SOURCE: &str = "defentry/defentry";
/// The `terraform { required_providers { ... } }` block every e2e configuration starts with.
pub const REQUIRED_PROVIDERS: &str = r#"
terraform {
  required_providers {
    defentry = {
      source = "defentry/defentry"
    }
  }
}
"#;
/// Fully qualified provider address (reattach keys, mirror layout, `show -json`).
pub const PROVIDER_ADDR: &str = "registry.terraform.io/defentry/defentry";
/// Provider version, as published to a mirror.
pub const PROVIDER_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The provider binary cargo built for this test run.
pub fn provider_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_terraform-provider-defentry"))
}

/// Quote a string for HCL (JSON string escapes are valid HCL escapes).
pub fn hcl_str(s: impl AsRef<str>) -> String {
    serde_json::to_string(s.as_ref()).expect("a string always serialises")
}

/// A configuration: the `required_providers` block, then `body`.
pub fn config(body: &str) -> String {
    format!("{REQUIRED_PROVIDERS}\n{body}")
}

/// One run of a test on one Terraform: a fresh mock and a workspace talking to it as the
/// default service account.
pub struct Setup {
    pub tf: Terraform,
    pub mock: Mock,
    pub ws: Workspace,
}

/// One [`Setup`] per Terraform of [`terraforms()`], oldest first, each set up only when the
/// loop reaches it. The loop most e2e tests open with:
///
/// ```text
/// for Setup { tf, mock, ws } in setups() { ... }
/// ```
pub fn setups() -> impl Iterator<Item = Setup> {
    setups_on(terraforms())
}

/// [`setups()`] over the Terraforms given.
pub fn setups_on(tfs: Vec<Terraform>) -> impl Iterator<Item = Setup> {
    tfs.into_iter().map(|tf| {
        let mock = Mock::start();
        let ws = Workspace::new(&tf, &mock);
        Setup { tf, mock, ws }
    })
}

/// Configurations with ephemeral variables need Terraform 1.11 (write-only arguments). On an
/// older `tf` this asserts that `terraform plan` refuses the configuration, with
/// `needle_on_1_10` on 1.10 (which has ephemeral variables) and [`NO_EPHEMERAL_VARIABLES`]
/// before, and that nothing logged in; it returns whether it did (the caller then skips the
/// rest).
pub fn plan_refused_before_1_11(
    tf: &Terraform,
    ws: &Workspace,
    mock: &Mock,
    needle_on_1_10: &str,
) -> bool {
    if tf.at_least(1, 11) {
        return false;
    }
    let needle = if tf.at_least(1, 10) {
        needle_on_1_10
    } else {
        NO_EPHEMERAL_VARIABLES
    };
    ws.refused(&["plan", "-input=false"], needle);
    assert_eq!(mock.sessions()["logins"], 0, "{tf}");
    true
}
