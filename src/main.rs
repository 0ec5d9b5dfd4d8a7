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

// One thread: the provider waits on Terraform and the API, it does not compute. Worker
// threads (and their malloc arenas) cost ~0.2 ms and ~1 MiB of RSS at every start.
#[tokio::main(flavor = "current_thread")]
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
