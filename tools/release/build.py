#!/usr/bin/env python3
"""Build, pack and sign a release into dist/, in the layout the Terraform and OpenTofu
registries ingest (see docs: README "Releasing").

  terraform-provider-defentry_<V>_<os>_<arch>.zip   one binary terraform-provider-defentry_v<V>[.exe]
  terraform-provider-defentry_<V>_manifest.json     {"version":1,"metadata":{"protocol_versions":["6.0"]}}
  terraform-provider-defentry_<V>_SHA256SUMS        every zip and the manifest
  terraform-provider-defentry_<V>_SHA256SUMS.sig    detached binary GPG signature (RSA key)

Signing key, first match wins:
  GPG_PRIVATE_KEY (armored secret key, PASSPHRASE if it has one) imported into a temporary keyring;
  GPG_FINGERPRINT: that key from the caller's keyring (GNUPGHOME);
  otherwise a throwaway RSA key in a temporary keyring (refused when CI is set: a real release
  must not be signed with a key nobody has).
The public key used is written to .work/release/signing-key.asc for `check` and the registry.

Targets are built one after another with cargo-zigbuild (tools/release/ensure_toolchain.py
installs it): Linux against glibc 2.17, darwin against the framework stubs in tools/release/darwin-sdk.
"""

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile

HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import devkit  # noqa: E402
import ensure_toolchain  # noqa: E402

ROOT = devkit.ROOT
NAME = devkit.PROVIDER_BINARY
WORK = os.path.join(ROOT, ".work", "release")
DARWIN_SDK = os.path.join(HERE, "darwin-sdk")
# zig 0.16 for darwin (see ensure_toolchain.py), in a target dir of its own so that the two zig
# versions never share build artifacts.
DARWIN_ZIG_LIB = os.path.join(ROOT, ".work", "release-zig-darwin", "lib")
DARWIN_TARGET_DIR = os.path.join(ROOT, "target", "darwin")

# (os, arch) -> (cargo target as cargo-zigbuild takes it, rust target directory name)
PLATFORMS = {
    ("linux", "amd64"): ("x86_64-unknown-linux-gnu.2.17", "x86_64-unknown-linux-gnu"),
    ("linux", "arm64"): ("aarch64-unknown-linux-gnu.2.17", "aarch64-unknown-linux-gnu"),
    ("darwin", "amd64"): ("x86_64-apple-darwin", "x86_64-apple-darwin"),
    ("darwin", "arm64"): ("aarch64-apple-darwin", "aarch64-apple-darwin"),
    ("windows", "amd64"): ("x86_64-pc-windows-gnu", "x86_64-pc-windows-gnu"),
}
MANIFEST = {"version": 1, "metadata": {"protocol_versions": ["6.0"]}}
# Fixed timestamp inside the zips, so an unchanged binary gives an unchanged zip.
ZIP_TIME = (2020, 1, 1, 0, 0, 0)


log = devkit.logger("release build")


def fail(msg):
    sys.exit(f"release build: FAILED: {msg}")


def run(cmd, **kw):
    log("$ " + " ".join(cmd))
    return subprocess.run(cmd, check=True, **kw)


def version():
    with open(os.path.join(ROOT, "Cargo.toml"), "rb") as f:
        return tomllib.load(f)["package"]["version"]


def names(v):
    """File names of a release, by role."""
    base = f"{NAME}_{v}"
    return {
        "zip": lambda os_, arch: f"{base}_{os_}_{arch}.zip",
        "binary": lambda os_: f"{NAME}_v{v}" + (".exe" if os_ == "windows" else ""),
        "manifest": f"{base}_manifest.json",
        "sums": f"{base}_SHA256SUMS",
        "sig": f"{base}_SHA256SUMS.sig",
    }


def require_clean_tree():
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=normal"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    if dirty.strip():
        fail("the git tree has uncommitted changes; commit them or set ALLOW_DIRTY=1:\n" + dirty)


def toolchain_env():
    bin_dir = ensure_toolchain.ensure()
    env = dict(os.environ)
    env["PATH"] = bin_dir + os.pathsep + env["PATH"]
    # The framework stubs stand in for macOS's Security and CoreFoundation at link time.
    for triple in ("X86_64_APPLE_DARWIN", "AARCH64_APPLE_DARWIN"):
        env[f"CARGO_TARGET_{triple}_RUSTFLAGS"] = f"-C link-arg=-F{DARWIN_SDK}"
    return env


def platform_env(platform, env):
    """The environment and target directory cargo builds `platform` with."""
    if platform[0] != "darwin":
        return env, os.path.join(ROOT, "target")
    # cargo-zigbuild runs `python3 -m ziglang` from the venv: PYTHONPATH makes that the 0.16
    # package. Its wrapper scripts for these targets go to a cache dir of their own.
    env = dict(env, PYTHONPATH=DARWIN_ZIG_LIB,
               CARGO_ZIGBUILD_CACHE_DIR=os.path.join(ROOT, ".work", "zigbuild-darwin"),
               CARGO_TARGET_DIR=DARWIN_TARGET_DIR)
    return env, DARWIN_TARGET_DIR


def build(platform, profile, env):
    target, triple = PLATFORMS[platform]
    env, target_dir = platform_env(platform, env)
    run(
        ["cargo", "zigbuild", "--locked", "--profile", profile, "--target", target,
         "--bin", NAME],
        cwd=ROOT, env=env,
    )
    profile_dir = "release" if profile == "release" else profile
    exe = NAME + (".exe" if platform[0] == "windows" else "")
    path = os.path.join(target_dir, triple, profile_dir, exe)
    if not os.path.isfile(path):
        fail(f"cargo built no {path}")
    return path


