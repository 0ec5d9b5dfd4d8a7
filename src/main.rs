//! terraform-provider-defentry: the provider binary Terraform starts.

use std::process::ExitCode;

use clap::Parser;
use terraform_provider_defentry::sdk::plugin::{init_logging, serve, ServeOpts};
use terraform_provider_defentry::sdk::proto::tfplugin6::provider_server::Provider;

/// Command line; Terraform passes no arguments.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Run for a debugger: print a TF_REATTACH_PROVIDERS value and serve until Ctrl-C.
    #[arg(long)]
    debug: bool,
}

/// Stand-in until the real provider is wired in: every RPC answers Unimplemented.
struct Placeholder;

impl Provider for Placeholder {}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    init_logging();
    let opts = ServeOpts {
        provider_address: "registry.terraform.io/defentry/defentry".to_owned(),
        debug: args.debug,
    };
    match serve(Placeholder, opts).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Plain text for a human running the binary by hand; stdout stays untouched.
            use std::io::Write as _;
            let _ = writeln!(std::io::stderr(), "{e}");
            ExitCode::FAILURE
        }
    }
}
