//! terraform-provider-defentry: the provider binary Terraform starts.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use terraform_provider_defentry::defentry::{docs, DefentryProvider};
use terraform_provider_defentry::sdk::plugin::{init_logging, serve, ServeOpts};
use terraform_provider_defentry::sdk::ProviderServer;

/// Command line; Terraform passes no arguments.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Run for a debugger: print a TF_REATTACH_PROVIDERS value and serve until Ctrl-C.
    #[arg(long)]
    debug: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Write the Registry documentation (docs/) from the provider's schemas, in the current directory.
    Docs {
        /// Only report pages that are missing or out of date; exit 1 if any.
        #[arg(long)]
        check: bool,
    },
}

fn run_docs(check: bool) -> ExitCode {
    let root = match std::env::current_dir() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot read the current directory: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = if check {
        docs::stale(&root).map(|stale| {
            for p in &stale {
                eprintln!("out of date: {}", p.display());
            }
            stale.is_empty()
        })
    } else {
        docs::write_all(&root).map(|()| true)
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("run `make docs` and commit the result");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("docs: {e}");
            ExitCode::FAILURE
        }
    }
}

// One thread: the provider waits on Terraform and the API, it does not compute. Worker
// threads (and their malloc arenas) cost ~0.2 ms and ~1 MiB of RSS at every start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(Command::Docs { check }) = args.command {
        return run_docs(check);
    }
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
