#!/usr/bin/env python3
"""Prove that the release in dist/ works (`make release-check`); exit 1 if any proof fails.

Proofs, each reported PASS/FAIL in a summary at the end:
  layout     exactly the registry's files plus the mock zips, SBOM and their sums; each zip
             holds exactly its one binary; manifest; each SHA256SUMS matches exactly its files;
             `gpg --verify` of both with the RSA key.
  sbom       CycloneDX JSON whose components are exactly the crates `cargo metadata` resolves
             into the provider binary for linux_amd64 (normal dependencies, by name + version).
  linux      ELF per arch, highest GLIBC_ symbol version <= 2.17 (provider and mock).
  darwin     Mach-O per arch: magic, CPU type, executable, linked libraries by install name
             (libSystem + the Security and CoreFoundation frameworks), code signature on arm64;
             the mock: the same, its libraries a subset.
  windows    PE32+ x86-64 console executable, system DLLs only (provider and mock).
  registry   an HTTPS provider registry (throwaway CA via SSL_CERT_FILE) serving dist/:
             `terraform init` of localhost:PORT/defentry/defentry verifies the signature
             ("self-signed, key ID ..."), apply + destroy a defentry_token against
             the released linux_amd64 defentry-mock, no session left; with every Terraform in
             .tools/bin. (Every proof that needs a mock runs the released one.)
  tampered   a changed zip and a wrong signature each make `init` fail, with Terraform's error.
  lock       `terraform providers lock` for all five platforms: zh: = SHA256SUMS, h1: per platform.
  mirror     `terraform init` from a filesystem_mirror of the packed zips, then apply + destroy.
  devoverride  README's dev_overrides advice: `init` fails for an overridden provider next to a
             registry one; with a mirror for it, `init` works and apply runs the override.
  wine       the windows_amd64 binary under Wine in --debug mode; Terraform attaches through
             TF_REATTACH_PROVIDERS (TCP) and applies + destroys a token.
  qemu       the linux_arm64 binary under qemu-aarch64-static, the same way.
  bench      bench/run.py (a)+(b) on the linux_amd64 binary from dist/, read from its JSON:
             every goal met.
  reproducible  a clone of the built commit in another directory rebuilds linux_amd64 and
             linux_arm64 (tools/release/build.py --no-sign): the provider and mock zips
             byte-identical to dist/'s.

Usage: tools/release/check.py [--dist DIR] [--only NAME,...]
"""

import argparse
import base64
import hashlib
import http.server
import json
import os
import re
import shutil
import signal
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import zipfile

HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import build  # noqa: E402
import devkit  # noqa: E402
import ensure_toolchain  # noqa: E402
from devkit import Workspace, filesystem_mirror_config, newest_terraform, terraforms  # noqa: E402

ROOT = devkit.ROOT
NAME = devkit.PROVIDER_BINARY
WORK = build.WORK
PLATFORMS = list(build.PLATFORMS)  # (os, arch), in build.py's order
MANIFEST = build.MANIFEST
READY_TIMEOUT = 300  # seconds; Wine creates its prefix on the first start


class ProofFailed(devkit.ToolError):
    pass


def check(cond, msg):
    if not cond:
        raise ProofFailed(msg)


log = devkit.logger("release check")


V = build.version()
N = build.names(V)  # every file name of the release, by role (see build.names)
MOCK = devkit.MOCK_BINARY


def read(path, mode="rb"):
    with open(path, mode) as f:
        return f.read()


def write(path, data):
    with open(path, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)


def unzip_binary(dist, os_, arch, dest, mock=False):
    """Extracts the platform's provider (or mock) binary into dest; returns its path."""
    zname = N["mock_zip"](os_, arch) if mock else N["zip"](os_, arch)
    entry = N["mock_binary"](os_) if mock else N["binary"](os_)
    with zipfile.ZipFile(os.path.join(dist, zname)) as z:
        path = os.path.join(dest, entry)
        write(path, z.read(entry))
    os.chmod(path, 0o755)
    return path


def binaries(dist, os_, arch):
    """(label, zip entry bytes) of the provider and the mock of one platform."""
    out = []
    for zname, entry in ((N["zip"](os_, arch), N["binary"](os_)),
                         (N["mock_zip"](os_, arch), N["mock_binary"](os_))):
        with zipfile.ZipFile(os.path.join(dist, zname)) as z:
            check(z.namelist() == [entry], f"{zname}: zip entries {z.namelist()}, want [{entry}]")
            out.append((f"{entry.split('_v')[0].removesuffix('.exe')} {os_}_{arch}",
                        z.read(entry)))
    return out


# ------------------------------------------------------------------------------------------
# layout, signature


def parse_sums(dist, name=N["sums"]):
    sums = {}
    for line in read(os.path.join(dist, name), "r").splitlines():
        digest, name = line.split("  ", 1)
        sums[name] = digest
    return sums


