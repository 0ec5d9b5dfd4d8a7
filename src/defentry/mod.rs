//! The Defentry API client and the Terraform provider built on the SDK.

pub mod actions;
pub mod attr;
pub mod client;
pub mod data;
pub mod data_sources;
pub mod diagnostics;
pub mod docs;
pub mod ephemeral;
pub mod op;
pub mod provider;
pub mod resources;
pub mod session;
pub mod time;

pub use provider::DefentryProvider;
