//! terraform-provider-defentry: the provider binary Terraform starts.

use std::process::ExitCode;

use clap::Parser;
use terraform_provider_defentry::defentry::DefentryProvider;
use terraform_provider_defentry::sdk::plugin::{init_logging, serve, ServeOpts};
use terraform_provider_defentry::sdk::ProviderServer;

/// Command line; Terraform passes no arguments.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Run for a debugger: print a TF_REATTACH_PROVIDERS value and serve until Ctrl-C.
    #[arg(long)]
    debug: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    init_logging();
    let opts = ServeOpts {
        provider_address: "registry.terraform.io/defentry/defentry".to_owned(),
        debug: args.debug,
    };
    match serve(ProviderServer::new(DefentryProvider::default()), opts).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Plain text for a human running the binary by hand; stdout stays untouched.
            use std::io::Write as _;
            let _ = writeln!(std::io::stderr(), "{e}");
            ExitCode::FAILURE
        }
    }
}
