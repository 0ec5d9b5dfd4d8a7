#!/usr/bin/env python3
"""Build, pack and sign a release into dist/, in the layout the Terraform and OpenTofu
registries ingest (see docs: README "Releasing").

  terraform-provider-defentry_<V>_<os>_<arch>.zip   one binary terraform-provider-defentry_v<V>[.exe]
  terraform-provider-defentry_<V>_manifest.json     {"version":1,"metadata":{"protocol_versions":["6.0"]}}
  terraform-provider-defentry_<V>_SHA256SUMS        every zip and the manifest
  terraform-provider-defentry_<V>_SHA256SUMS.sig    detached binary GPG signature (RSA key)

and beside them, named so that registries ignore them (no `terraform-provider-` prefix):

  defentry-mock_<V>_<os>_<arch>.zip                 one binary defentry-mock[.exe]
  defentry_<V>_<os>_<arch>_sbom.cdx.json            CycloneDX SBOM: the crates in that provider
  defentry_<V>_SHA256SUMS                           the mock zips and the SBOMs
  defentry_<V>_SHA256SUMS.sig                       detached binary GPG signature, same key

The second sums file keeps the provider's SHA256SUMS to exactly what the registries know:
Terraform writes a `zh:` hash into every user's lock file for each line of that file.

Reproducible: the same commit gives the same zips wherever it is checked out. Paths are
remapped (--remap-path-prefix for Rust, -ffile-prefix-map for the C in aws-lc), the zips'
timestamps are SOURCE_DATE_EPOCH (default: the commit's time), entries have fixed modes and
order; the release profile has codegen-units = 1. `check.py`'s `reproducible` proof rebuilds
linux_amd64 in a clone in another directory and compares.

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
import time
import tomllib
import zipfile

HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import devkit  # noqa: E402
import ensure_toolchain  # noqa: E402

ROOT = devkit.ROOT
NAME = devkit.PROVIDER_BINARY
MOCK = devkit.MOCK_BINARY
WORK = os.path.join(ROOT, ".work", "release")
DARWIN_SDK = os.path.join(HERE, "darwin-sdk")
# zig 0.16 for darwin (see ensure_toolchain.py), in a target dir of its own so that the two zig
# versions never share build artifacts.
DARWIN_ZIG_LIB = ensure_toolchain.DARWIN_ZIG_LIB
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
# Where the build's own paths appear in what it compiles (panic locations, C __FILE__s).
REMAP_ROOT = "/build"
REMAP_CARGO_HOME = "/cargo"


log = devkit.logger("release build")
run = devkit.runner(log)


def fail(msg):
    sys.exit(f"release build: FAILED: {msg}")


def version():
    with open(os.path.join(ROOT, "Cargo.toml"), "rb") as f:
        return tomllib.load(f)["package"]["version"]


def names(v):
    """File names of a release, by role."""
    base = f"{NAME}_{v}"
    exe = lambda os_: ".exe" if os_ == "windows" else ""  # noqa: E731
    return {
        "zip": lambda os_, arch: f"{base}_{os_}_{arch}.zip",
        "binary": lambda os_: f"{NAME}_v{v}" + exe(os_),
        "manifest": f"{base}_manifest.json",
        "sums": f"{base}_SHA256SUMS",
        "sig": f"{base}_SHA256SUMS.sig",
        "mock_zip": lambda os_, arch: f"{MOCK}_{v}_{os_}_{arch}.zip",
        "mock_binary": lambda os_: MOCK + exe(os_),
        "sbom": lambda os_, arch: f"defentry_{v}_{os_}_{arch}_sbom.cdx.json",
        "extra_sums": f"defentry_{v}_SHA256SUMS",
        "extra_sig": f"defentry_{v}_SHA256SUMS.sig",
    }


def git(*args):
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True,
                          text=True).stdout.strip()


def source_date_epoch():
    """SOURCE_DATE_EPOCH if set, else the commit time of HEAD (the zips' timestamps)."""
    return int(os.environ.get("SOURCE_DATE_EPOCH") or git("log", "-1", "--format=%ct", "HEAD"))


def zip_time(epoch):
    # Zip (DOS) times start in 1980 and count in 2 s steps.
    return time.gmtime(max(epoch, 315532800) & ~1)[:6]


def require_clean_tree():
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=normal"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    if dirty.strip():
        fail("the git tree has uncommitted changes; commit them or set ALLOW_DIRTY=1:\n" + dirty)


def toolchain_env(epoch):
    try:
        bin_dir = ensure_toolchain.ensure()
    except devkit.ToolError as e:
        fail(str(e))
    env = dict(os.environ)
    env["PATH"] = bin_dir + os.pathsep + env["PATH"]
    env["SOURCE_DATE_EPOCH"] = str(epoch)
    # The checkout and cargo's home differ from one machine to the next; rustc and the C
    # compiler write them into panic locations and __FILE__ strings unless told otherwise.
    # Per-target flags, because RUSTFLAGS would replace (not join) the darwin ones below.
    cargo_home = os.path.realpath(os.environ.get("CARGO_HOME", os.path.expanduser("~/.cargo")))
    remap = (f"--remap-path-prefix={ROOT}={REMAP_ROOT} "
             f"--remap-path-prefix={cargo_home}={REMAP_CARGO_HOME}")
    env["CFLAGS"] = " ".join(filter(None, [
        env.get("CFLAGS", ""), f"-ffile-prefix-map={ROOT}={REMAP_ROOT}",
        f"-ffile-prefix-map={cargo_home}={REMAP_CARGO_HOME}"]))
    for _, triple in PLATFORMS.values():
        key = f"CARGO_TARGET_{triple.upper().replace('-', '_')}_RUSTFLAGS"
        env[key] = remap
    # The framework stubs stand in for macOS's Security and CoreFoundation at link time.
    for triple in ("X86_64_APPLE_DARWIN", "AARCH64_APPLE_DARWIN"):
        env[f"CARGO_TARGET_{triple}_RUSTFLAGS"] = f"-C link-arg=-F{DARWIN_SDK} {remap}"
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
    """Builds the provider and defentry-mock for `platform`; returns their paths."""
    target, triple = PLATFORMS[platform]
    env, target_dir = platform_env(platform, env)
    # --workspace: defentry-mock may live in a member crate of its own.
    run(
        ["cargo", "zigbuild", "--locked", "--profile", profile, "--target", target,
         "--workspace", "--bin", NAME, "--bin", MOCK],
        cwd=ROOT, env=env,
    )
    profile_dir = "debug" if profile == "dev" else profile
    paths = []
    for name in (NAME, MOCK):
        path = os.path.join(target_dir, triple, profile_dir,
                            name + (".exe" if platform[0] == "windows" else ""))
        if not os.path.isfile(path):
            fail(f"cargo built no {path}")
        paths.append(path)
    return tuple(paths)


def sbom(platform, dest, env):
    """CycloneDX JSON of the provider package: the crates linked into the provider binary
    (normal dependencies, resolved for `platform`), written to `dest`."""
    # cargo-cyclonedx writes <package dir>/<name>.cdx.json for every workspace member; a
    # name of our own keeps it from overwriting anything, and the copies are removed.
    stem = f".release-sbom-{os.getpid()}"
    try:
        run(["cargo", "cyclonedx", "--format", "json", "--spec-version", "1.5", "--no-build-deps",
             "--target", PLATFORMS[platform][1], "--override-filename", stem],
            cwd=ROOT, env=env, capture_output=True)
        made = os.path.join(ROOT, stem + ".json")  # --override-filename adds only ".json"
        if not os.path.isfile(made):
            fail(f"cargo cyclonedx wrote no {made}")
        shutil.copy(made, dest)
    finally:
        for dirpath, dirs, files in os.walk(ROOT):
            dirs[:] = [d for d in dirs if d not in ("target", ".git", ".work", ".tools")]
            if stem + ".json" in files:
                os.remove(os.path.join(dirpath, stem + ".json"))


def pack(binary, entry, zip_path, date_time):
    """A zip of one executable entry whose bytes depend only on the binary, name and time."""
    info = zipfile.ZipInfo(entry, date_time=date_time)
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


def write_sums(dist, files, sums_name):
    with open(os.path.join(dist, sums_name), "w") as f:
        for name in sorted(files):
            f.write(f"{sha256(os.path.join(dist, name))}  {name}\n")


def sign(pairs, tmp):
    """Signs each (sums, sig) path pair with the one release key."""
    home, fpr, pass_args = signing_keyring(tmp)
    for sums_path, sig_path in pairs:
        gpg(home, *pass_args, "--local-user", fpr, "--detach-sign", "--output", sig_path,
            sums_path)
        log(f"signed {os.path.basename(sums_path)} with key {fpr}")
    os.makedirs(WORK, exist_ok=True)
    with open(os.path.join(WORK, "signing-key.asc"), "wb") as f:
        f.write(subprocess.run(
            ["gpg", "--homedir", home, "--batch", "--armor", "--export", fpr],
            check=True, capture_output=True,
        ).stdout)
    with open(os.path.join(WORK, "signing-key.fingerprint"), "w") as f:
        f.write(fpr + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dist", default=os.path.join(ROOT, "dist"))
    ap.add_argument("--profile", default=os.environ.get("RELEASE_PROFILE", "release"),
                    help="cargo profile (default release; a faster one while iterating)")
    ap.add_argument("--platform", action="append",
                    help="os_arch to build (repeatable; default all five)")
    ap.add_argument("--no-sign", action="store_true",
                    help="leave out the .sig files and the SBOM (rebuilding to compare zips)")
    args = ap.parse_args()

    dirty = os.environ.get("ALLOW_DIRTY") in ("1", "true", "yes")
    if not dirty:
        require_clean_tree()
    platforms = list(PLATFORMS)
    if args.platform:
        platforms = [tuple(p.split("_", 1)) for p in args.platform]
        unknown = [p for p in platforms if p not in PLATFORMS]
        if unknown:
            fail(f"unknown platform(s) {unknown}; known: {['_'.join(p) for p in PLATFORMS]}")

    v = version()
    n = names(v)
    epoch = source_date_epoch()
    env = toolchain_env(epoch)
    # Build everything before touching dist/, so a failed build leaves no half release.
    built = {p: build(p, args.profile, env) for p in platforms}
    dist = os.path.abspath(args.dist)
    sbom_dir = tempfile.mkdtemp(prefix="release-sbom-")
    if not args.no_sign:
        for p in platforms:
            sbom(p, os.path.join(sbom_dir, n["sbom"](*p)), env)

    shutil.rmtree(dist, ignore_errors=True)
    os.makedirs(dist)
    files, extras = [], []
    for (os_, arch), (provider, mock) in built.items():
        pack(provider, n["binary"](os_), os.path.join(dist, n["zip"](os_, arch)), zip_time(epoch))
        files.append(n["zip"](os_, arch))
        pack(mock, n["mock_binary"](os_), os.path.join(dist, n["mock_zip"](os_, arch)),
             zip_time(epoch))
        extras.append(n["mock_zip"](os_, arch))
    with open(os.path.join(dist, n["manifest"]), "w") as f:
        json.dump(MANIFEST, f, separators=(",", ":"))
    files.append(n["manifest"])
    for name in sorted(os.listdir(sbom_dir)):
        shutil.move(os.path.join(sbom_dir, name), os.path.join(dist, name))
        extras.append(name)
    shutil.rmtree(sbom_dir, ignore_errors=True)
    write_sums(dist, files, n["sums"])
    write_sums(dist, extras, n["extra_sums"])
    if not args.no_sign:
        with tempfile.TemporaryDirectory(prefix="release-gpg-") as tmp:
            sign([(os.path.join(dist, n["sums"]), os.path.join(dist, n["sig"])),
                  (os.path.join(dist, n["extra_sums"]), os.path.join(dist, n["extra_sig"]))], tmp)
        # What `check.py` rebuilds to prove the zips reproducible.
        os.makedirs(WORK, exist_ok=True)
        with open(os.path.join(WORK, "build-info.json"), "w") as f:
            json.dump({"version": v, "commit": git("rev-parse", "HEAD"), "dirty": dirty,
                       "source_date_epoch": epoch, "profile": args.profile,
                       "platforms": ["_".join(p) for p in platforms]}, f, indent=2)
    log(f"{dist} holds {len(os.listdir(dist))} files for {NAME} {v}")


if __name__ == "__main__":
    main()