def proof_layout(ctx):
    dist = ctx.dist
    registry_files = {N["zip"](o, a) for o, a in PLATFORMS} | {N["manifest"]}
    extra_files = {N["mock_zip"](o, a) for o, a in PLATFORMS} | {N["sbom"](o, a) for o, a in PLATFORMS}
    want = registry_files | extra_files | {N["sums"], N["sig"], N["extra_sums"], N["extra_sig"]}
    have = set(os.listdir(dist))
    check(have == want, f"dist/ should hold exactly {sorted(want)}; extra {sorted(have - want)}, "
                        f"missing {sorted(want - have)}")
    for o, a in PLATFORMS:
        for zname, entry in ((N["zip"](o, a), N["binary"](o)),
                             (N["mock_zip"](o, a), N["mock_binary"](o))):
            with zipfile.ZipFile(os.path.join(dist, zname)) as z:
                names = z.namelist()
                check(names == [entry], f"{zname} holds {names}, not [{entry}]")
                check(z.testzip() is None, f"{zname} has a corrupt entry")
    check(json.loads(read(os.path.join(dist, N["manifest"]))) == MANIFEST,
          f"{N['manifest']} is not {MANIFEST}")
    home = ctx.gnupg_home()
    for sums_name, sig_name, files in ((N["sums"], N["sig"], registry_files),
                                       (N["extra_sums"], N["extra_sig"], extra_files)):
        sums = parse_sums(dist, sums_name)
        check(set(sums) == files, f"{sums_name} lists {sorted(sums)}, want {sorted(files)}")
        for name, digest in sums.items():
            check(build.sha256(os.path.join(dist, name)) == digest, f"{sums_name} is wrong for {name}")
        out = subprocess.run(["gpg", "--homedir", home, "--batch", "--status-fd", "1", "--verify",
                              os.path.join(dist, sig_name), os.path.join(dist, sums_name)],
                             capture_output=True, text=True)
        check(out.returncode == 0 and f"VALIDSIG {ctx.fingerprint}" in out.stdout,
              f"gpg --verify of {sums_name} failed:\n{out.stdout}{out.stderr}")
        check(read(os.path.join(dist, sig_name))[:1] != b"-",
              f"{sig_name} is armored; it must be binary")
    return (f"{len(want)} files; both SHA256SUMS verified; good RSA signatures by "
            f"{ctx.fingerprint}")


def provider_crates(target):
    """{(name, version)} of the crates linked into the provider for `target`: its normal
    dependencies, transitively, as cargo resolves them (build and dev dependencies left out)."""
    meta = json.loads(subprocess.run(
        ["cargo", "metadata", "--locked", "--format-version", "1", "--filter-platform", target],
        cwd=ROOT, check=True, capture_output=True, text=True).stdout)
    pkgs = {p["id"]: p for p in meta["packages"]}
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    root = next(p["id"] for p in meta["packages"] if p["name"] == NAME)
    seen, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        for dep in nodes[pid]["deps"]:
            if any(k["kind"] is None for k in dep["dep_kinds"]):
                todo.append(dep["pkg"])
    seen.discard(root)
    return {(pkgs[i]["name"], pkgs[i]["version"]) for i in seen}


def proof_sbom(ctx):
    notes = []
    for platform in PLATFORMS:
        name = N["sbom"](*platform)
        doc = json.loads(read(os.path.join(ctx.dist, name)))
        check(doc.get("bomFormat") == "CycloneDX", f"{name} is not CycloneDX: {str(doc)[:200]}")
        top = doc.get("metadata", {}).get("component", {})
        check((top.get("name"), top.get("version")) == (NAME, V),
              f"{name} describes {top.get('name')} {top.get('version')}, not {NAME} {V}")
        have = {(c["name"], c["version"]) for c in doc.get("components", [])}
        want = provider_crates(build.PLATFORMS[platform][1])
        check(have == want, f"{name}: components differ from the provider's crates: "
                            f"missing {sorted(want - have)[:20]}, extra {sorted(have - want)[:20]}")
        notes.append(f"{'_'.join(platform)} {len(have)}")
    return f"CycloneDX {doc.get('specVersion')}, exactly the provider's crates: {', '.join(notes)}"


# ------------------------------------------------------------------------------------------
# structural checks of the binaries


def elf_glibc_versions(data):
    """(e_machine, set of version names needed, e.g. {'GLIBC_2.17'}) of a 64-bit LE ELF."""
    check(data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1, "not a 64-bit LE ELF")
    machine = struct.unpack_from("<H", data, 0x12)[0]
    shoff = struct.unpack_from("<Q", data, 0x28)[0]
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    needs = set()
    for _, sh_type, _, _, off, _, link, info, _, _ in sections:
        if sh_type != 0x6FFFFFFE:  # SHT_GNU_verneed
            continue
        stroff = sections[link][4]

        def cstr(o):
            return data[stroff + o:data.index(b"\0", stroff + o)].decode()

        pos = off
        for _ in range(info):
            _, cnt, _, aux, nxt = struct.unpack_from("<HHIII", data, pos)
            apos = pos + aux
            for _ in range(cnt):
                _, _, _, name, anext = struct.unpack_from("<IHHII", data, apos)
                needs.add(cstr(name))
                apos += anext
            pos += nxt
    return machine, needs


def proof_linux(ctx):
    notes = []
    for arch, machine_want in (("amd64", 62), ("arm64", 183)):
        for what, data in binaries(ctx.dist, "linux", arch):
            machine, needs = elf_glibc_versions(data)
            check(machine == machine_want, f"{what}: ELF machine {machine}, want {machine_want}")
            glibc = sorted((tuple(int(x) for x in n[6:].split(".")) for n in needs
                            if n.startswith("GLIBC_") and n[6:7].isdigit()))
            check(glibc, f"{what}: no GLIBC_ version needs found")
            check(glibc[-1] <= (2, 17), f"{what}: needs GLIBC_{'.'.join(map(str, glibc[-1]))} > 2.17")
            notes.append(f"{what} max GLIBC_{'.'.join(map(str, glibc[-1]))}")
    return ", ".join(notes)


