//! A Rust SDK for Terraform's plugin protocol 6 (tfplugin6 over go-plugin gRPC).
//!
//! Nothing in this module knows about Defentry: it could become its own crate.
#![warn(missing_docs)]

pub mod action;
pub mod context;
mod convert;
pub mod cty;
pub mod data_source;
pub mod diag;
pub mod ephemeral;
pub mod plan;
pub mod plugin;
#[doc(hidden)]
pub mod proto;
pub mod provider;
pub mod resource;
pub mod schema;
pub mod server;

pub use context::{Cancelled, ClientCapabilities, Clock, Context};
pub use diag::{Diagnostic, Diagnostics, Severity};
pub use provider::Provider;
pub use server::ProviderServer;
