//! The go-plugin transport Terraform uses to run providers: handshake, AutoMTLS, the gRPC
//! services next to `tfplugin6.Provider`, signal handling, debug (reattach) mode and
//! go-hclog-compatible logging.
//!
//! A provider binary needs only this:
//!
//! ```no_run
//! # use tfsdk::plugin::{init_logging, serve, ServeOpts};
//! # #[derive(Clone)]
//! # struct MyProvider;
//! # impl tfsdk::proto::tfplugin6::provider_server::Provider for MyProvider {}
//! # impl tfsdk::plugin::Shutdown for MyProvider {}
//! # async fn run() {
//! init_logging();
//! let opts = ServeOpts { provider_address: "registry.terraform.io/acme/foo".into(), debug: false };
//! if let Err(e) = serve(MyProvider, opts).await {
//!     eprintln!("{e}");
//!     std::process::exit(1);
//! }
//! # }
//! ```

mod controller;
mod error;
mod grpc;
mod handshake;
mod lifecycle;
mod listen;
mod logging;
mod opts;
mod serve;
mod signals;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod tls;

pub use error::PluginError;
pub use handshake::{MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE};
pub use logging::init_logging;
pub use opts::{ServeOpts, Shutdown};
pub use serve::serve;