MH_MAGIC_64 = 0xFEEDFACF
CPU = {"amd64": 0x01000007, "arm64": 0x0100000C}
DARWIN_LIBS = {
    "/usr/lib/libSystem.B.dylib",
    # Rust's libc crate links libiconv on Apple targets; cargo-zigbuild's stub for it names
    # libcharset too. Both are part of every macOS.
    "/usr/lib/libiconv.2.dylib",
    "/usr/lib/libcharset.1.dylib",
    "/System/Library/Frameworks/Security.framework/Versions/A/Security",
    "/System/Library/Frameworks/CoreFoundation.framework/Versions/A/CoreFoundation",
}


def macho_info(data):
    magic, cputype, _, filetype, ncmds, _, _, _ = struct.unpack_from("<IiiIIIII", data, 0)
    check(magic == MH_MAGIC_64, f"not a 64-bit Mach-O (magic {magic:#x})")
    libs, codesig, pos = [], None, 32
    for _ in range(ncmds):
        cmd, size = struct.unpack_from("<II", data, pos)
        if cmd in (0xC, 0x80000018, 0x8000001F):  # LC_LOAD_DYLIB, _WEAK_, LC_REEXPORT_DYLIB
            off = struct.unpack_from("<I", data, pos + 8)[0]
            raw = data[pos + off:pos + size]
            libs.append(raw[:raw.index(b"\0")].decode())
        elif cmd == 0x1D:  # LC_CODE_SIGNATURE
            codesig = struct.unpack_from("<II", data, pos + 8)
        pos += size
    return cputype, filetype, libs, codesig


def proof_darwin(ctx):
    notes = []
    for arch in ("amd64", "arm64"):
        for what, data in binaries(ctx.dist, "darwin", arch):
            cputype, filetype, libs, codesig = macho_info(data)
            check(cputype == CPU[arch], f"{what}: CPU type {cputype:#x}, want {CPU[arch]:#x}")
            check(filetype == 2, f"{what}: file type {filetype}, want MH_EXECUTE (2)")
            if what.startswith(MOCK):
                # The mock needs no trust store, so it may link fewer of the same libraries.
                check("/usr/lib/libSystem.B.dylib" in libs and set(libs) <= DARWIN_LIBS,
                      f"{what}: links {libs}, want libSystem and a subset of {sorted(DARWIN_LIBS)}")
            else:
                check(set(libs) == DARWIN_LIBS, f"{what}: links {libs}, want {sorted(DARWIN_LIBS)}")
            if arch == "arm64":
                # Apple Silicon runs only signed code; the linker must have written an ad-hoc one.
                check(codesig is not None, f"{what}: no LC_CODE_SIGNATURE")
                off, size = codesig
                blob = struct.unpack_from(">I", data, off)[0]
                check(blob == 0xFADE0CC0 and size > 0,
                      f"{what}: code signature blob magic {blob:#x}, want 0xfade0cc0")
            notes.append(f"{what}: {len(libs)} libs{', signed' if codesig else ''}")
    return "; ".join(notes)


# DLLs every Windows 10+ has; anything else (libgcc_s, libwinpthread, ...) would not be there.
WINDOWS_SYSTEM_DLLS = {"kernel32.dll", "ntdll.dll", "ws2_32.dll", "bcrypt.dll", "advapi32.dll",
                       "msvcrt.dll", "userenv.dll", "bcryptprimitives.dll", "crypt32.dll",
                       "secur32.dll", "user32.dll", "ncrypt.dll", "shell32.dll", "ole32.dll"}


def pe_imports(data, pe):
    """Names of the DLLs a PE32+ image imports."""
    nsec, opt_size = struct.unpack_from("<H", data, pe + 6)[0], struct.unpack_from("<H", data, pe + 20)[0]
    opt = pe + 24
    import_rva = struct.unpack_from("<I", data, opt + 112 + 8)[0]  # data directory 1
    sections = [struct.unpack_from("<8sIIII", data, opt + opt_size + 40 * i) for i in range(nsec)]

    def offset(rva):
        for _, vsize, vaddr, rawsize, rawptr in sections:
            if vaddr <= rva < vaddr + max(vsize, rawsize):
                return rawptr + rva - vaddr
        raise ProofFailed(f"RVA {rva:#x} is in no section")

    names, pos = [], offset(import_rva)
    while True:
        name_rva = struct.unpack_from("<I", data, pos + 12)[0]
        if name_rva == 0:
            return names
        o = offset(name_rva)
        names.append(data[o:data.index(b"\0", o)].decode().lower())
        pos += 20


def proof_windows(ctx):
    return "; ".join(f"{what}: {windows_binary(what, data)}"
                     for what, data in binaries(ctx.dist, "windows", "amd64"))


def windows_binary(what, data):
    check(data[:2] == b"MZ", f"{what}: no MZ header")
    pe = struct.unpack_from("<I", data, 0x3C)[0]
    check(data[pe:pe + 4] == b"PE\0\0", f"{what}: no PE signature")
    machine = struct.unpack_from("<H", data, pe + 4)[0]
    opt = pe + 24
    magic, subsystem = struct.unpack_from("<H", data, opt)[0], struct.unpack_from("<H", data, opt + 68)[0]
    check(machine == 0x8664, f"{what}: machine {machine:#x}, want 0x8664")
    check(magic == 0x20B, f"{what}: optional header {magic:#x}, want PE32+")
    check(subsystem == 3, f"{what}: subsystem {subsystem}, want console (3)")
    dlls = pe_imports(data, pe)
    foreign = sorted(set(d for d in dlls if d not in WINDOWS_SYSTEM_DLLS
                         and not d.startswith("api-ms-win-")))
    check(not foreign, f"{what}: imports DLLs a Windows host lacks: {foreign}")
    return f"PE32+ x86-64 console; imports {len(set(dlls))} DLLs, all Windows 10+ system DLLs (UCRT)"


