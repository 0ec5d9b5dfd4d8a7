#!/usr/bin/env python3
"""Provider benchmarks (`make bench`). Writes JSON, prints Markdown rendered from it; no pass/fail.

  (a) exec -> handshake line of the provider, plaintext and with AutoMTLS (a Terraform-like
      P-521 CA:TRUE client cert), median/p10/p90 of N interleaved starts, and peak RSS (VmHWM)
      right after the handshake; /bin/echo printing such a line gives the machine's floor;
  (b) size of the stripped release binary;
  (c) wall time of `terraform providers schema -json` in a dev_overrides workspace, per Terraform;
  (d) scale: apply+destroy of N resources of the provider vs the same number of
      `terraform_data` (and a `terraform_data` carrying a token-sized payload), and the same
      tokens with `overlap` against those without, interleaved rounds, medians and the ratios;
  (e) rate limit (issue 17): apply and destroy of N `defentry_token`s against defentry-mock with
      its fixed-window limiter (`--rate-limit L --rate-limit-window W`), each time divided by the
      limiter's floor, and the 429s the provider received per window;
  (f) codec memory (issue 19): peak memory a msgpack decode adds per input byte, per input
      shape, from `cargo run --example cty_memory` (or `--codec-cmd`); skipped, with the reason
      in the JSON, when the tree has no such example.

Run from the repository root: `python3 bench/run.py [--debug] [--starts 30] [--scale 200] ...`.
`--render FILE.json` prints the Markdown of an earlier run without measuring anything.

The rate-limit floor. The limiter is Laravel's fixed window (RateLimiter::hit): the first
counted request in a bucket opens a window of W seconds; L requests are allowed in it; a
request refused with 429 is not counted; the next counted request after the window has
expired opens a new one. A command whose requests to one bucket number R (counted, i.e. not
answered 429) needs ceil(R/L) windows, and each window opens at least W seconds after the one
before, so the last one opens at least (ceil(R/L) - 1) * W after the first request:

    floor = max over buckets of (ceil(R_b / L) - 1) * W        (0 when every R_b <= L)

Buckets are per IP before login (`login`, password forgot/reset) and per user after (every
request carrying a token: logout, 2FA), as the mock keys them. R_b is counted from the mock's
request log for the command itself; each round starts a fresh mock, and before the destroy the
bench waits until every window the apply opened has expired (GET /_mock/rate-limit lists
them), so each command starts on fresh buckets. The floor leaves out the work a command does
without any limiter (Terraform's plan and state, the requests' own time; measured against a
mock without a limiter and shown as "unthrottled"): the goal's 15% covers that. 100 tokens at
60/min: apply makes 100 logins (one bucket, R = 100), floor (2 - 1) * 60 = 60 s; destroy makes
100 logouts (the user's bucket), 60 s. 429s per window = the mock's `throttled` / `windows`
counters (GET /_mock/rate-limit) over the command.

JSON (`--json PATH`, default target/bench/latest.json), schema 1. Keys are stable; a new key
may be added without a schema bump, a renamed or retyped one bumps it:

  schema        1
  generated     UTC time the run started, "YYYY-MM-DDTHH:MM:SSZ"
  build         "release" or "debug"
  cpus          os.cpu_count()
  provider      path of the provider binary measured; mock: the defentry-mock binary
  args          the command-line options, by name
  sections      {"a": {"title": str, "note": str | null}, ...} for the benchmarks that ran
  measurements  list, one entry per measurement, in the order run:
    id          stable dotted name:
                (a) handshake.{plaintext,automtls,floor}.time, handshake.{plaintext,automtls}.rss,
                    handshake.automtls.above_floor (AutoMTLS median minus the floor's)
                (b) size.binary (info.stripped: true/false/null)
                (c) schema.terraform-X.Y.Z
                (d) scale.{provider,provider_overlap,terraform_data,terraform_data_payload}.
                    {apply,destroy,total}, scale.<those but terraform_data>.ratio (÷ terraform_data),
                    scale.provider_overlap.vs_plain
                (e) ratelimit.{apply,destroy}.{time,floor,unthrottled,ratio,throttled_per_window}
                (f) codec.<input shape>.bytes_per_byte, e.g. codec.nulls.bytes_per_byte
                What could not run has a failed or skipped entry carrying the error:
                handshake.<variant>.time, scale.<variant>.total, ratelimit.{apply,destroy}.ratio
                (or .throttled_per_window alone), codec.bytes_per_byte.
    section     "a" .. "f"
    title       what was measured, for people
    unit        "s", "bytes", "ratio" (dimensionless), "count" or "bytes/byte"
    median      the figure (a number), or null when the measurement failed or was skipped;
                for a derived entry (a ratio, a difference) the figure computed from the
                medians of the entries in info.from, its samples the per-round values
    samples     every sample, in the unit, in the order taken ([] when none)
    p10, p90    deciles of the samples, or null (one sample, or not meaningful)
    max         largest sample, or null
    goal        null, or {"max": number, "stat": "median" | "max", "text": str}: met when
                the entry's `stat` is <= `max`
    verdict     "met", "missed", or null (no goal, or no figure)
    status      "ok", "failed" or "skipped"
    error       why it failed or was skipped, else null
    info        object of further facts for that entry (labels, counts, Terraform version)

Exit status is 0 whatever the verdicts; non-zero only when the script itself cannot run.
"""

