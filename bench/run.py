#!/usr/bin/env python3
"""Provider benchmarks (`make bench`). Prints Markdown tables; nothing here is a pass/fail test.

  (a) exec -> handshake line of the provider, plaintext and with AutoMTLS (a Terraform-like
      P-521 CA:TRUE client cert), median/p10/p90 of N interleaved starts, and peak RSS (VmHWM)
      right after the handshake; /bin/echo printing such a line gives the machine's floor;
  (b) size of the stripped release binary;
  (c) wall time of `terraform providers schema -json` in a dev_overrides workspace, per Terraform;
  (d) scale: apply+destroy of N resources of the provider vs the same number of
      `terraform_data` (and a `terraform_data` carrying a token-sized payload), and the same
      tokens with `overlap` against those without, interleaved rounds, medians and the ratios.

Run from the repository root: `python3 bench/run.py [--debug] [--starts 30] [--scale 200] ...`.
"""

import argparse
import json
import os
import re
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))

# The goals (a Go provider on terraform-plugin-framework: ~20 ms, ~19 MB, ~25 MB).
GOAL_HANDSHAKE_S = 0.002  # AutoMTLS median
GOAL_RSS_BYTES = 8_000_000
GOAL_SIZE_BYTES = 10_000_000
GOAL_RATIO = 1.5
GOAL_OVERLAP_RATIO = 1.1  # issue 11: `overlap` may cost at most this much over the same tokens without it
PROVIDER_SOURCE = "defentry/defentry"
PROVIDER_BINARY = "terraform-provider-defentry"
MAGIC_COOKIE = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2"
SERVICE_USER = "acme-backend-integration@partner.com"
SERVICE_PASSWORD = "your_service_account_password"