# ------------------------------------------------------------------------------------------
# Terraform, defentry-mock


def workspace(ctx, name, terraform, main_tf, cli_config="", extra_env=None):
    """A Terraform working directory in the scratch directory (see devkit.Workspace)."""
    return Workspace(terraform, ctx.tmpdir(name), cli_config, main_tf, extra_env)


def token_config(source, version_constraint=None, extra_provider=None):
    ver = f', version = "{version_constraint}"' if version_constraint else ""
    extra = f'\n    other = {{ source = "{extra_provider}" }}' if extra_provider else ""
    return f'''
terraform {{
  required_providers {{
    defentry = {{ source = "{source}"{ver} }}{extra}
  }}
}}
provider "defentry" {{}}
resource "defentry_token" "proof" {{}}
output "token_id" {{ value = defentry_token.proof.token_id }}
'''


def apply_destroy(ws, mock):
    """apply + destroy one defentry_token; the mock must see the session come and go."""
    env = dict(ws.env, **mock.env())
    _, out, _ = ws.run("apply", "-auto-approve", env=env)
    check("Apply complete! Resources: 1 added" in out, f"apply did not add the token:\n{out}")
    check(mock.active() == 1, f"after apply the mock has {mock.active()} active sessions, want 1")
    _, out, _ = ws.run("destroy", "-auto-approve", env=env)
    check("Destroy complete! Resources: 1 destroyed" in out, f"destroy did not remove it:\n{out}")
    check(mock.active() == 0, f"after destroy the mock has {mock.active()} active sessions, want 0")


# ------------------------------------------------------------------------------------------
# the HTTPS registry


class Registry:
    """A provider registry (protocol v1) over HTTPS serving a dist directory."""

    def __init__(self, tmp, dist, key_armor, key_id):
        self.dist, self.key_armor, self.key_id = dist, key_armor, key_id
        self.ca = make_tls(tmp)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(tmp, "server.pem"), os.path.join(tmp, "server.key"))
        registry = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                try:
                    body, ctype = registry.route(self.path)
                except KeyError:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.host = f"localhost:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path):
        return f"https://{self.host}{path}"

    def route(self, path):
        path = path.split("?", 1)[0]
        prefix = "/v1/providers/defentry/defentry/"
        if path == "/.well-known/terraform.json":
            return json_body({"providers.v1": "/v1/providers/"})
        if path == prefix + "versions":
            return json_body({"versions": [{"version": V, "protocols": ["6.0"], "platforms": [
                {"os": o, "arch": a} for o, a in PLATFORMS]}]})
        m = re.fullmatch(re.escape(prefix + V) + r"/download/(\w+)/(\w+)", path)
        if m and (m.group(1), m.group(2)) in PLATFORMS:
            name = N["zip"](m.group(1), m.group(2))
            return json_body({
                "protocols": ["6.0"], "os": m.group(1), "arch": m.group(2), "filename": name,
                "download_url": self.url(f"/files/{name}"),
                "shasums_url": self.url(f"/files/{N['sums']}"),
                "shasums_signature_url": self.url(f"/files/{N['sig']}"),
                "shasum": parse_sums(self.dist)[name],
                "signing_keys": {"gpg_public_keys": [
                    {"key_id": self.key_id, "ascii_armor": self.key_armor}]},
            })
        if path.startswith("/files/"):
            name = path[len("/files/"):]
            if "/" not in name and os.path.isfile(os.path.join(self.dist, name)):
                return read(os.path.join(self.dist, name)), "application/octet-stream"
        raise KeyError(path)

    def stop(self):
        self.server.shutdown()


def json_body(obj):
    return json.dumps(obj).encode(), "application/json"


