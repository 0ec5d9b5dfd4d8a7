//! Generated protocol types. Public only for protocol-level tests; the SDK surface uses its own types.
#![allow(missing_docs, dead_code, clippy::all, clippy::pedantic)]

pub mod tfplugin6 {
    tonic::include_proto!("tfplugin6");
}

pub mod plugin {
    tonic::include_proto!("plugin");
}