import argparse
import datetime
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(__file__))), "tools"))
import devkit  # noqa: E402

ROOT = devkit.ROOT
SCHEMA = 1
DEFAULT_JSON = os.path.join(ROOT, "target", "bench", "latest.json")

# The goals (a Go provider on terraform-plugin-framework: ~20 ms, ~19 MB, ~25 MB).
GOAL_HANDSHAKE_S = 0.002  # AutoMTLS median
GOAL_RSS_BYTES = 8_000_000
GOAL_SIZE_BYTES = 10_000_000
GOAL_RATIO = 1.5
GOAL_OVERLAP_RATIO = 1.1  # issue 11: `overlap` may cost at most this much over the same tokens without it
GOAL_RATELIMIT_RATIO = 1.15  # issue 17: apply (destroy) time ÷ the limiter's floor
GOAL_THROTTLED_PER_WINDOW = 3  # issue 17: 429s received per limiter window
PROVIDER_BINARY = devkit.PROVIDER_BINARY
MAGIC_COOKIE = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2"

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


# ------------------------------------------------------------------------------------------
# measurements (the JSON) and their Markdown


class Results:
    """The run's JSON document; every figure the Markdown shows is in `measurements`."""

    def __init__(self, meta):
        self.doc = {"schema": SCHEMA, **meta, "sections": {}, "measurements": []}

    def section(self, key, title, note=None):
        self.doc["sections"][key] = {"title": title, "note": note}

    def add(self, id, section, title, unit, samples=(), median=None, goal=None, info=None,
            status="ok", error=None, spread=True):
        """One measurement; `median` defaults to the samples' median (a derived entry passes it)."""
        samples = [float(x) for x in samples]
        if status == "ok" and median is None and samples:
            median = statistics.median(samples)
        p10 = p90 = None
        if spread and len(samples) >= 2:
            q = statistics.quantiles(sorted(samples), n=10, method="inclusive")
            p10, p90 = q[0], q[8]
        entry = {
            "id": id, "section": section, "title": title, "unit": unit,
            "median": median if status == "ok" else None,
            "samples": samples, "p10": p10, "p90": p90, "max": max(samples) if samples else None,
            "goal": goal, "verdict": None, "status": status, "error": error, "info": info or {},
        }
        if goal and entry["median"] is not None:
            judged = entry["max"] if goal["stat"] == "max" else entry["median"]
            entry["verdict"] = "met" if judged is not None and judged <= goal["max"] else "missed"
        self.doc["measurements"].append(entry)
        return entry

    def failed(self, id, section, title, unit, error, info=None, skipped=False):
        return self.add(id, section, title, unit, info=info, status="skipped" if skipped else "failed",
                        error=error)


def goal(limit, text, stat="median"):
    return {"max": limit, "stat": stat, "text": text}


def ms(s):
    return f"{s * 1000:.1f} ms"


def mb(b):
    return f"{b / 1e6:.1f} MB"


def mib(b):
    return f"{b / 2**20:.1f} MiB"


def secs(s):
    return f"{s:.2f} s"


def ratio(r):
    return f"{r:.2f}×"


def verdict_md(entry):
    if entry["verdict"] is None:
        return ""
    return entry["goal"]["text"] + ": " + ("met" if entry["verdict"] == "met" else "**missed**")


def not_ok(entry):
    return f"{entry['status']}: {entry['error']}"


def table(headers, rows):
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def render(doc):
    """Markdown for a results document (from this run or `--render`): numbers only from it."""
    if doc.get("schema") != SCHEMA:
        sys.exit(f"results schema {doc.get('schema')!r}: this script renders schema {SCHEMA}")
    by_section = {}
    for m in doc["measurements"]:
        by_section.setdefault(m["section"], []).append(m)
    out = [f"## Benchmarks ({doc['build']} build, {doc['cpus']} CPUs, {doc['generated']})"]
    renderers = {"a": render_handshake, "b": render_size, "c": render_schema, "d": render_scale,
                 "e": render_ratelimit, "f": render_codec}
    for key, sec in doc["sections"].items():
        text = f"### ({key}) {sec['title']}\n\n" + renderers[key](by_section.get(key, []))
        if sec.get("note"):
            text += "\n\n" + sec["note"]
        out.append(text)
    return "\n\n".join(out)


def find(entries, id):
    return next((m for m in entries if m["id"] == id), None)


# ------------------------------------------------------------------------------------------
# binaries, Terraform, workspaces and the mock (tools/devkit.py holds what the tools share)


def build(debug):
    cmd = ["cargo", "build", "--locked", "--bins"] + ([] if debug else ["--release"])
    log(f"$ {' '.join(cmd)}")
    subprocess.run(cmd, cwd=ROOT, check=True)
    profile = "debug" if debug else "release"
    return devkit.target_binary(PROVIDER_BINARY, profile), devkit.target_binary(devkit.MOCK_BINARY, profile)


def terraforms(only=None):
    if only:
        return [(version_of(only), only)]
    found = devkit.terraforms()
    # The oldest and the newest, like the e2e suites: nine schema benchmarks would add little.
    return found if len(found) <= 2 else [found[0], found[-1]]


def version_of(path):
    v = devkit.terraform_version(path)
    if v is None:
        raise devkit.ToolError(f"{path} does not say its version (`version -json`)")
    return v