def make_tls(tmp):
    """A throwaway CA and a localhost/127.0.0.1 server certificate it signs; returns the CA."""
    ca_key, ca, key, csr, cert = (os.path.join(tmp, n) for n in
                                  ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem"))
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def openssl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    openssl("req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "1",
            "-subj", "/CN=defentry release check CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    openssl("req", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=localhost")
    ext = os.path.join(tmp, "server.ext")
    write(ext, "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
            "-out", cert, "-days", "1", "-extfile", ext)
    return ca


def registry_init(ctx, terraform, name, registry, expect_ok=True):
    ws = workspace(ctx, name, terraform, token_config(f"{registry.host}/defentry/defentry", V),
                   extra_env={"SSL_CERT_FILE": registry.ca})
    code, out, _ = ws.run("init", expect_ok=expect_ok)
    return ws, code, out


def proof_registry(ctx):
    notes = []
    for ver, terraform in terraforms():
        label = devkit.label(ver)
        ws, _, out = registry_init(ctx, terraform, f"registry-{label}", ctx.registry)
        signed = f"(self-signed, key ID {ctx.key_id})"
        check(f"Installed {ctx.registry.host}/defentry/defentry v{V} {signed}" in out,
              f"Terraform {label}: init did not report the signed install {signed!r}:\n{out}")
        apply_destroy(ws, ctx.mock)
        notes.append(label)
    return f"init (signed, key ID {ctx.key_id}) + apply + destroy with Terraform {', '.join(notes)}"


def proof_tampered(ctx):
    terraform = newest_terraform()
    own = N["zip"](*ctx.host_platform)
    # 1. A zip that is not the one SHA256SUMS and the registry's shasum name.
    bad_zip = ctx.tmpdir("dist-tampered-zip")
    for f in os.listdir(ctx.dist):
        shutil.copy(os.path.join(ctx.dist, f), bad_zip)
    with zipfile.ZipFile(os.path.join(bad_zip, own), "a") as z:
        z.writestr("extra.txt", "not part of the release\n")
    ctx.registry.dist = bad_zip
    try:
        _, code, out = registry_init(ctx, terraform, "init-tampered-zip", ctx.registry, False)
    finally:
        ctx.registry.dist = ctx.dist
    check(code != 0, f"init succeeded with a tampered zip:\n{out}")
    check("archive has incorrect checksum" in flat(out),
          f"init failed for another reason than the checksum:\n{out}")
    # 2. SHA256SUMS signed by some other key than the one the registry announces.
    bad_sig = ctx.tmpdir("dist-wrong-signature")
    for f in os.listdir(ctx.dist):
        shutil.copy(os.path.join(ctx.dist, f), bad_sig)
    other = ctx.tmpdir("gnupg-other")
    os.chmod(other, 0o700)
    subprocess.run(["gpg", "--homedir", other, "--batch", "--passphrase", "", "--quick-generate-key",
                    "someone else <other@invalid>", "rsa2048", "sign", "1d"],
                   check=True, capture_output=True)
    subprocess.run(["gpg", "--homedir", other, "--batch", "--yes", "--detach-sign", "--output",
                    os.path.join(bad_sig, N["sig"]), os.path.join(bad_sig, N["sums"])],
                   check=True, capture_output=True)
    ctx.registry.dist = bad_sig
    try:
        _, code, out2 = registry_init(ctx, terraform, "init-wrong-signature", ctx.registry, False)
    finally:
        ctx.registry.dist = ctx.dist
    check(code != 0, f"init succeeded with a wrong signature:\n{out2}")
    check("authentication signature from unknown issuer" in flat(out2),
          f"init failed for another reason than the signature:\n{out2}")
    return "tampered zip refused ('archive has incorrect checksum'); other key refused ('authentication signature from unknown issuer')"


def flat(text):
    """Terraform wraps its diagnostics at 78 columns; compare text with spaces collapsed."""
    return " ".join(text.split())


def h1_of_zip(path):
    """Terraform's h1: hash (Go dirhash Hash1) of a zip's unpacked contents."""
    with zipfile.ZipFile(path) as z:
        lines = "".join(f"{hashlib.sha256(z.read(n)).hexdigest()}  {n}\n"
                        for n in sorted(z.namelist()))
    return "h1:" + base64.b64encode(hashlib.sha256(lines.encode()).digest()).decode()


def lock_hashes(workdir):
    text = read(os.path.join(workdir, ".terraform.lock.hcl"), "r")
    return set(re.findall(r'"((?:h1|zh):[^"]+)"', text))


def proof_lock(ctx):
    ws = workspace(ctx, "lock", newest_terraform(),
                   token_config(f"{ctx.registry.host}/defentry/defentry", V),
                   extra_env={"SSL_CERT_FILE": ctx.registry.ca})
    ws.run("providers", "lock", *(f"-platform={o}_{a}" for o, a in PLATFORMS))
    hashes = lock_hashes(ws.dir)
    sums = parse_sums(ctx.dist)
    # Terraform records a zh: hash for every line of SHA256SUMS, the manifest's included.
    want_zh = {"zh:" + d for d in sums.values()}
    want_h1 = {h1_of_zip(os.path.join(ctx.dist, N["zip"](o, a))) for o, a in PLATFORMS}
    check({h for h in hashes if h.startswith("zh:")} == want_zh,
          f"lock file zh: hashes {sorted(hashes)} != SHA256SUMS {sorted(want_zh)}")
    check({h for h in hashes if h.startswith("h1:")} == want_h1,
          f"lock file h1: hashes {sorted(hashes)} != the five packages' {sorted(want_h1)}")
    return f"{len(want_zh)} zh: (SHA256SUMS) + {len(want_h1)} h1: (one per platform), as computed from dist/"


def proof_mirror(ctx):
    mirror = ctx.tmpdir("mirror")
    packed = os.path.join(mirror, "registry.terraform.io", "defentry", "defentry")
    os.makedirs(packed)
    for o, a in PLATFORMS:
        shutil.copy(os.path.join(ctx.dist, N["zip"](o, a)), packed)
    ws = workspace(ctx, "mirror-work", newest_terraform(), token_config("defentry/defentry", V),
                   f"provider_installation {{\n{filesystem_mirror_config(mirror)}}}\n")
    _, out, _ = ws.run("init")
    check(f"Installed defentry/defentry v{V} (unauthenticated)" in out,
          f"init did not install from the mirror:\n{out}")
    own = h1_of_zip(os.path.join(ctx.dist, N["zip"](*ctx.host_platform)))
    check(own in lock_hashes(ws.dir), f"lock file lacks {own}")
    apply_destroy(ws, ctx.mock)
    return "packed-layout mirror: init + apply + destroy"


# How `terraform init` treats a provider that is only under dev_overrides, per tested version:
# 1.11 tries to install it from its source and fails; 1.15 skips it with a warning.
PLAIN_OVERRIDE_INIT_FAILS = {(1, 11, 4): True, (1, 15, 5): False}


def proof_devoverride(ctx):
    """The README's dev_overrides advice, next to a provider from a registry."""
    override = ctx.tmpdir("override-bin")
    binary = unzip_binary(ctx.dist, *ctx.host_platform, override)
    os.rename(binary, os.path.join(override, NAME))  # dev_overrides want the bare name
    mirror = ctx.tmpdir("override-mirror")
    unpacked = os.path.join(mirror, "registry.terraform.io", "defentry", "defentry", V,
                            "_".join(ctx.host_platform))
    os.makedirs(unpacked)
    shutil.copy(os.path.join(override, NAME), os.path.join(unpacked, N["binary"]("linux")))
    plain = devkit.dev_overrides_config(override)
    with_mirror = devkit.dev_overrides_config(
        override, then=filesystem_mirror_config(mirror)
        + '  direct {\n    exclude = ["registry.terraform.io/defentry/defentry"]\n  }\n')
    notes = []
    for ver, terraform in terraforms():
        label = devkit.label(ver)
        # `other` stands for any provider from a registry (here: ours, from the test registry).
        ws = workspace(ctx, f"override-{label}", terraform, token_config(
            "defentry/defentry", extra_provider=f"{ctx.registry.host}/defentry/defentry"),
            plain, {"SSL_CERT_FILE": ctx.registry.ca})
        code, out, _ = ws.run("init", expect_ok=False)
        plain_fails = code != 0
        if plain_fails:
            check("Failed to query available provider packages" in flat(out)
                  and "defentry/defentry" in out,
                  f"Terraform {label}: init failed for another reason than the override:\n{out}")
        expected = PLAIN_OVERRIDE_INIT_FAILS.get(ver)
        check(expected is None or expected == plain_fails,
              f"Terraform {label}: init under plain dev_overrides "
              f"{'failed' if plain_fails else 'worked'}, README says otherwise:\n{out}")
        shutil.rmtree(os.path.join(ws.dir, ".terraform"), ignore_errors=True)
        ws.write("cli.tfrc", with_mirror)
        _, out, _ = ws.run("init")
        check(f"{ctx.registry.host}/defentry/defentry v{V}" in out,
              f"Terraform {label}: init did not install the registry provider:\n{out}")
        env_mock = dict(ws.env, **ctx.mock.env())
        _, out, _ = ws.run("apply", "-auto-approve", env=env_mock)
        check("Provider development overrides are in effect" in out and override in out,
              f"Terraform {label}: apply did not run the overridden provider:\n{out}")
        check("Apply complete! Resources: 1 added" in out, f"apply did not add the token:\n{out}")
        ws.run("destroy", "-auto-approve", env=env_mock)
        check(ctx.mock.active() == 0, "a session is left after destroy")
        notes.append(f"{label}: plain init {'fails' if plain_fails else 'works'}, with mirror works")
    return "; ".join(notes)


# ------------------------------------------------------------------------------------------
# foreign binaries under emulation, attached through TF_REATTACH_PROVIDERS

SHIM_C = r"""
/* Test-only stand-in for Windows 10's bcryptprimitives.dll, which Wine 8 lacks: Rust's std
   gets random bytes from its ProcessPrng. Never shipped. */
#include <windows.h>
typedef BOOLEAN (WINAPI *RtlGenRandomFn)(PVOID, ULONG);
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    static RtlGenRandomFn gen;
    if (!gen) gen = (RtlGenRandomFn)GetProcAddress(LoadLibraryA("advapi32.dll"), "SystemFunction036");
    if (!gen) return FALSE;
    while (len) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!gen(data, chunk)) return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
"""


def reattach_apply(ctx, argv, env, label, want_network):
    """Starts `argv` (a provider in --debug mode), attaches Terraform, applies + destroys."""
    env = dict(env, **ctx.mock.env())
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=open(
        os.path.join(ctx.tmpdir(f"{label}-log"), "stderr"), "w"), env=env, text=True,
        start_new_session=True)
    try:
        line = devkit.read_line(proc, lambda l: "TF_REATTACH_PROVIDERS='" in l, READY_TIMEOUT, label)
        reattach = line.split("TF_REATTACH_PROVIDERS='", 1)[1].rsplit("'", 1)[0]
        addr = json.loads(reattach)["registry.terraform.io/defentry/defentry"]["Addr"]
        check(addr["Network"] == want_network, f"{label}: listens on {addr}, want {want_network}")
        ws = workspace(ctx, f"{label}-work", newest_terraform(), token_config("defentry/defentry"),
                       extra_env={"TF_REATTACH_PROVIDERS": reattach})
        ws.run("init")
        apply_destroy(ws, ctx.mock)
        return f"{addr['Network']} {addr['String']}"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