def pack(binary, entry, zip_path):
    info = zipfile.ZipInfo(entry, date_time=ZIP_TIME)
    info.external_attr = 0o100755 << 16  # a regular executable file
    info.create_system = 3  # unix, so the mode above is honoured on extraction
    info.compress_type = zipfile.ZIP_DEFLATED
    with open(binary, "rb") as f, zipfile.ZipFile(zip_path, "w") as z:
        z.writestr(info, f.read(), compresslevel=9)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def gpg(home, *args, **kw):
    return run(["gpg", "--homedir", home, "--batch", "--yes", *args], **kw)


def signing_keyring(tmp):
    """(GNUPGHOME, key selector, extra gpg args) for the key that signs this release."""
    secret = os.environ.get("GPG_PRIVATE_KEY", "").strip()
    passphrase = os.environ.get("PASSPHRASE", "")
    pass_args = ["--pinentry-mode", "loopback", "--passphrase", passphrase] if passphrase else []
    if secret:
        home = os.path.join(tmp, "gnupg")
        os.mkdir(home, 0o700)
        gpg(home, *pass_args, "--import", input=secret.encode(), capture_output=True)
        fpr = only_secret_key(home)
        return home, fpr, pass_args
    fpr = os.environ.get("GPG_FINGERPRINT", "").strip()
    if fpr:
        home = os.environ.get("GNUPGHOME", os.path.expanduser("~/.gnupg"))
        return home, fpr, pass_args
    if os.environ.get("CI"):
        fail("CI is set but neither GPG_PRIVATE_KEY nor GPG_FINGERPRINT is: refusing to sign "
             "a release with a throwaway key")
    log("no GPG_PRIVATE_KEY or GPG_FINGERPRINT: signing with a THROWAWAY RSA key "
        "(fine for proofs, not for publishing)")
    home = os.path.join(tmp, "gnupg")
    os.mkdir(home, 0o700)
    return home, throwaway_key(home), []


def throwaway_key(home, uid="defentry release proof (throwaway) <release@invalid>"):
    """Generates an RSA signing key without a passphrase in `home`; returns its fingerprint."""
    gpg(home, "--passphrase", "", "--quick-generate-key", uid, "rsa3072", "sign", "1d",
        capture_output=True)
    return only_secret_key(home)


def only_secret_key(home):
    out = subprocess.run(
        ["gpg", "--homedir", home, "--batch", "--with-colons", "--list-secret-keys"],
        check=True, capture_output=True, text=True,
    ).stdout
    fprs = []
    seen_sec = False
    for line in out.splitlines():
        fields = line.split(":")
        if fields[0] == "sec":
            seen_sec = True
            if fields[3] != "1":  # public-key algorithm 1 = RSA
                fail("the signing key is not RSA; the Terraform Registry accepts RSA keys only")
        elif fields[0] == "fpr" and seen_sec:
            fprs.append(fields[9])
            seen_sec = False
    if len(fprs) != 1:
        fail(f"expected exactly one secret key in the signing keyring, found {len(fprs)}")
    return fprs[0]


def sign(sums_path, sig_path, tmp):
    home, fpr, pass_args = signing_keyring(tmp)
    gpg(home, *pass_args, "--local-user", fpr, "--detach-sign", "--output", sig_path, sums_path)
    os.makedirs(WORK, exist_ok=True)
    with open(os.path.join(WORK, "signing-key.asc"), "wb") as f:
        f.write(subprocess.run(
            ["gpg", "--homedir", home, "--batch", "--armor", "--export", fpr],
            check=True, capture_output=True,
        ).stdout)
    with open(os.path.join(WORK, "signing-key.fingerprint"), "w") as f:
        f.write(fpr + "\n")
    log(f"signed {os.path.basename(sums_path)} with key {fpr}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dist", default=os.path.join(ROOT, "dist"))
    ap.add_argument("--profile", default=os.environ.get("RELEASE_PROFILE", "release"),
                    help="cargo profile (default release; a faster one while iterating)")
    ap.add_argument("--platform", action="append",
                    help="os_arch to build (repeatable; default all five)")
    args = ap.parse_args()

    if os.environ.get("ALLOW_DIRTY") not in ("1", "true", "yes"):
        require_clean_tree()
    platforms = list(PLATFORMS)
    if args.platform:
        platforms = [tuple(p.split("_", 1)) for p in args.platform]
        unknown = [p for p in platforms if p not in PLATFORMS]
        if unknown:
            fail(f"unknown platform(s) {unknown}; known: {['_'.join(p) for p in PLATFORMS]}")

    v = version()
    n = names(v)
    env = toolchain_env()
    # Build everything before touching dist/, so a failed build leaves no half release.
    built = {p: build(p, args.profile, env) for p in platforms}

    shutil.rmtree(args.dist, ignore_errors=True)
    os.makedirs(args.dist)
    files = []
    for (os_, arch), binary in built.items():
        zip_name = n["zip"](os_, arch)
        pack(binary, n["binary"](os_), os.path.join(args.dist, zip_name))
        files.append(zip_name)
    with open(os.path.join(args.dist, n["manifest"]), "w") as f:
        json.dump(MANIFEST, f, separators=(",", ":"))
    files.append(n["manifest"])
    sums = os.path.join(args.dist, n["sums"])
    with open(sums, "w") as f:
        for name in sorted(files):
            f.write(f"{sha256(os.path.join(args.dist, name))}  {name}\n")
    with tempfile.TemporaryDirectory(prefix="release-gpg-") as tmp:
        sign(sums, os.path.join(args.dist, n["sig"]), tmp)
    log(f"dist/ holds {len(files) + 2} files for {NAME} {v}")


if __name__ == "__main__":
    main()