def read_line(proc, timeout):
    """First stdout line of proc, or None on EOF/timeout (select on the pipe, no sleep)."""
    try:
        return devkit.read_line(proc, lambda _: True, timeout, os.path.basename(str(proc.args[0])))
    except devkit.ToolError:
        return None


class Workspace(devkit.Workspace):
    """A devkit workspace running the provider under test through dev_overrides."""

    def __init__(self, tf, plugins, extra_env=None):
        super().__init__(tf, cli_config=devkit.dev_overrides_config(plugins), extra_env=extra_env,
                         private_home=True)

    def timed(self, *args):
        """Seconds `terraform ARGS` took; RuntimeError with its first error lines if it failed."""
        code, out, seconds = self.run(*args, expect_ok=False)
        if code != 0:
            err = [l for l in out.splitlines() if l.strip() and "Warning" not in l]
            raise RuntimeError(f"`terraform {' '.join(args)}` exited {code}: " + " / ".join(err[:4])[:300])
        return seconds


class MockServer(devkit.Mock):
    """defentry-mock; `settings` become its DEFENTRY_MOCK_* environment (its flags' twins)."""

    def __init__(self, binary, settings=None):
        try:
            super().__init__(binary, env=devkit.scrubbed_env(settings))
        except (devkit.ToolError, OSError) as e:
            raise RuntimeError(f"defentry-mock {settings or ''}: {e}") from e

    def get(self, path):
        try:
            with urllib.request.urlopen(self.url.rstrip("/") + path, timeout=30) as r:
                return json.load(r)
        except OSError as e:
            raise RuntimeError(f"defentry-mock GET {path}: {e}") from e


PROVIDER_TF = (
    'terraform {\n  required_providers {\n    defentry = { source = "defentry/defentry" }\n  }\n}\n\n'
    'provider "defentry" {}\n'
)


# ------------------------------------------------------------------------------------------
# (a) handshake


def client_cert_pem(tmp):
    """A Terraform-like AutoMTLS client cert (go-plugin mtls.go): ECDSA P-521, ecdsa-with-SHA512,
    CN=localhost, O=HashiCorp, SAN localhost, CA:TRUE, EKU client+server auth, ~30 years.
    Returns (pem, how) or (None, reason)."""
    try:
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


def bench_handshake(res, provider, starts, tmp):
    res.section("a", f"exec → handshake line ({starts} interleaved starts each)")
    base = {
        # Sockets of killed providers land here and go away with the temp dir.
        "TMPDIR": tmp,
        "PLUGIN_UNIX_SOCKET_DIR": tmp,
        "TF_PLUGIN_MAGIC_COOKIE": MAGIC_COOKIE,
        "PLUGIN_PROTOCOL_VERSIONS": "6",
        "PLUGIN_MIN_PORT": "0",
        "PLUGIN_MAX_PORT": "0",
    }
    # (key, label, argv, env)
    variants = [("plaintext", "plaintext", [provider], devkit.scrubbed_env(base))]
    pem, how = client_cert_pem(tmp)
    if pem:
        variants.append(("automtls", f"AutoMTLS (P-521 client cert via {how})", [provider],
                         devkit.scrubbed_env({**base, "PLUGIN_CLIENT_CERT": pem})))
    if os.path.exists(FLOOR_ARGV[0]):
        variants.append(("floor", FLOOR_NAME, FLOOR_ARGV, devkit.scrubbed_env()))
    log(f"(a) handshake: {', '.join(v[1] for v in variants)}; {starts} interleaved starts each")
    results = {key: {"times": [], "hwms": [], "error": None} for key, _, _, _ in variants}
    for key, _, argv, env in variants:
        try:
            handshake_once(argv, env)  # warm the page cache
        except (RuntimeError, OSError) as e:
            results[key]["error"] = str(e)
    # Interleaved, so drift in the machine's speed hits every variant alike.
    for _ in range(starts):
        for key, _, argv, env in variants:
            r = results[key]
            if r["error"]:
                continue
            try:
                t, hwm, fields = handshake_once(argv, env)
            except (RuntimeError, OSError) as e:
                r["error"] = str(e)
                continue
            if key == "automtls" and len(fields[5]) <= 50:
                r["error"] = "AutoMTLS requested but the handshake carries no server cert"
                continue
            r["times"].append(t)
            if hwm:
                r["hwms"].append(hwm * 1024)
    for key, label, _, _ in variants:
        r = results[key]
        info = {"label": label}
        if r["error"] or not r["times"]:
            res.failed(f"handshake.{key}.time", "a", f"exec → handshake line, {label}", "s", r["error"], info)
            continue
        res.add(f"handshake.{key}.time", "a", f"exec → handshake line, {label}", "s", r["times"], info=info,
                goal=goal(GOAL_HANDSHAKE_S, f"time ≤ {ms(GOAL_HANDSHAKE_S)}") if key == "automtls" else None)
        if key != "floor" and r["hwms"]:
            res.add(f"handshake.{key}.rss", "a", f"peak RSS (VmHWM) after the handshake, {label}", "bytes",
                    r["hwms"], info=info, spread=False,
                    goal=goal(GOAL_RSS_BYTES, f"RSS ≤ {mb(GOAL_RSS_BYTES)}", stat="max") if key == "automtls" else None)
    if not pem:
        res.failed("handshake.automtls.time", "a", "exec → handshake line, AutoMTLS", "s", how,
                   {"label": "AutoMTLS"}, skipped=True)
    mtls, floor = find(res.doc["measurements"], "handshake.automtls.time"), find(res.doc["measurements"], "handshake.floor.time")
    if mtls and floor and mtls["median"] is not None and floor["median"] is not None:
        # What the provider adds over exec itself: the machine's load moves both alike.
        res.add("handshake.automtls.above_floor", "a", "AutoMTLS handshake median minus the exec floor's", "s",
                median=mtls["median"] - floor["median"], info={"from": [mtls["id"], floor["id"]]},
                goal=goal(GOAL_HANDSHAKE_S, f"≤ {ms(GOAL_HANDSHAKE_S)} above the floor"))