def proof_wine(ctx):
    wine = "/usr/lib/wine/wine64"
    check(os.access(wine, os.X_OK), f"{wine} missing; run tools/release/ensure_toolchain.py")
    bin_dir = ctx.tmpdir("wine-bin")
    exe = unzip_binary(ctx.dist, "windows", "amd64", bin_dir)
    shim = os.path.join(bin_dir, "shim.c")
    write(shim, SHIM_C)
    subprocess.run([ctx.zig, "cc", "-target", "x86_64-windows-gnu", "-shared", "-o",
                    os.path.join(bin_dir, "bcryptprimitives.dll"), shim],
                   check=True, capture_output=True)
    prefix = ctx.tmpdir("wineprefix")
    env = devkit.scrubbed_env({"WINEPREFIX": prefix, "WINEDEBUG": "-all",
                               "WINEDLLOVERRIDES": "mscoree,mshtml="}, also=("DISPLAY",))
    try:
        where = reattach_apply(ctx, [wine, exe, "--debug"], env, "wine", "tcp")
    finally:
        subprocess.run(["/usr/lib/wine/wineserver", "-k"], env=env, capture_output=True)
    return f"Wine {wine_version()}: provider on {where}; apply + destroy"


def wine_version():
    p = subprocess.run(["/usr/lib/wine/wine64", "--version"], capture_output=True, text=True)
    return p.stdout.strip()


