//! Generated protocol types. Kept crate-private: the SDK's public surface uses its own types.
#![allow(missing_docs, clippy::all, clippy::pedantic)]

pub mod tfplugin6 {
    tonic::include_proto!("tfplugin6");
}

pub mod plugin {
    tonic::include_proto!("plugin");
}