def render_handshake(entries):
    rows = []
    for m in entries:
        if not m["id"].endswith(".time"):
            continue
        label = m["info"].get("label", m["id"])
        if m["status"] != "ok":
            rows.append([label if m["status"] == "failed" else "AutoMTLS", not_ok(m), "", "", "", "", ""])
            continue
        rss = find(entries, m["id"][: -len(".time")] + ".rss")
        g = "; ".join(v for v in (verdict_md(m), verdict_md(rss) if rss else "") if v)
        rows.append([
            label, ms(m["median"]), ms(m["p10"]) if m["p10"] is not None else "",
            ms(m["p90"]) if m["p90"] is not None else "",
            mib(rss["median"]) if rss else "n/a", mib(rss["max"]) if rss else "n/a", g,
        ])
    out = table(["variant", "median", "p10", "p90", "VmHWM median", "VmHWM max", "goal"], rows)
    above = find(entries, "handshake.automtls.above_floor")
    if above:
        out += f"\n\nAutoMTLS above the floor: {ms(above['median'])} ({verdict_md(above)})."
    return out


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


def bench_size(res, provider, debug):
    res.section("b", "binary size")
    size = os.path.getsize(provider)
    sections = elf_section_names(provider)
    if sections is None:
        stripped, why = None, "unknown (not an ELF64 file)"
    elif ".symtab" in sections or any(n.startswith(".debug_") for n in sections):
        stripped, why = False, "no (symbols or debug info present)"
    else:
        stripped, why = True, "yes"
    build_kind = "debug" if debug else "release (LTO, 1 codegen unit, strip = true)"
    res.add("size.binary", "b", "size of the provider binary", "bytes", [size],
            goal=None if debug else goal(GOAL_SIZE_BYTES, f"≤ {mb(GOAL_SIZE_BYTES)}"),
            info={"binary": os.path.basename(provider), "build": build_kind, "stripped": stripped,
                  "stripped_text": why})


def render_size(entries):
    m = find(entries, "size.binary")
    size = int(m["median"])
    return table(
        ["binary", "bytes", "size", "build", "stripped", "goal"],
        [[m["info"]["binary"], size, f"{mb(size)} ({mib(size)})", m["info"]["build"],
          m["info"]["stripped_text"], verdict_md(m)]],
    )


# ------------------------------------------------------------------------------------------
# (c) schema


def bench_schema(res, plugins, tfs, runs):
    res.section("c", f"`terraform providers schema -json` (median of {runs})")
    for v, tf in tfs:
        log(f"(c) providers schema -json: terraform {devkit.label(v)}")
        id, title, info = f"schema.terraform-{devkit.label(v)}", f"terraform {devkit.label(v)} providers schema -json", {"terraform": devkit.label(v)}
        ws = Workspace(tf, plugins)
        ws.write("main.tf", PROVIDER_TF)
        try:
            ws.timed("providers", "schema", "-json")  # warm-up
            res.add(id, "c", title, "s", [ws.timed("providers", "schema", "-json") for _ in range(runs)], info=info)
        except RuntimeError as e:
            res.failed(id, "c", title, "s", str(e), info)
        finally:
            ws.close()


def render_schema(entries):
    rows = []
    for m in entries:
        label = "terraform " + m["info"]["terraform"]
        if m["status"] != "ok":
            rows.append([label, not_ok(m), "", ""])
        else:
            rows.append([label, ms(m["median"]), ms(m["p10"]) if m["p10"] is not None else "",
                         ms(m["p90"]) if m["p90"] is not None else ""])
    return table(["Terraform", "median", "p10", "p90"], rows)


# ------------------------------------------------------------------------------------------
# (d) scale