def proof_qemu(ctx):
    qemu = shutil.which("qemu-aarch64-static")
    check(qemu, "qemu-aarch64-static missing; run tools/release/ensure_toolchain.py")
    binary = unzip_binary(ctx.dist, "linux", "arm64", ctx.tmpdir("qemu-bin"))
    env = devkit.scrubbed_env()
    where = reattach_apply(ctx, [qemu, "-L", "/usr/aarch64-linux-gnu", binary, "--debug"], env,
                           "qemu", "unix")
    return f"qemu-aarch64: provider on {where}; apply + destroy"


GOAL_HANDSHAKE_ABOVE_FLOOR_MS = 2.0  # 0.1x a Go provider's ~20 ms, as the issue measures it


def bench_entry(doc, id):
    entry = next((m for m in doc["measurements"] if m["id"] == id), None)
    check(entry is not None, f"the benchmark results have no {id!r}")
    return entry


def proof_bench(ctx):
    """bench/run.py (a)+(b) on the shipped linux_amd64 binary, judged from its JSON results.

    Peak RSS and size are judged by bench/run.py's own verdicts. The handshake is judged above
    the exec floor (AutoMTLS median minus /bin/echo's), as the issue defines the goal, so that
    a machine busy with other builds does not fail a release whose binary is fine.
    """
    tmp = ctx.tmpdir("bench-bin")
    binary = unzip_binary(ctx.dist, *ctx.host_platform, tmp)
    results = os.path.join(tmp, "bench.json")
    p = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "run.py"), "--no-build",
                        "--provider", binary, "--only", "ab", "--starts", "50", "--json", results],
                       capture_output=True, text=True)
    print(p.stdout, file=sys.stderr)
    check(p.returncode == 0, f"bench/run.py failed:\n{p.stderr[-3000:]}")
    doc = json.loads(read(results))
    broken = [f"{m['id']}: {m['status']}: {m['error']}" for m in doc["measurements"]
              if m["status"] != "ok"]
    check(not broken, f"a benchmark did not run: {broken}")
    rss = bench_entry(doc, "handshake.automtls.rss")
    size = bench_entry(doc, "size.binary")
    check(rss["verdict"] == "met", f"peak RSS goal: {rss['verdict'] or 'no verdict'} "
                                   f"(max {rss['max']} bytes, goal {rss['goal']})")
    check(size["verdict"] == "met", f"binary size goal: {size['verdict'] or 'no verdict'} "
                                    f"({size['median']} bytes, goal {size['goal']})")
    check(size["info"].get("stripped") is True, f"the shipped binary is not stripped: {size['info']}")
    mtls = bench_entry(doc, "handshake.automtls.time")["median"] * 1000
    floor = bench_entry(doc, "handshake.floor.time")["median"] * 1000
    above = mtls - floor
    check(above <= GOAL_HANDSHAKE_ABOVE_FLOOR_MS,
          f"AutoMTLS handshake {mtls:.1f} ms is {above:.1f} ms above the exec floor "
          f"({floor:.1f} ms); goal ≤ {GOAL_HANDSHAKE_ABOVE_FLOOR_MS} ms:\n{p.stdout}")
    return (f"AutoMTLS handshake {mtls:.1f} ms ({above:.1f} ms above the {floor:.1f} ms floor, "
            f"goal ≤ 2), peak RSS {rss['max'] / 2**20:.1f} MiB (≤ 8 MB), "
            f"size {size['median'] / 1e6:.1f} MB (≤ 10 MB): met")


# The platforms the reproducible proof rebuilds: both Linux ones (issue 20 asks for these at
# least); the others build from the same flags, but are not rebuilt to keep `make release` short.
REBUILT = ("amd64", "arm64")


