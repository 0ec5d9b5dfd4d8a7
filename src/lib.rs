//! terraform-provider-defentry: a Terraform/OpenTofu provider for Defentry CRM
//! service-account sessions, written in Rust.
//!
//! - [`sdk`]: a provider SDK for Terraform's plugin protocol 6 that knows nothing of Defentry.
//! - [`defentry`]: the Defentry API client and the provider built on the SDK.
//!
//! defentry-mock, the offline stand-in for the Defentry CRM API, is the `defentry-mock` crate
//! in `src/mock/` (a workspace member), so the provider's dependency graph has no HTTP server.

pub mod defentry;
/// The SDK crate (src/sdk), under the name the provider's code uses for it.
pub use sdk;
