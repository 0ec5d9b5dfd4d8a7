//! The SDK serves a provider that is not Defentry: `examples/sdk-hello` under the real
//! Terraform CLI (oldest and newest), through `dev_overrides`, from plan to destroy.

pub mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{hcl_str, terraforms, Workspace};

/// Builds the example (a no-op when `cargo test` already did) and returns its directory.
fn example_dir() -> PathBuf {
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--example", "terraform-provider-hello"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("run cargo");
    assert!(
        status.success(),
        "cargo build --example terraform-provider-hello failed"
    );
    // Integration tests live in target/<profile>/deps; examples in target/<profile>/examples.
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>");
    let dir = profile_dir.join("examples");
    assert!(
        dir.join(format!(
            "terraform-provider-hello{}",
            std::env::consts::EXE_SUFFIX
        ))
        .is_file(),
        "no example binary in {}",
        dir.display()
    );
    dir
}

const CONFIG: &str = r#"
terraform {
  required_providers {
    hello = {
      source = "example.com/demo/hello"
    }
  }
}

variable "name" {
  type = string
}

resource "hello_greeting" "g" {
  name = var.name
}

output "message" {
  value = hello_greeting.g.message
}
"#;

#[test]
fn a_provider_built_only_on_the_sdk_plans_applies_and_replaces() {
    let dir = example_dir();
    for tf in terraforms() {
        let cli = format!(
            "provider_installation {{\n  dev_overrides {{\n    \"example.com/demo/hello\" = {}\n  }}\n  direct {{}}\n}}\n",
            hcl_str(dir.to_string_lossy())
        );
        let mut ws = Workspace::with_cli_config(&tf, &cli);
        ws.write("main.tf", CONFIG);
        ws.env("TF_VAR_name", "world");

        // The plan already shows what apply will produce.
        let plan = ws.plan();
        assert!(
            plan.stdout.contains(r#"+ message = "Hello, world!""#),
            "{}: {}",
            tf.label(),
            plan.stdout
        );
        ws.apply();
        let message = |ws: &Workspace| ws.output_json()["message"]["value"].clone();
        assert_eq!(message(&ws), "Hello, world!", "{}", tf.label());
        assert_eq!(
            ws.plan_exit_code(),
            0,
            "{}: no changes after apply",
            tf.label()
        );

        // A new name replaces the greeting (requires_replace), with the new message planned.
        ws.env("TF_VAR_name", "Terraform");
        let plan = ws.plan();
        assert!(
            plan.stdout.contains("must be replaced")
                && plan
                    .stdout
                    .contains(r#""Hello, world!" -> "Hello, Terraform!""#),
            "{}: {}",
            tf.label(),
            plan.stdout
        );
        ws.apply();
        assert_eq!(message(&ws), "Hello, Terraform!", "{}", tf.label());

        ws.destroy();
        assert!(
            ws.resources().is_empty(),
            "{}: state empty after destroy",
            tf.label()
        );
    }
}
