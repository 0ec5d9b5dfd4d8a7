#!/usr/bin/env python3
"""Install what `make release` needs, idempotently; a second run installs nothing.

* rustup targets for the five platforms;
* zig and cargo-zigbuild from PyPI (binary wheels, no compile) into .work/release-venv,
  with `zig` and `cargo-zigbuild` linked into its bin/ (put that on PATH; tools/release/build.py
  does);
* cargo-cyclonedx from crates.io (the SBOM), into cargo's home;
* Debian packages via apt-get, only those missing: gnupg and zip (signing, packing),
  wine64 (runs the Windows build), qemu-user-static and libc6-arm64-cross (run the
  linux_arm64 build).

Prints the bin directory to put on PATH as its last stdout line. zig 0.16.0 for darwin (see
DARWIN_ZIG) goes to .work/release-zig-darwin/lib.
"""

import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
import devkit  # noqa: E402

ROOT = devkit.ROOT
VENV = os.path.join(ROOT, ".work", "release-venv")
VENV_BIN = os.path.join(VENV, "bin")

TARGETS = [
    "x86_64-unknown-linux-gnu",
    "aarch64-unknown-linux-gnu",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
    "x86_64-pc-windows-gnu",
]
CARGO_TOOLS = [("cargo-cyclonedx", "0.5.9")]
PIP_PACKAGES = ["ziglang==0.15.2", "cargo-zigbuild==0.24.1"]
# darwin links need a newer zig: 0.13 to 0.15.2's Mach-O linker segfaults on aws-lc's
# s2n-bignum assembly objects (they lack MH_SUBSECTIONS_VIA_SYMBOLS); 0.16.0 links them.
# Linux and Windows stay on 0.15.2, which cargo-zigbuild 0.24.1 is known to work with.
DARWIN_ZIG = "ziglang==0.16.0"
DARWIN_ZIG_LIB = os.path.join(ROOT, ".work", "release-zig-darwin", "lib")
# Debian package -> a file it installs (how we tell it is there).
APT_PACKAGES = {
    "gnupg": "/usr/bin/gpg",
    "zip": "/usr/bin/zip",
    "wine64": "/usr/lib/wine/wine64",
    "qemu-user-static": "/usr/bin/qemu-aarch64-static",
    "libc6-arm64-cross": "/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1",
}


log = devkit.logger("ensure-toolchain")
run = devkit.runner(log)


def rust_targets():
    installed = subprocess.run(
        ["rustup", "target", "list", "--installed"], check=True, capture_output=True, text=True
    ).stdout.split()
    missing = [t for t in TARGETS if t not in installed]
    if missing:
        run(["rustup", "target", "add", *missing])


def python_tools():
    py = os.path.join(VENV_BIN, "python")
    if not os.path.exists(py):
        run([sys.executable, "-m", "venv", VENV])
    stamp = os.path.join(VENV, ".installed")
    want = "\n".join(PIP_PACKAGES)
    if not (os.path.exists(stamp) and open(stamp).read() == want):
        run([py, "-m", "pip", "install", "--quiet", "--only-binary=:all:", *PIP_PACKAGES])
        with open(stamp, "w") as f:
            f.write(want)
    # The ziglang wheel ships the zig executable inside the package; expose it as `zig`.
    zig = os.path.join(VENV_BIN, "zig")
    if not os.path.exists(zig):
        pkg = subprocess.run(
            [py, "-c", "import ziglang, os; print(os.path.dirname(ziglang.__file__))"],
            check=True, capture_output=True, text=True,
        ).stdout.strip()
        os.symlink(os.path.join(pkg, "zig"), zig)
    for tool in ("zig", "cargo-zigbuild"):
        if not os.access(os.path.join(VENV_BIN, tool), os.X_OK):
            sys.exit(f"ensure-toolchain: {tool} missing from {VENV_BIN} after install")
    # The darwin zig: the same wheel, installed into a plain directory that tools/release/build.py
    # puts on PYTHONPATH for darwin builds, so that cargo-zigbuild's `python3 -m ziglang` finds it.
    darwin_zig = os.path.join("ziglang", "zig")
    if not os.path.exists(os.path.join(DARWIN_ZIG_LIB, darwin_zig)):
        log(f"installing {DARWIN_ZIG} from PyPI into {DARWIN_ZIG_LIB}")
        devkit.pip_target(DARWIN_ZIG, DARWIN_ZIG_LIB, darwin_zig, ["--only-binary=:all:"],
                          python=py)


def cargo_tool(crate, version):
    """`cargo install --locked crate@version` into cargo's home (so every clone on this machine
    shares it) unless `cargo install --list` already shows that version: a second call costs
    one cargo invocation."""
    listed = subprocess.run(["cargo", "install", "--list"], check=True, capture_output=True,
                            text=True).stdout
    if f"{crate} v{version}:" in listed.splitlines():
        return
    log(f"installing {crate} {version} from crates.io (once per machine; a few minutes)")
    subprocess.run(["cargo", "install", "--locked", "--quiet", f"{crate}@{version}"], check=True)


def apt_packages():
    missing = [pkg for pkg, path in APT_PACKAGES.items() if not os.path.exists(path)]
    if not missing:
        return
    if shutil.which("apt-get") is None:
        sys.exit(f"ensure-toolchain: missing {', '.join(missing)} and no apt-get; install them")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(sudo + ["apt-get", "update", "-qq"], env=env)
    run(sudo + ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], env=env)
    still = [pkg for pkg, path in APT_PACKAGES.items() if not os.path.exists(path)]
    if still:
        sys.exit(f"ensure-toolchain: {', '.join(still)} did not install the expected files")


def ensure():
    """Installs whatever is missing; returns the bin directory to put on PATH."""
    rust_targets()
    for crate, version in CARGO_TOOLS:
        cargo_tool(crate, version)
    python_tools()
    apt_packages()
    return VENV_BIN


def main():
    try:
        print(ensure())
    except devkit.ToolError as e:
        sys.exit(f"ensure-toolchain: {e}")


if __name__ == "__main__":
    main()