def bench_scale(res, plugins, mock_bin, tf, n, rounds, provider_block, parallelism, overlap_block=""):
    v = version_of(tf)
    res.section("d", f"apply + destroy of {n} resources (median of {rounds} interleaved rounds)")
    log(f"(d) scale: {n} resources, {rounds} rounds, terraform {devkit.label(v)}")
    try:
        mock = MockServer(mock_bin)
    except (RuntimeError, OSError) as e:
        mock = None
        mock_error = str(e)
    label = re.search(r'resource\s+"([^"]+)"', provider_block)
    provider_name = label.group(1) if label else "provider"
    # (key, label, hcl, env)
    variants = [
        ("terraform_data", "terraform_data", BASELINE_BLOCK.format(n=n), {}),
        ("terraform_data_payload", PAYLOAD_NAME, PAYLOAD_BLOCK.format(n=n), {}),
    ]
    if mock:
        env = mock.env()
        variants.insert(0, ("provider", provider_name, PROVIDER_TF + "\n" + provider_block.format(n=n), env))
        if overlap_block:
            variants.insert(1, ("provider_overlap", OVERLAP_NAME, PROVIDER_TF + "\n" + overlap_block.format(n=n), env))
    results = {key: {"apply": [], "destroy": [], "error": None} for key, _, _, _ in variants}
    par = [f"-parallelism={parallelism}"] if parallelism else []
    try:
        for r in range(rounds):
            order = list(variants)
            if overlap_block and mock and r % 2:
                # The variant that runs second measured slower whichever it was (tried both
                # ways), so the two token variants swap places every other round.
                order[0], order[1] = order[1], order[0]
            for key, name, hcl, env in order:  # interleaved, so drift in machine load hits both
                rr = results[key]
                if rr["error"]:
                    continue
                ws = Workspace(tf, plugins, env)
                ws.write("main.tf", hcl)
                try:
                    rr["apply"].append(ws.timed("apply", "-auto-approve", "-input=false", "-no-color", *par))
                    rr["destroy"].append(ws.timed("destroy", "-auto-approve", "-input=false", "-no-color", *par))
                except RuntimeError as e:
                    rr["error"] = str(e)
                finally:
                    ws.close()
                log(f"    round {r + 1}: {name} done")
    finally:
        if mock:
            mock.stop()
    if not mock:
        res.failed("scale.provider.total", "d", f"apply + destroy of {n} provider resources", "s", mock_error,
                   {"label": "provider resources"}, skipped=True)
    totals = {}
    for key, name, _, _ in variants:
        rr = results[key]
        info = {"label": name, "resources": n, "terraform": devkit.label(v), "rounds": rounds}
        if rr["error"] or not rr["apply"]:
            res.failed(f"scale.{key}.total", "d", f"apply + destroy of {n} {name}", "s", rr["error"], info)
            continue
        res.add(f"scale.{key}.apply", "d", f"apply of {n} {name}", "s", rr["apply"], info=info)
        res.add(f"scale.{key}.destroy", "d", f"destroy of {n} {name}", "s", rr["destroy"], info=info)
        totals[key] = res.add(f"scale.{key}.total", "d", f"apply + destroy of {n} {name}", "s",
                              [a + d for a, d in zip(rr["apply"], rr["destroy"])], info=info)
    base = totals.get("terraform_data")
    for key, name, _, _ in variants:
        if key not in totals or key == "terraform_data" or not base:
            continue
        g = goal(GOAL_RATIO, f"≤ {GOAL_RATIO}×") if key == "provider" else None
        res.add(f"scale.{key}.ratio", "d", f"apply + destroy of {n} {name} ÷ {n} terraform_data", "ratio",
                [a / b for a, b in zip(totals[key]["samples"], base["samples"])],
                median=totals[key]["median"] / base["median"], goal=g,
                info={"label": name, "from": [totals[key]["id"], base["id"]]})
    if "provider_overlap" in totals and "provider" in totals:
        over, plain = totals["provider_overlap"], totals["provider"]
        res.add("scale.provider_overlap.vs_plain", "d", f"{OVERLAP_NAME} ÷ {provider_name}", "ratio",
                [a / b for a, b in zip(over["samples"], plain["samples"])],
                median=over["median"] / plain["median"],
                goal=goal(GOAL_OVERLAP_RATIO, f"goal ≤ {GOAL_OVERLAP_RATIO}×"),
                info={"label": OVERLAP_NAME, "vs": provider_name, "from": [over["id"], plain["id"]]})


def render_scale(entries):
    rows = []
    for m in entries:
        if not m["id"].endswith(".total"):
            continue
        key = m["id"].split(".")[1]
        if m["status"] != "ok":
            rows.append([m["info"]["label"], not_ok(m), "", "", "", ""])
            continue
        apply, destroy = find(entries, f"scale.{key}.apply"), find(entries, f"scale.{key}.destroy")
        r = find(entries, f"scale.{key}.ratio")
        vs = find(entries, f"scale.{key}.vs_plain")
        base = ratio(1.0) if key == "terraform_data" else (ratio(r["median"]) if r else "n/a")
        if vs:
            g = f"{ratio(vs['median'])} {vs['info']['vs']}, {verdict_md(vs)}"
        else:
            g = verdict_md(r) if r else ""
        rows.append([m["info"]["label"], secs(apply["median"]), secs(destroy["median"]), secs(m["median"]), base, g])
    return table(["resources", "apply", "destroy", "apply+destroy", "vs terraform_data", "goal"], rows)


# ------------------------------------------------------------------------------------------
# (e) rate limit


# Requests sent before login count per IP, the rest (they carry a token) per user.
PER_IP_PATHS = ("/api/v1/crm/auth/login", "/api/v1/crm/auth/password/forgot", "/api/v1/crm/auth/password/reset")


def limiter_floor(counted, limit, window):
    """(ceil(R/L) - 1) * W for the busiest bucket: see the module docstring.

    >>> limiter_floor({"ip": 100, "user": 0}, 60, 60)    # 100 logins: 60 now, 40 a window later
    60
    >>> limiter_floor({"ip": 60}, 60, 60), limiter_floor({"ip": 61, "user": 121}, 60, 60)
    (0, 120)
    """
    return max([(math.ceil(r / limit) - 1) * window for r in counted.values() if r > 0] or [0])


