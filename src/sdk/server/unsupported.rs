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

pub(super) fn upgrade_resource_identity() -> pb::upgrade_resource_identity::Response {
    pb::upgrade_resource_identity::Response {
        upgraded_identity: None,
        diagnostics: unsupported("Resource identity"),
    }
}

pub(super) fn move_resource_state() -> pb::move_resource_state::Response {
    pb::move_resource_state::Response {
        diagnostics: unsupported("Moving resource state"),
        ..Default::default()
    }
}

pub(super) fn generate_resource_config() -> pb::generate_resource_config::Response {
    pb::generate_resource_config::Response {
        config: None,
        diagnostics: unsupported("Generating configuration"),
    }
}

pub(super) fn list_resource() -> EventStream<pb::list_resource::Event> {
    once(pb::list_resource::Event {
        diagnostic: unsupported("Listing resources"),
        ..Default::default()
    })
}

pub(super) fn validate_list_resource_config() -> pb::validate_list_resource_config::Response {
    pb::validate_list_resource_config::Response {
        diagnostics: unsupported("Listing resources"),
    }
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

pub(super) fn validate_state_store_config() -> pb::validate_state_store::Response {
    pb::validate_state_store::Response {
        diagnostics: no_state_store(),
    }
}

pub(super) fn configure_state_store() -> pb::configure_state_store::Response {
    pb::configure_state_store::Response {
        diagnostics: no_state_store(),
        ..Default::default()
    }
}

pub(super) fn write_state_bytes() -> pb::write_state_bytes::Response {
    pb::write_state_bytes::Response {
        diagnostics: no_state_store(),
    }
}

pub(super) fn lock_state() -> pb::lock_state::Response {
    pb::lock_state::Response {
        lock_id: String::new(),
        diagnostics: no_state_store(),
    }
}

pub(super) fn unlock_state() -> pb::unlock_state::Response {
    pb::unlock_state::Response {
        diagnostics: no_state_store(),
    }
}

pub(super) fn get_states() -> pb::get_states::Response {
    pb::get_states::Response {
        state_id: Vec::new(),
        diagnostics: no_state_store(),
    }
}

pub(super) fn delete_state() -> pb::delete_state::Response {
    pb::delete_state::Response {
        diagnostics: no_state_store(),
    }
}
