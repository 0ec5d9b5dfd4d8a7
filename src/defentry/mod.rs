//! The Defentry API client and the Terraform provider built on the SDK.
pub mod client;