def limiter_settings(limit, window):
    """The mock's environment for `--rate-limit L --rate-limit-window W`."""
    return {"DEFENTRY_MOCK_RATE_LIMIT": str(limit), "DEFENTRY_MOCK_RATE_LIMIT_WINDOW": str(window)}


def wait_for_windows(mock, window):
    """Waits until every window the previous command opened has closed, so the next one
    starts on fresh buckets (its floor assumes that)."""
    live = mock.get("/_mock/rate-limit")["buckets"]
    if live:
        # resets_at is the window's end truncated to the second; the window is gone one
        # second later at the latest, and never more than W from now.
        wait = min(max(b["resets_at"] for b in live) + 1 - time.time(), window + 1)
        log(f"    waiting {wait:.1f} s for {len(live)} window(s) to close")
        time.sleep(max(wait, 0))
    left = mock.get("/_mock/rate-limit")["buckets"]
    if left:
        raise RuntimeError(f"rate-limit windows still open after waiting: {left}")


def counted_requests(requests):
    """Requests the limiter counted, per bucket: every API request not answered 429.

    >>> counted_requests([{"path": "/api/v1/crm/auth/login", "status": 200},
    ...                   {"path": "/api/v1/crm/auth/login", "status": 429},
    ...                   {"path": "/api/v1/crm/logout", "status": 204},
    ...                   {"path": "/_mock/sessions", "status": 200}])
    {'ip': 1, 'user': 1}
    """
    buckets = {}
    for r in requests:
        if r["path"].startswith("/_mock/") or r["status"] == 429:
            continue
        b = "ip" if r["path"] in PER_IP_PATHS else "user"
        buckets[b] = buckets.get(b, 0) + 1
    return buckets


def bench_ratelimit(res, plugins, mock_bin, tf, n, limit, window, rounds, parallelism, block):
    v = version_of(tf)
    res.section(
        "e",
        f"{n} `defentry_token`s against defentry-mock at {limit} requests per {window} s "
        f"(median of {rounds})",
        "floor = (⌈R/L⌉ − 1) × W for the bucket with the most counted requests R (L per W s, "
        "Laravel's fixed window); unthrottled = the same command against the mock without a limiter.",
    )
    log(f"(e) rate limit: {n} tokens at {limit}/{window}s, {rounds} rounds, terraform {devkit.label(v)}")
    par = [f"-parallelism={parallelism}"] if parallelism else []
    hcl = PROVIDER_TF + "\n" + block.format(n=n)
    info = {"tokens": n, "limit": limit, "window_s": window, "terraform": devkit.label(v), "rounds": rounds}
    data = {c: {"time": [], "floor": [], "throttled": [], "windows": [], "counted": [], "free": []}
            for c in ("apply", "destroy")}
    error = None
    try:
        # The same commands without a limiter: what the floor leaves out.
        free = MockServer(mock_bin)
        try:
            ws = Workspace(tf, plugins, free.env())
            ws.write("main.tf", hcl)
            try:
                data["apply"]["free"].append(ws.timed("apply", "-auto-approve", "-input=false", *par))
                data["destroy"]["free"].append(ws.timed("destroy", "-auto-approve", "-input=false", *par))
            finally:
                ws.close()
        finally:
            free.stop()
        for r in range(rounds):
            # A fresh mock per round: fresh windows for the apply.
            mock = MockServer(mock_bin, limiter_settings(limit, window))
            ws = Workspace(tf, plugins, mock.env())
            ws.write("main.tf", hcl)
            try:
                for i, cmd in enumerate(("apply", "destroy")):
                    if i:
                        wait_for_windows(mock, window)
                    seen = len(mock.get("/_mock/requests")["requests"])
                    before = mock.get("/_mock/rate-limit")
                    if before.get("limit") != limit or before.get("window_secs") != window:
                        raise RuntimeError(f"defentry-mock is not limiting {limit} per {window} s: {before}")
                    t = ws.timed(cmd, "-auto-approve", "-input=false", *par)
                    after = mock.get("/_mock/rate-limit")
                    counted = counted_requests(mock.get("/_mock/requests")["requests"][seen:])
                    d = data[cmd]
                    d["time"].append(t)
                    d["floor"].append(limiter_floor(counted, limit, window))
                    d["counted"].append(counted)
                    d["throttled"].append(after["throttled"] - before["throttled"])
                    d["windows"].append(after["windows"] - before["windows"])
                    log(f"    round {r + 1}: {cmd} {secs(t)}, counted {counted}, "
                        f"429s {d['throttled'][-1]} in {d['windows'][-1]} windows")
                left = mock.get("/_mock/sessions")["active"]
                if left:
                    raise RuntimeError(f"{left} session(s) left live after the destroy")
            finally:
                ws.close()
                mock.stop()
    except (RuntimeError, OSError, ValueError, KeyError) as e:
        error = f"{type(e).__name__}: {e}" if not isinstance(e, RuntimeError) else str(e)
    for cmd in ("apply", "destroy"):
        d = data[cmd]
        if error or not d["time"]:
            res.failed(f"ratelimit.{cmd}.ratio", "e", f"{cmd} time ÷ the limiter's floor", "ratio",
                       error or "no run", {**info, "command": cmd})
            continue
        cinfo = {**info, "command": cmd, "counted_requests": d["counted"]}
        t = res.add(f"ratelimit.{cmd}.time", "e", f"{cmd} of {n} tokens, rate-limited", "s", d["time"], info=cinfo)
        f = res.add(f"ratelimit.{cmd}.floor", "e", f"the limiter's floor for that {cmd}", "s", d["floor"], info=cinfo)
        res.add(f"ratelimit.{cmd}.unthrottled", "e", f"{cmd} of {n} tokens without a limiter", "s", d["free"],
                info={**info, "command": cmd})
        if f["median"] > 0:
            res.add(f"ratelimit.{cmd}.ratio", "e", f"{cmd} time ÷ the limiter's floor", "ratio",
                    [a / b for a, b in zip(d["time"], d["floor"]) if b > 0], median=t["median"] / f["median"],
                    goal=goal(GOAL_RATELIMIT_RATIO, f"≤ {GOAL_RATELIMIT_RATIO}"),
                    info={**cinfo, "from": [t["id"], f["id"]]})
        else:
            res.failed(f"ratelimit.{cmd}.ratio", "e", f"{cmd} time ÷ the limiter's floor", "ratio",
                       f"the limiter never binds: at most {limit} counted requests per bucket", cinfo,
                       skipped=True)
        per = [th / w for th, w in zip(d["throttled"], d["windows"]) if w > 0]
        res.add(f"ratelimit.{cmd}.throttled_per_window", "e", f"429s received per window during the {cmd}",
                "count", per, goal=goal(GOAL_THROTTLED_PER_WINDOW, f"≤ {GOAL_THROTTLED_PER_WINDOW}"),
                info={**cinfo, "throttled": d["throttled"], "windows": d["windows"]},
                **({} if per else {"status": "failed", "error": "the mock reported no window"}))


