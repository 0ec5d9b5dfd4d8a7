//! A Rust SDK for Terraform's plugin protocol 6 (tfplugin6 over go-plugin gRPC).
//!
//! Nothing in this module knows about Defentry: it could become its own crate.
#![warn(missing_docs)]

pub mod cty;
pub mod plugin;
#[doc(hidden)]
pub mod proto;
