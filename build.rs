//! Compiles the tfplugin6 and go-plugin protocol definitions in proto/ for the SDK crate
//! (src/sdk, whose manifest names this script), with protox, so no system `protoc` is needed.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // This script runs for src/sdk/Cargo.toml; proto/ sits at the repository's top level.
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let proto = root.join("proto");
    let files = [
        "tfplugin6.proto",
        "plugin/grpc_controller.proto",
        "plugin/grpc_stdio.proto",
        "plugin/grpc_broker.proto",
    ]
    .map(|f| proto.join(f));
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
    }
    let fds = protox::compile(&files, [&proto])?;
    tonic_prost_build::configure()
        .build_server(true)
        // The client half drives the server in protocol tests, as Terraform would.
        .build_client(true)
        // No `connect` helpers: they need tonic's transport, which the SDK does not use.
        .build_transport(false)
        .generate_default_stubs(true)
        .compile_fds(fds)?;
    Ok(())
}