def render_ratelimit(entries):
    rows = []
    for cmd in ("apply", "destroy"):
        t = find(entries, f"ratelimit.{cmd}.time")
        if not t:
            m = find(entries, f"ratelimit.{cmd}.ratio")
            rows.append([cmd, not_ok(m), "", "", "", "", ""])
            continue
        f, free = find(entries, f"ratelimit.{cmd}.floor"), find(entries, f"ratelimit.{cmd}.unthrottled")
        r, per = find(entries, f"ratelimit.{cmd}.ratio"), find(entries, f"ratelimit.{cmd}.throttled_per_window")
        info = per["info"]
        per_text = (f"{per['median']:.2f} ({sum(info['throttled'])} in {sum(info['windows'])} windows)"
                    if per["status"] == "ok" else not_ok(per))
        goals = "; ".join(x for x in (f"time {verdict_md(r)}" if r["status"] == "ok" else "",
                                      f"429s {verdict_md(per)}" if per["status"] == "ok" else "") if x)
        rows.append([cmd, secs(t["median"]), secs(f["median"]), secs(free["median"]),
                     ratio(r["median"]) if r["status"] == "ok" else not_ok(r), per_text, goals])
    return table(["command", "time", "floor", "unthrottled", "time ÷ floor", "429s per window", "goal"], rows)


# ------------------------------------------------------------------------------------------
# (f) codec memory


CODEC_EXAMPLE = os.path.join(ROOT, "examples", "cty_memory.rs")


def codec_command(debug):
    """The default for --codec-cmd: the SDK's `cty_memory` example when the tree has it."""
    if not os.path.exists(CODEC_EXAMPLE):
        return ""
    return "cargo run --quiet --locked --example cty_memory" + ("" if debug else " --release")


def codec_rows(stdout):
    """The figures `--codec-cmd` printed, as dicts with kind, input_bytes, peak_bytes and
    bytes_per_byte. Either one JSON object per line with those keys, or the Markdown table
    `examples/cty_memory.rs` prints: | input | bytes in | peak added | per input byte |.

    >>> codec_rows('| input | bytes in | peak added | per input byte |\\n|---|---|---|---|\\n'
    ...            '| nulls | 4194309 | 281018368 | 67.0 |\\n')
    [{'kind': 'nulls', 'input_bytes': 4194309, 'peak_bytes': 281018368, 'bytes_per_byte': 67.0}]
    """
    rows = []
    for line in stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            rows.append(json.loads(line))
            continue
        cells = [c.strip() for c in line.strip("|").split("|")] if line.startswith("|") else []
        if len(cells) == 4 and cells[1].isdigit() and cells[2].isdigit():
            rows.append({"kind": cells[0], "input_bytes": int(cells[1]), "peak_bytes": int(cells[2]),
                         "bytes_per_byte": float(cells[3])})
    return rows


def slug(text):
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def bench_codec(res, cmd):
    """Bytes of memory per decoded input byte, from `cmd` (issue 19 item 4): each figure
    becomes `codec.<kind>.bytes_per_byte` (kind: the input's shape, as a slug, e.g. `nulls`)."""
    res.section("f", "cty codec: peak memory of a msgpack decode per input byte")
    if not cmd:
        res.failed("codec.bytes_per_byte", "f", "memory per decoded input byte", "bytes/byte",
                   "no codec measurement: examples/cty_memory.rs is missing and no --codec-cmd", skipped=True)
        return
    log(f"(f) codec memory: {cmd}")
    p = subprocess.run(cmd, shell=True, cwd=ROOT, env=devkit.scrubbed_env(), capture_output=True, text=True)
    try:
        rows = codec_rows(p.stdout) if p.returncode == 0 else []
    except (ValueError, KeyError) as e:
        rows, p.stderr = [], f"unreadable output: {e}"
    if not rows:
        res.failed("codec.bytes_per_byte", "f", "memory per decoded input byte", "bytes/byte",
                   f"`{cmd}` exited {p.returncode} with no figures: {p.stderr.strip()[-300:]}")
    for row in rows:
        res.add(f"codec.{slug(row['kind'])}.bytes_per_byte", "f", f"memory per decoded input byte, {row['kind']}",
                "bytes/byte", [row["bytes_per_byte"]],
                info={**{k: v for k, v in row.items() if k != "bytes_per_byte"}, "command": cmd})


