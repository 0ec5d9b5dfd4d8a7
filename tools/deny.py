#!/usr/bin/env python3
"""`make deny`: the dependency graph's licences, bans and sources against deny.toml.

Installs cargo-deny from crates.io once per machine (cargo's home, shared by every clone; a
second run only asks `cargo install --list`), then runs `cargo deny check licenses bans
sources`. Advisories stay out: their database is fetched from the network, which CI here
cannot reach.
"""

import subprocess
import sys

import devkit

CARGO_DENY = ("cargo-deny", "0.20.2")


def main():
    devkit.ensure_cargo_tool(*CARGO_DENY, log=devkit.logger("deny"))
    # deny.toml is found at the workspace root.
    p = subprocess.run(["cargo", "deny", "--locked", "check", "licenses", "bans", "sources"],
                       cwd=devkit.ROOT)
    sys.exit(p.returncode)


if __name__ == "__main__":
    main()
