//! The refusals: RPCs of features this SDK does not implement (moving and generating
//! resource state, identities, list resources, functions, state storage) answer with a
//! diagnostic saying so, never with Unimplemented, so Terraform shows a readable error.

use super::super::convert;
use super::super::diag::{Diagnostic, Diagnostics};
use super::super::proto::tfplugin6 as pb;
use super::shape::EventStream;

fn unsupported(what: &str) -> Vec<pb::Diagnostic> {
    let d: Diagnostics = Diagnostic::error(
        format!("{what} not supported"),
        format!("This provider does not support {what}."),
    )
    .into();
    convert::diagnostics(d)
}

/// A stream of the one answer `item`.
fn once<T: Send + 'static>(item: T) -> EventStream<T> {
    Box::pin(futures_util::stream::iter([Ok(item)]))
}

/// The answer to every state-store RPC: this SDK serves providers, not state backends.
fn no_state_store() -> Vec<pb::Diagnostic> {
    unsupported("State storage")
}

/// Refusals whose answer is only `diagnostics` (the other fields, where any, stay empty):
/// `handler => pb module: the feature, as the diagnostic names it`.
macro_rules! refusals {
    ($($name:ident => $rpc:ident: $what:expr;)*) => {$(
        #[allow(clippy::needless_update)] // Some responses have no other field.
        pub(super) fn $name() -> pb::$rpc::Response {
            pb::$rpc::Response {
                diagnostics: $what,
                ..Default::default()
            }
        }
    )*};
}

refusals! {
    upgrade_resource_identity => upgrade_resource_identity: unsupported("Resource identity");
    move_resource_state => move_resource_state: unsupported("Moving resource state");
    generate_resource_config => generate_resource_config: unsupported("Generating configuration");
    validate_list_resource_config => validate_list_resource_config: unsupported("Listing resources");
    validate_state_store_config => validate_state_store: no_state_store();
    configure_state_store => configure_state_store: no_state_store();
    write_state_bytes => write_state_bytes: no_state_store();
    lock_state => lock_state: no_state_store();
    unlock_state => unlock_state: no_state_store();
    get_states => get_states: no_state_store();
    delete_state => delete_state: no_state_store();
}

pub(super) fn list_resource() -> EventStream<pb::list_resource::Event> {
    once(pb::list_resource::Event {
        diagnostic: unsupported("Listing resources"),
        ..Default::default()
    })
}

pub(super) fn call_function(r: pb::call_function::Request) -> pb::call_function::Response {
    pb::call_function::Response {
        result: None,
        error: Some(pb::FunctionError {
            text: format!("This provider has no function named {:?}.", r.name),
            function_argument: None,
        }),
    }
}

pub(super) fn read_state_bytes() -> EventStream<pb::read_state_bytes::Response> {
    once(pb::read_state_bytes::Response {
        diagnostics: no_state_store(),
        ..Default::default()
    })
}