def render_codec(entries):
    rows = []
    for m in entries:
        if m["status"] != "ok":
            rows.append([m["title"], not_ok(m), "", ""])
        else:
            rows.append([m["info"].get("kind", m["id"]), f"{m['median']:.1f}",
                         m["info"].get("input_bytes", ""), mb(m["info"]["peak_bytes"]) if "peak_bytes" in m["info"] else ""])
    return table(["input", "bytes per input byte", "input bytes", "peak"], rows)


# ------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--debug", action="store_true", help="use debug binaries (quick check of the script)")
    ap.add_argument("--no-build", action="store_true", help="use the binaries already in target/")
    ap.add_argument("--starts", type=int, default=100, help="starts of each variant for (a)")
    ap.add_argument("--schema-runs", type=int, default=5, help="runs for (c)")
    ap.add_argument("--scale", type=int, default=200, help="resources for (d); 0 skips it")
    ap.add_argument("--rounds", type=int, default=3, help="rounds for (d)")
    ap.add_argument("--parallelism", type=int, default=0, help="terraform -parallelism for (d) and (e)")
    ap.add_argument(
        "--provider-block", default=DEFAULT_PROVIDER_BLOCK,
        help="HCL of the provider's resource for (d) and (e); {n} is the count, literal braces doubled",
    )
    ap.add_argument(
        "--overlap-block", default=DEFAULT_OVERLAP_BLOCK,
        help="HCL of the same resource with `overlap` for (d), compared with --provider-block; '' skips it",
    )
    ap.add_argument("--rl-tokens", type=int, default=100, help="tokens for (e); 0 skips it")
    ap.add_argument("--rl-limit", type=int, default=60, help="the mock's --rate-limit for (e)")
    ap.add_argument("--rl-window", type=int, default=60, help="the mock's --rate-limit-window for (e), seconds")
    ap.add_argument("--rl-rounds", type=int, default=1, help="rounds for (e) (each takes about 3 windows)")
    ap.add_argument("--codec-cmd", default=None,
                    help="command printing the codec's memory figures for (f) "
                         "(default: the cty_memory example, when there is one)")
    ap.add_argument("--terraform", help="benchmark only this Terraform binary")
    ap.add_argument("--provider", help="provider binary to measure instead of the built one")
    ap.add_argument("--mock", help="defentry-mock binary to use instead of the built one")
    ap.add_argument("--only", default="abcdef", help="which benchmarks to run, e.g. 'ab'")
    ap.add_argument("--json", default=DEFAULT_JSON, help="where to write the results (default %(default)s)")
    ap.add_argument("--render", metavar="FILE", help="print the Markdown of an earlier run's JSON and exit")
    args = ap.parse_args()

    if args.render:
        with open(args.render) as f:
            print(render(json.load(f)))
        return

    if args.no_build:
        out = os.path.join(ROOT, "target", "debug" if args.debug else "release")
        provider, mock = os.path.join(out, "terraform-provider-defentry"), os.path.join(out, "defentry-mock")
    else:
        provider, mock = build(args.debug)
    provider = os.path.abspath(args.provider) if args.provider else provider
    mock = os.path.abspath(args.mock) if args.mock else mock
    tfs = terraforms(args.terraform) if set(args.only) & set("cde") else []

    res = Results({
        "generated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "build": "debug" if args.debug else "release",
        "cpus": os.cpu_count(),
        "provider": provider,
        "mock": mock,
        "args": {k: v for k, v in vars(args).items() if k not in ("render", "json")},
    })
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        # dev_overrides look for terraform-provider-defentry in a directory: a --provider
        # binary under another name is linked there under that name.
        plugins = devkit.plugin_dir_for(provider, os.path.join(tmp, "plugins"))
        if "a" in args.only:
            bench_handshake(res, provider, args.starts, tmp)
        if "b" in args.only:
            bench_size(res, provider, args.debug)
        if "c" in args.only:
            bench_schema(res, plugins, tfs, args.schema_runs)
        if "d" in args.only and args.scale > 0:
            bench_scale(res, plugins, mock, tfs[-1][1], args.scale, args.rounds, args.provider_block,
                        args.parallelism, args.overlap_block)
        if "e" in args.only and args.rl_tokens > 0:
            bench_ratelimit(res, plugins, mock, tfs[-1][1], args.rl_tokens, args.rl_limit, args.rl_window,
                            args.rl_rounds, args.parallelism, args.provider_block)
        if "f" in args.only:
            bench_codec(res, codec_command(args.debug) if args.codec_cmd is None else args.codec_cmd)

    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(res.doc, f, indent=1, ensure_ascii=False)
        f.write("\n")
    log(f"results: {args.json}")
    print(render(res.doc))


if __name__ == "__main__":
    main()
