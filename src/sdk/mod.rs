//! A Rust SDK for Terraform's plugin protocol 6 (tfplugin6 over go-plugin gRPC).
//!
//! A crate of its own (`tfsdk`, src/sdk in the provider's workspace): it cannot name the
//! provider built on it, so nothing here knows about Defentry.
//!
//! # Building a provider
//!
//! `examples/sdk-hello/main.rs` is a complete one in a few dozen lines. The steps:
//!
//! 1. Each object type is a struct implementing [`object::ObjectType`] (its type name, its
//!    [`schema::Schema`], static validation) and the trait of its kind:
//!    [`resource::Resource`], [`data_source::DataSource`], [`ephemeral::EphemeralResource`] or
//!    [`action::Action`]. Their docs say what each method may change and what Terraform checks
//!    afterwards; only `create` and `delete` (resources), `read` (data sources), `open`
//!    (ephemeral resources) and `invoke` (actions) have no default.
//! 2. Every method has the same shape, `(ctx, data, req, &mut resp)`. The response arrives
//!    pre-filled with the right answer for a method that changes nothing; the method changes
//!    what it decides and adds problems to `resp.diagnostics` ([`Diagnostics::take`] turns a
//!    failed step into a diagnostic and an early return). An error never loses an object: a
//!    resource leaves in its response the state as it now is.
//! 3. Values are [`cty::Value`]s; read and write them as structs with [`model::from_value`],
//!    [`model::to_value`] and, in a plan, [`model::update_value`], using [`model::Maybe`] for
//!    attributes that may be null or unknown. [`model::check_model`] in a unit test proves the
//!    struct and the schema agree. Private state is typed the same way ([`private::Private`]).
//! 4. The provider is an [`object::ObjectType`] for its own block plus [`Provider`]: `configure`
//!    builds the data every method receives (an API client, defaults) and lists the object types.
//! 5. `main` calls [`plugin::serve`] with [`ProviderServer::new`]. Time comes from
//!    [`Context::now`], so tests can fix it ([`ProviderServer::with_clock`], [`Context::with_clock`]);
//!    a stopped [`Context`] means Terraform asked to stop: start no new remote work.
//! 6. [`docs::DocsSource`] renders Registry documentation from the schemas and templates.
#![warn(missing_docs)]

pub mod action;
pub mod context;
mod convert;
pub mod cty;
pub mod data_source;
pub mod diag;
pub mod docs;
pub mod ephemeral;
pub mod errors;
pub mod model;
pub mod object;
pub mod plan;
pub mod plugin;
pub mod private;
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