# Resource blocks for the scale benchmark; {n} is the count. The provider's block is a
# parameter (--provider-block) so the benchmark does not hard-code its schema.
DEFAULT_PROVIDER_BLOCK = 'resource "defentry_token" "bench" {{\n  count = {n}\n}}\n'
# The same tokens with an overlap window (issue 11), compared with the block above.
OVERLAP_NAME = "defentry_token with overlap"
DEFAULT_OVERLAP_BLOCK = 'resource "defentry_token" "bench" {{\n  count   = {n}\n  overlap = "1h"\n}}\n'
BASELINE_BLOCK = 'resource "terraform_data" "bench" {{\n  count = {n}\n  input = count.index\n}}\n'
# A second baseline carrying about what a token carries (seven values, two sensitive, mirrored
# into `output`): Terraform's own plan rendering and state serialisation grow with the data,
# so this separates Terraform's per-attribute cost from the provider's.
PAYLOAD_NAME = "terraform_data, token-sized input"
PAYLOAD_BLOCK = (
    'resource "terraform_data" "bench" {{\n  count = {n}\n  input = {{\n'
    '    id       = "tok-${{count.index}}-0123456789"\n'
    '    username = "acme-backend-integration@partner.com"\n'
    '    token    = sensitive("${{count.index}}|abcdefghijklmnopqrstuvwxyz0123456789abcdefghijkl")\n'
    '    header   = sensitive("Bearer ${{count.index}}|abcdefghijklmnopqrstuvwxyz0123456789abcdefghijkl")\n'
    '    created  = "2026-01-01T00:00:00Z"\n'
    '    keep     = "false"\n'
    '    extra    = "x"\n'
    '  }}\n}}\n'
)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def clean_env(extra=None):
    """The caller's environment minus anything that steers Terraform, plugins or the provider."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TF_", "PLUGIN_", "DEFENTRY_", "CHECKPOINT_"))
    }
    env["CHECKPOINT_DISABLE"] = "1"
    env.update(extra or {})
    return env


def stats(xs):
    xs = sorted(xs)
    if len(xs) >= 2:
        q = statistics.quantiles(xs, n=10, method="inclusive")
        return statistics.median(xs), q[0], q[8]
    return xs[0], xs[0], xs[0]


def ms(s):
    return f"{s * 1000:.1f} ms"


def mb(b):
    return f"{b / 1e6:.1f} MB"


def mib(b):
    return f"{b / 2**20:.1f} MiB"


def secs(s):
    return f"{s:.2f} s"


def verdict(value, goal):
    return "met" if value <= goal else "**missed**"


def table(headers, rows):
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


# ------------------------------------------------------------------------------------------
# binaries and Terraforms


def build(debug):
    cmd = ["cargo", "build", "--locked", "--bins"] + ([] if debug else ["--release"])
    log(f"$ {' '.join(cmd)}")
    subprocess.run(cmd, cwd=ROOT, check=True)
    out = os.path.join(ROOT, "target", "debug" if debug else "release")
    return os.path.join(out, "terraform-provider-defentry"), os.path.join(out, "defentry-mock")


def terraforms(only=None):
    if only:
        return [(version_of(only), only)]
    bin_dir = os.path.join(ROOT, ".tools", "bin")
    found = []
    for name in os.listdir(bin_dir) if os.path.isdir(bin_dir) else []:
        m = re.fullmatch(r"terraform-(\d+)\.(\d+)\.(\d+)", name)
        if m and os.path.exists(os.path.join(bin_dir, name)):
            found.append((tuple(map(int, m.groups())), os.path.join(bin_dir, name)))
    if not found:
        sys.exit("no Terraform in .tools/bin: run `make setup` (tools/ensure-terraform)")
    found.sort()
    # The oldest and the newest, like the e2e suites: nine schema benchmarks would add little.
    return found if len(found) <= 2 else [found[0], found[-1]]


def version_of(path):
    out = subprocess.run([path, "version", "-json"], env=clean_env(), capture_output=True, text=True)
    v = json.loads(out.stdout)["terraform_version"]
    return tuple(int(p) for p in v.split("-")[0].split("."))


def vlabel(v):
    return "terraform " + ".".join(map(str, v))


# ------------------------------------------------------------------------------------------
# (a) handshake


def client_cert_pem(tmp):
    """A Terraform-like AutoMTLS client cert (go-plugin mtls.go): ECDSA P-521, ecdsa-with-SHA512,
    CN=localhost, O=HashiCorp, SAN localhost, CA:TRUE, EKU client+server auth, ~30 years.
    Returns (pem, how) or (None, reason)."""
    try:
        import datetime

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        key = ec.generate_private_key(ec.SECP521R1())
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "HashiCorp"),
                x509.NameAttribute(NameOID.COMMON_NAME, "localhost"),
            ]
        )
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(seconds=30))
            .not_valid_after(now + datetime.timedelta(days=262980 // 24))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True, content_commitment=False, key_encipherment=True,
                    data_encipherment=False, key_agreement=False, key_cert_sign=True,
                    crl_sign=False, encipher_only=False, decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH]),
                critical=False,
            )
            .sign(key, hashes.SHA512())
        )
        return cert.public_bytes(serialization.Encoding.PEM).decode(), "python cryptography"
    except ImportError:
        pass
    if shutil.which("openssl"):
        key, crt = os.path.join(tmp, "client.key"), os.path.join(tmp, "client.crt")
        cmd = [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-521",
            "-sha512", "-nodes", "-keyout", key, "-out", crt, "-days", "10957",
            "-subj", "/O=HashiCorp/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign",
            "-addext", "extendedKeyUsage=clientAuth,serverAuth",
        ]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode == 0:
            with open(crt) as f:
                return f.read(), "openssl"
        return None, f"openssl failed: {r.stderr.strip()}"
    return None, "neither python `cryptography` nor `openssl` is available"


def read_line(proc, timeout):
    """First stdout line of proc, or None on EOF/timeout (no busy waiting: select on the pipe)."""
    fd = proc.stdout.fileno()
    buf = b""
    deadline = time.monotonic() + timeout
    while b"\n" not in buf:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return None
        chunk = os.read(fd, 4096)
        if not chunk:
            return None
        buf += chunk
    return buf.split(b"\n", 1)[0].decode(errors="replace")


def vm_hwm_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None


def handshake_once(argv, env):
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, cwd=tempfile.gettempdir(),
    )
    try:
        line = read_line(proc, 30)
        elapsed = time.perf_counter() - start
        hwm = vm_hwm_kib(proc.pid) if line is not None else None
    finally:
        proc.kill()
        proc.wait()
    if line is None:
        raise RuntimeError(f"no handshake line (exit {proc.returncode})")
    fields = line.split("|")
    if len(fields) < 6 or fields[0] != "1" or fields[1] != "6":
        raise RuntimeError(f"unexpected handshake line: {line[:120]!r}")
    return elapsed, hwm, fields


# What exec → first stdout line costs here for a program that does nothing else: the floor
# under any provider's figure on this machine (fork/exec from Python, dynamic loading, pipe).
FLOOR_NAME = "floor: /bin/echo of a handshake-shaped line"
FLOOR_ARGV = ["/bin/echo", "1|6|unix|/nonexistent|grpc|"]


def bench_handshake(provider, starts, tmp):
    base = {
        # Sockets of killed providers land here and go away with the temp dir.
        "TMPDIR": tmp,
        "PLUGIN_UNIX_SOCKET_DIR": tmp,
        "TF_PLUGIN_MAGIC_COOKIE": MAGIC_COOKIE,
        "PLUGIN_PROTOCOL_VERSIONS": "6",
        "PLUGIN_MIN_PORT": "0",
        "PLUGIN_MAX_PORT": "0",
    }
    variants = [("plaintext", [provider], clean_env(base))]
    pem, how = client_cert_pem(tmp)
    if pem:
        variants.append(
            (f"AutoMTLS (P-521 client cert via {how})", [provider], clean_env({**base, "PLUGIN_CLIENT_CERT": pem}))
        )
    if os.path.exists(FLOOR_ARGV[0]):
        variants.append((FLOOR_NAME, FLOOR_ARGV, clean_env()))
    log(f"(a) handshake: {', '.join(v[0] for v in variants)}; {starts} interleaved starts each")
    results = {name: {"times": [], "hwms": [], "error": None} for name, _, _ in variants}
    for name, argv, env in variants:
        try:
            handshake_once(argv, env)  # warm the page cache
        except (RuntimeError, OSError) as e:
            results[name]["error"] = str(e)
    # Interleaved, so drift in the machine's speed hits every variant alike.
    for _ in range(starts):
        for name, argv, env in variants:
            res = results[name]
            if res["error"]:
                continue
            try:
                t, hwm, fields = handshake_once(argv, env)
            except (RuntimeError, OSError) as e:
                res["error"] = str(e)
                continue
            if "AutoMTLS" in name and len(fields[5]) <= 50:
                res["error"] = "AutoMTLS requested but the handshake carries no server cert"
                continue
            res["times"].append(t)
            if hwm:
                res["hwms"].append(hwm * 1024)
    rows = []
    for name, _, _ in variants:
        res = results[name]
        if res["error"] or not res["times"]:
            rows.append([name, f"failed: {res['error']}", "", "", "", "", ""])
            continue
        med, p10, p90 = stats(res["times"])
        hwms = res["hwms"]
        goal = ""
        if "AutoMTLS" in name:
            goal = (
                f"time ≤ {ms(GOAL_HANDSHAKE_S)}: {verdict(med, GOAL_HANDSHAKE_S)}; "
                f"RSS ≤ {mb(GOAL_RSS_BYTES)}: {verdict(max(hwms), GOAL_RSS_BYTES)}"
            )
        rows.append([
            name, ms(med), ms(p10), ms(p90),
            mib(statistics.median(hwms)) if hwms else "n/a", mib(max(hwms)) if hwms else "n/a", goal,
        ])
    if not pem:
        rows.append(["AutoMTLS", f"skipped: {how}", "", "", "", "", ""])
    return f"### (a) exec → handshake line ({starts} interleaved starts each)\n\n" + table(
        ["variant", "median", "p10", "p90", "VmHWM median", "VmHWM max", "goal"], rows
    )


# ------------------------------------------------------------------------------------------
# (b) size


def elf_section_names(path):
    """Section names of a 64-bit little-endian ELF file, or None if it is not one."""
    import struct

    with open(path, "rb") as f:
        ident = f.read(64)
        if len(ident) < 64 or ident[:4] != b"\x7fELF" or ident[4] != 2 or ident[5] != 1:
            return None
        shoff, = struct.unpack_from("<Q", ident, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", ident, 0x3A)
        f.seek(shoff)
        headers = f.read(shentsize * shnum)
        def section(i):
            return struct.unpack_from("<IIQQQQ", headers, i * shentsize)
        _, _, _, _, str_off, str_size = section(shstrndx)
        f.seek(str_off)
        strtab = f.read(str_size)
    names = []
    for i in range(shnum):
        name_off = section(i)[0]
        names.append(strtab[name_off:strtab.index(b"\0", name_off)].decode(errors="replace"))
    return names


def bench_size(provider, debug):
    size = os.path.getsize(provider)
    sections = elf_section_names(provider)
    if sections is None:
        stripped = "unknown (not an ELF64 file)"
    elif ".symtab" in sections or any(n.startswith(".debug_") for n in sections):
        stripped = "no (symbols or debug info present)"
    else:
        stripped = "yes"
    build = "debug" if debug else "release (LTO, 1 codegen unit, strip = true)"
    goal = "" if debug else f"≤ {mb(GOAL_SIZE_BYTES)}: {verdict(size, GOAL_SIZE_BYTES)}"
    return "### (b) binary size\n\n" + table(
        ["binary", "bytes", "size", "build", "stripped", "goal"],
        [[os.path.basename(provider), size, f"{mb(size)} ({mib(size)})", build, stripped, goal]],
    )


# ------------------------------------------------------------------------------------------
# Terraform workspaces


class Workspace:
    def __init__(self, tf, provider, extra_env=None):
        self.tf = tf
        self.tmp = tempfile.TemporaryDirectory(prefix="bench-")
        self.dir = os.path.join(self.tmp.name, "work")
        os.makedirs(self.dir)
        # dev_overrides name a directory and Terraform looks for terraform-provider-<type>
        # in it, so a --provider binary under any other name gets a symlink with that name.
        plugins = os.path.join(self.tmp.name, "plugins")
        os.makedirs(plugins)
        os.symlink(os.path.abspath(provider), os.path.join(plugins, PROVIDER_BINARY))
        cfg = os.path.join(self.tmp.name, "terraform.tfrc")
        with open(cfg, "w") as f:
            f.write(
                "provider_installation {\n  dev_overrides {\n"
                f"    {json.dumps(PROVIDER_SOURCE)} = {json.dumps(plugins)}\n"
                "  }\n  direct {}\n}\n"
            )
        self.env = clean_env(
            {
                "TF_CLI_CONFIG_FILE": cfg,
                "HOME": self.tmp.name,
                "TF_IN_AUTOMATION": "1",
                "TF_INPUT": "0",
                "TF_CLI_ARGS": "-no-color",
                **(extra_env or {}),
            }
        )

    def write(self, name, text):
        with open(os.path.join(self.dir, name), "w") as f:
            f.write(text)

    def timed(self, *args):
        start = time.perf_counter()
        r = subprocess.run(
            [self.tf, *args], cwd=self.dir, env=self.env, stdin=subprocess.DEVNULL,
            capture_output=True, text=True,
        )
        elapsed = time.perf_counter() - start
        if r.returncode != 0:
            err = [l for l in (r.stderr or r.stdout).splitlines() if l.strip() and "Warning" not in l]
            raise RuntimeError(f"`terraform {' '.join(args)}` exited {r.returncode}: " + " / ".join(err[:4])[:300])
        return elapsed

    def close(self):
        self.tmp.cleanup()


PROVIDER_TF = (
    'terraform {\n  required_providers {\n    defentry = { source = "defentry/defentry" }\n  }\n}\n\n'
    'provider "defentry" {}\n'
)


def bench_schema(provider, tfs, runs):
    rows = []
    for v, tf in tfs:
        log(f"(c) providers schema -json: {vlabel(v)}")
        ws = Workspace(tf, provider)
        ws.write("main.tf", PROVIDER_TF)
        try:
            ws.timed("providers", "schema", "-json")  # warm-up
            med, p10, p90 = stats([ws.timed("providers", "schema", "-json") for _ in range(runs)])
            rows.append([vlabel(v), ms(med), ms(p10), ms(p90)])
        except RuntimeError as e:
            rows.append([vlabel(v), f"failed: {e}", "", ""])
        finally:
            ws.close()
    return f"### (c) `terraform providers schema -json` (median of {runs})\n\n" + table(
        ["Terraform", "median", "p10", "p90"], rows
    )


class MockServer:
    def __init__(self, binary):
        self.proc = subprocess.Popen(
            [binary, "--listen", "127.0.0.1:0"], env=clean_env(), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )
        self.url = read_line(self.proc, 30)
        if not self.url or not self.url.startswith("http://"):
            self.close()
            raise RuntimeError(f"defentry-mock did not print its URL (got {self.url!r})")

    def close(self):
        self.proc.kill()
        self.proc.wait()


def bench_scale(provider, mock_bin, tf, n, rounds, provider_block, parallelism, overlap_block=""):
    log(f"(d) scale: {n} resources, {rounds} rounds, {vlabel(version_of(tf))}")
    try:
        mock = MockServer(mock_bin)
    except (RuntimeError, OSError) as e:
        mock = None
        mock_error = str(e)
    variants = [
        ("terraform_data", BASELINE_BLOCK.format(n=n), {}),
        (PAYLOAD_NAME, PAYLOAD_BLOCK.format(n=n), {}),
    ]
    if mock:
        prov_env = {
            "DEFENTRY_API_DOMAIN": mock.url,
            "DEFENTRY_USERNAME": SERVICE_USER,
            "DEFENTRY_PASSWORD": SERVICE_PASSWORD,
        }
        label = re.search(r'resource\s+"([^"]+)"', provider_block)
        provider_name = label.group(1) if label else "provider"
        variants.insert(0, (provider_name, PROVIDER_TF + "\n" + provider_block.format(n=n), prov_env))
        if overlap_block:
            variants.insert(1, (OVERLAP_NAME, PROVIDER_TF + "\n" + overlap_block.format(n=n), prov_env))
    results = {name: {"apply": [], "destroy": [], "error": None} for name, _, _ in variants}
    par = [f"-parallelism={parallelism}"] if parallelism else []
    try:
        for r in range(rounds):
            order = list(variants)
            if overlap_block and mock and r % 2:
                # The variant that runs second measured slower whichever it was (tried both
                # ways), so the two token variants swap places every other round.
                order[0], order[1] = order[1], order[0]
            for name, hcl, env in order:  # interleaved, so drift in machine load hits both
                res = results[name]
                if res["error"]:
                    continue
                ws = Workspace(tf, provider, env)
                ws.write("main.tf", hcl)
                try:
                    res["apply"].append(ws.timed("apply", "-auto-approve", "-input=false", "-no-color", *par))
                    res["destroy"].append(ws.timed("destroy", "-auto-approve", "-input=false", "-no-color", *par))
                except RuntimeError as e:
                    res["error"] = str(e)
                finally:
                    ws.close()
                log(f"    round {r + 1}: {name} done")
    finally:
        if mock:
            mock.close()
    base = results["terraform_data"]
    base_total = (
        statistics.median([a + d for a, d in zip(base["apply"], base["destroy"])]) if base["apply"] and not base["error"] else None
    )
    plain = results.get(variants[0][0]) if mock else None
    plain_total = (
        statistics.median([a + d for a, d in zip(plain["apply"], plain["destroy"])])
        if plain and plain["apply"] and not plain["error"] else None
    )
    rows = []
    for name, _, _ in variants:
        res = results[name]
        if res["error"] or not res["apply"]:
            rows.append([name, f"failed: {res['error']}", "", "", "", ""])
            continue
        total = statistics.median([a + d for a, d in zip(res["apply"], res["destroy"])])
        ratio = f"{total / base_total:.2f}×" if base_total else "n/a"
        goal = ""
        if name == OVERLAP_NAME:
            if plain_total:
                r = total / plain_total
                goal = f"{r:.2f}× {variants[0][0]}, goal ≤ {GOAL_OVERLAP_RATIO}×: {verdict(r, GOAL_OVERLAP_RATIO)}"
        elif base_total and name not in ("terraform_data", PAYLOAD_NAME):
            goal = f"≤ {GOAL_RATIO}×: {verdict(total / base_total, GOAL_RATIO)}"
        rows.append([
            name, secs(statistics.median(res["apply"])), secs(statistics.median(res["destroy"])),
            secs(total), ratio, goal,
        ])
    if not mock:
        rows.insert(0, ["provider resources", f"skipped: {mock_error}", "", "", "", ""])
    return f"### (d) apply + destroy of {n} resources (median of {rounds} interleaved rounds)\n\n" + table(
        ["resources", "apply", "destroy", "apply+destroy", "vs terraform_data", "goal"], rows
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--debug", action="store_true", help="use debug binaries (quick check of the script)")
    ap.add_argument("--no-build", action="store_true", help="use the binaries already in target/")
    ap.add_argument("--starts", type=int, default=100, help="starts of each variant for (a)")
    ap.add_argument("--schema-runs", type=int, default=5, help="runs for (c)")
    ap.add_argument("--scale", type=int, default=200, help="resources for (d); 0 skips it")
    ap.add_argument("--rounds", type=int, default=3, help="rounds for (d)")
    ap.add_argument("--parallelism", type=int, default=0, help="terraform -parallelism for (d)")
    ap.add_argument(
        "--provider-block", default=DEFAULT_PROVIDER_BLOCK,
        help="HCL of the provider's resource for (d); {n} is the count, literal braces doubled",
    )
    ap.add_argument(
        "--overlap-block", default=DEFAULT_OVERLAP_BLOCK,
        help="HCL of the same resource with `overlap` for (d), compared with --provider-block; '' skips it",
    )
    ap.add_argument("--terraform", help="benchmark only this Terraform binary")
    ap.add_argument("--provider", help="provider binary to measure instead of the built one")
    ap.add_argument("--mock", help="defentry-mock binary to use instead of the built one")
    ap.add_argument("--only", default="abcd", help="which benchmarks to run, e.g. 'ab'")
    args = ap.parse_args()

    if args.no_build:
        out = os.path.join(ROOT, "target", "debug" if args.debug else "release")
        provider, mock = os.path.join(out, "terraform-provider-defentry"), os.path.join(out, "defentry-mock")
    else:
        provider, mock = build(args.debug)
    provider = os.path.abspath(args.provider) if args.provider else provider
    mock = os.path.abspath(args.mock) if args.mock else mock
    tfs = terraforms(args.terraform) if set(args.only) & set("cd") else []

    sections = [
        f"## Benchmarks ({'debug' if args.debug else 'release'} build, {os.cpu_count()} CPUs, "
        f"{time.strftime('%Y-%m-%d %H:%M')})"
    ]
    with tempfile.TemporaryDirectory(prefix="bench-cert-") as tmp:
        if "a" in args.only:
            sections.append(bench_handshake(provider, args.starts, tmp))
    if "b" in args.only:
        sections.append(bench_size(provider, args.debug))
    if "c" in args.only:
        sections.append(bench_schema(provider, tfs, args.schema_runs))
    if "d" in args.only and args.scale > 0:
        sections.append(
            bench_scale(
                provider, mock, tfs[-1][1], args.scale, args.rounds, args.provider_block, args.parallelism,
                args.overlap_block,
            )
        )
    print("\n\n".join(sections))


if __name__ == "__main__":
    main()