def proof_reproducible(ctx):
    """The commit dist/ was built from, cloned into another directory (so every path differs)
    and built for linux_amd64 and linux_arm64 again: the provider and mock zips must be
    byte-identical."""
    info = json.loads(read(os.path.join(WORK, "build-info.json")))
    check(not info["dirty"], "dist/ was built from a dirty tree (ALLOW_DIRTY): nothing to rebuild")
    check(info["version"] == V, f"dist/ is version {info['version']}, the tree {V}")
    tree = os.path.join(ctx.tmpdir("rebuild"), "tree")
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", ROOT, tree], check=True)
    subprocess.run(["git", "-C", tree, "checkout", "--quiet", "--detach", info["commit"]],
                   check=True)
    rebuilt = os.path.join(tree, "dist")
    # The zig and cargo-zigbuild already installed serve the clone too (no second download).
    os.makedirs(os.path.join(tree, ".work"))
    for d in ("release-venv", "release-zig-darwin"):
        if os.path.isdir(os.path.join(ROOT, ".work", d)):
            os.symlink(os.path.join(ROOT, ".work", d), os.path.join(tree, ".work", d))
    # Its own target directory (a cold build) and its own paths; the same commit time.
    env = {k: v for k, v in os.environ.items()
           if k not in ("CARGO_TARGET_DIR", "ALLOW_DIRTY", "RUSTFLAGS", "CFLAGS")}
    env["SOURCE_DATE_EPOCH"] = str(info["source_date_epoch"])
    p = subprocess.run([sys.executable, os.path.join(tree, "tools", "release", "build.py"),
                        "--no-sign", *(a for arch in REBUILT for a in ("--platform", f"linux_{arch}")),
                        "--profile", info["profile"],
                        "--dist", rebuilt], cwd=tree, env=env, capture_output=True, text=True)
    check(p.returncode == 0, f"the rebuild failed:\n{(p.stdout + p.stderr)[-3000:]}")
    notes = []
    for name in (z for arch in REBUILT for z in (N["zip"]("linux", arch), N["mock_zip"]("linux", arch))):
        a, b = read(os.path.join(ctx.dist, name)), read(os.path.join(rebuilt, name))
        if a != b:
            # Keep the rebuilt zip for diffoscope & co.: the scratch directory goes away.
            keep = os.path.join(WORK, "rebuilt")
            os.makedirs(keep, exist_ok=True)
            shutil.copy(os.path.join(rebuilt, name), keep)
            first = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
            check(False, f"{name} differs when rebuilt in another directory (sizes {len(a)} vs "
                         f"{len(b)}, first difference at byte {first}); the rebuilt one is in {keep}")
        notes.append(f"{name} {hashlib.sha256(a).hexdigest()[:16]}…")
    return f"rebuilt {info['commit'][:12]} in another directory: identical {', '.join(notes)}"


# ------------------------------------------------------------------------------------------


class Ctx:
    def __init__(self, dist, tmp):
        self.dist, self.tmp = dist, tmp
        self.host_platform = ("linux", "amd64")
        self.fingerprint = read(os.path.join(WORK, "signing-key.fingerprint"), "r").strip()
        self.key_id = self.fingerprint[-16:].upper()
        self.key_armor = read(os.path.join(WORK, "signing-key.asc"), "r")
        self._gnupg = None
        self._mock = None
        self._registry = None
        self._zig = None

    def tmpdir(self, name):
        path = os.path.join(self.tmp, name)
        os.makedirs(path)
        return path

    def gnupg_home(self):
        """A keyring holding only the release's public key (must be RSA)."""
        if self._gnupg is None:
            home = self.tmpdir("gnupg")
            os.chmod(home, 0o700)
            subprocess.run(["gpg", "--homedir", home, "--batch", "--import"],
                           input=self.key_armor.encode(), check=True, capture_output=True)
            keys = subprocess.run(["gpg", "--homedir", home, "--batch", "--with-colons",
                                   "--list-keys"], check=True, capture_output=True, text=True).stdout
            algos = [l.split(":")[3] for l in keys.splitlines() if l.startswith("pub:")]
            check(algos == ["1"], f"the signing key must be one RSA key, got algorithms {algos}")
            self._gnupg = home
        return self._gnupg

    @property
    def mock(self):
        if self._mock is None:
            # The mock users download: the release's linux_amd64 zip, not a local build.
            binary = unzip_binary(self.dist, *self.host_platform, self.tmpdir("mock-bin"),
                                  mock=True)
            self._mock = devkit.Mock(binary)
        return self._mock

    @property
    def registry(self):
        if self._registry is None:
            self._registry = Registry(self.tmpdir("tls"), self.dist, self.key_armor, self.key_id)
        return self._registry

    @property
    def zig(self):
        if self._zig is None:
            self._zig = os.path.join(ensure_toolchain.ensure(), "zig")
        return self._zig

    def close(self):
        if self._mock:
            self._mock.stop()
        if self._registry:
            self._registry.stop()


PROOFS = [
    ("layout", proof_layout), ("sbom", proof_sbom), ("linux", proof_linux), ("darwin", proof_darwin),
    ("windows", proof_windows), ("registry", proof_registry), ("tampered", proof_tampered),
    ("lock", proof_lock), ("mirror", proof_mirror), ("devoverride", proof_devoverride),
    ("wine", proof_wine), ("qemu", proof_qemu),
    ("bench", proof_bench), ("reproducible", proof_reproducible),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dist", default=os.path.join(ROOT, "dist"))
    ap.add_argument("--only", help="comma-separated proof names")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = ap.parse_args()
    selected = [p for p in PROOFS if not args.only or p[0] in args.only.split(",")]
    tmp = tempfile.mkdtemp(prefix="release-check-")
    ctx = Ctx(os.path.abspath(args.dist), tmp)
    results = []
    try:
        for name, proof in selected:
            log(f"--- {name}")
            start = time.monotonic()
            try:
                note = proof(ctx)
                results.append((name, "PASS", note, time.monotonic() - start))
            except Exception as e:  # every proof reports, even if one breaks unexpectedly
                detail = str(e) if isinstance(e, devkit.ToolError) else traceback.format_exc()
                log(f"{name} FAILED: {detail}")
                results.append((name, "FAIL", detail.strip().splitlines()[0][:300],
                                time.monotonic() - start))
    finally:
        ctx.close()
        if args.keep:
            log(f"scratch kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nrelease check of {NAME} {V} ({args.dist}):")
    for name, status, note, secs in results:
        print(f"  {status}  {name:<11} {secs:6.1f}s  {note}")
    failed = [r[0] for r in results if r[1] != "PASS"]
    if failed:
        print(f"RELEASE CHECK FAILED: {', '.join(failed)}")
        sys.exit(1)
    print(f"release check passed: {len(results)} proofs")


if __name__ == "__main__":
    main()
