"""What every Python tool of this repository shares (tools/, tools/release/, bench/).

  * environment scrub: `scrubbed_env()` and `terraform_env()`;
  * Terraform finder: `terraforms()`, `newest_terraform()`, `terraform_version()`;
  * workspace: `Workspace` (a directory with main.tf and its own CLI config) and the CLI
    config snippets `dev_overrides_config()` / `filesystem_mirror_config()`;
  * mock runner: `Mock` (defentry-mock on a free 127.0.0.1 port, ready when it prints its URL)
    and `read_line()`, which waits on a pipe with select(), never with a sleep;
  * commands: `runner()`, a subprocess.run that logs the command first;
  * tools from PyPI into a directory of their own: `pip_target()` (staged, renamed into place).

Import it with `sys.path.insert(0, <the tools directory>)`; it only uses the standard library.
Failures raise `ToolError` with a message meant for people.
"""

import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

TOOLS = os.path.dirname(os.path.realpath(__file__))
ROOT = os.path.dirname(TOOLS)
TOOLS_BIN = os.path.join(ROOT, ".tools", "bin")

PROVIDER_SOURCE = "defentry/defentry"
PROVIDER_BINARY = "terraform-provider-defentry"
MOCK_BINARY = "defentry-mock"
# The mock's built-in service account (docs/defentry-onboarding.md).
SERVICE_USER = "acme-backend-integration@partner.com"
SERVICE_PASSWORD = "your_service_account_password"

# What steers Terraform, go-plugin, the provider or a TLS client from the caller's shell.
SCRUBBED_PREFIXES = ("TF_", "PLUGIN_", "DEFENTRY_", "CHECKPOINT_", "SSL_CERT")
TF_TIMEOUT = 600  # seconds for one terraform command


class ToolError(Exception):
    """A failure worth one line to the person running the tool (no traceback)."""


def logger(prefix):
    """A log function writing `prefix: msg` lines to stderr."""

    def log(msg):
        print(f"{prefix}: {msg}", file=sys.stderr, flush=True)

    return log


# ------------------------------------------------------------------------------------------
# environment scrub


def scrubbed_env(extra=None, also=()):
    """The caller's environment minus SCRUBBED_PREFIXES (and `also`), with Terraform's
    checkpoint calls off, then `extra` on top."""
    strip = SCRUBBED_PREFIXES + tuple(also)
    env = {k: v for k, v in os.environ.items() if not k.startswith(strip)}
    env["CHECKPOINT_DISABLE"] = "1"
    env.update(extra or {})
    return env


def terraform_env(cli_config_path, extra=None):
    """A scrubbed environment for unattended Terraform runs with the given CLI config file."""
    return scrubbed_env({"TF_IN_AUTOMATION": "1", "TF_INPUT": "0",
                         "TF_CLI_CONFIG_FILE": cli_config_path, **(extra or {})})


# ------------------------------------------------------------------------------------------
# Terraform finder


def terraforms(bin_dir=TOOLS_BIN):
    """Every `.tools/bin/terraform-X.Y.Z` as ((X, Y, Z), path), oldest first."""
    found = []
    for name in os.listdir(bin_dir) if os.path.isdir(bin_dir) else []:
        m = re.fullmatch(r"terraform-(\d+)\.(\d+)\.(\d+)", name)
        if m and os.path.exists(os.path.join(bin_dir, name)):
            found.append((tuple(map(int, m.groups())), os.path.join(bin_dir, name)))
    if not found:
        raise ToolError(f"no terraform-X.Y.Z in {bin_dir}: run `make setup` "
                        "(tools/ensure_terraform.py)")
    return sorted(found)


def newest_terraform():
    return terraforms()[-1][1]


def terraform_version(path, timeout=120):
    """(major, minor, patch) that `path version -json` reports, or None if it cannot say."""
    try:
        out = subprocess.run([path, "version", "-json"], env=scrubbed_env(), capture_output=True,
                             text=True, timeout=timeout, check=False)
        ver = json.loads(out.stdout)["terraform_version"] if out.returncode == 0 else None
        return tuple(int(p) for p in ver.split("-")[0].split(".")) if ver else None
    except (OSError, subprocess.TimeoutExpired, ValueError, KeyError, TypeError):
        return None


def label(version):
    return ".".join(map(str, version))


# ------------------------------------------------------------------------------------------
# workspace


def dev_overrides_config(plugin_dir, then="  direct {}\n", source=PROVIDER_SOURCE):
    """A CLI config running the provider in `plugin_dir` for `source`, then `then`'s installers."""
    return (f"provider_installation {{\n  dev_overrides {{\n"
            f"    {json.dumps(source)} = {json.dumps(plugin_dir)}\n  }}\n{then}}}\n")


def filesystem_mirror_config(path, include=("registry.terraform.io/" + PROVIDER_SOURCE,)):
    """The `filesystem_mirror` block (no `provider_installation` around it)."""
    inc = ", ".join(json.dumps(i) for i in include)
    return f"  filesystem_mirror {{\n    path = {json.dumps(path)}\n    include = [{inc}]\n  }}\n"


def plugin_dir_for(provider, directory):
    """`directory` holding `provider` under the name dev_overrides look for (a symlink)."""
    os.makedirs(directory, exist_ok=True)
    link = os.path.join(directory, PROVIDER_BINARY)
    if os.path.lexists(link):
        os.remove(link)
    os.symlink(os.path.abspath(provider), link)
    return directory


class Workspace:
    """A Terraform working directory with its own CLI config file (and so its own
    provider_installation), run with a scrubbed environment.

    `directory` is used as is (created if missing); without it a temporary directory is
    made and removed by close(). The CLI config lives beside main.tf as `cli.tfrc`.
    """

    def __init__(self, terraform, directory=None, cli_config="", main_tf=None, extra_env=None,
                 private_home=False):
        self.terraform = terraform
        self._tmp = None
        if directory is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="defentry-ws-")
            directory = os.path.join(self._tmp.name, "work")
        os.makedirs(directory, exist_ok=True)
        self.dir = directory
        self.cli_config = os.path.join(directory, "cli.tfrc")
        self.write("cli.tfrc", cli_config)
        if main_tf is not None:
            self.write("main.tf", main_tf)
        extra = dict(extra_env or {})
        if private_home:  # no ~/.terraform.d implied mirrors or plugin cache of the caller
            extra.setdefault("HOME", self._tmp.name if self._tmp else directory)
        self.env = terraform_env(self.cli_config, extra)

    def write(self, name, text):
        with open(os.path.join(self.dir, name), "w") as f:
            f.write(text)
        return os.path.join(self.dir, name)

    def run(self, *args, env=None, expect_ok=True, timeout=TF_TIMEOUT):
        """`terraform -chdir=DIR ARGS -no-color`; (exit code, stdout + stderr, seconds).
        With expect_ok a non-zero exit raises ToolError carrying the output."""
        start = time.perf_counter()
        p = subprocess.run([self.terraform, f"-chdir={self.dir}", *args, "-no-color"],
                           env=self.env if env is None else env, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=timeout)
        seconds = time.perf_counter() - start
        out = p.stdout + p.stderr
        if expect_ok and p.returncode != 0:
            raise ToolError(f"terraform {' '.join(args)} failed ({p.returncode}):\n{out}")
        return p.returncode, out, seconds

    def close(self):
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ------------------------------------------------------------------------------------------
# mock runner


def read_line(proc, want, timeout, what):
    """The first stdout line of `proc` satisfying `want`, within `timeout` seconds.

    Reads the pipe's file descriptor directly: a buffered readline() could swallow the
    wanted line while select() waits for more. Bytes after that line stay unread.
    """
    deadline = time.monotonic() + timeout
    fd = proc.stdout.fileno()
    buf, seen = b"", []
    while True:
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            text = line.decode(errors="replace").strip()
            seen.append(text)
            if want(text):
                return text
        left = deadline - time.monotonic()
        if left <= 0:
            raise ToolError(f"{what} printed no ready line within {timeout} s; got {seen}")
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            raise ToolError(f"{what} exited ({proc.wait()}) before its ready line; got {seen}")
        buf += chunk


def target_binary(name, profile="debug"):
    """target/<profile>/<name> (cargo calls the `dev` profile's directory `debug`)."""
    return os.path.join(ROOT, "target", "debug" if profile in ("dev", "debug") else profile, name)


def build_mock(profile="debug"):
    """Builds defentry-mock (whichever workspace member holds it); returns its path."""
    cmd = ["cargo", "build", "--locked", "--quiet", "--workspace", "--bin", MOCK_BINARY]
    if profile not in ("dev", "debug"):
        cmd += ["--profile", profile]
    subprocess.run(cmd, cwd=ROOT, check=True)
    return target_binary(MOCK_BINARY, profile)


class Mock:
    """defentry-mock listening on a free 127.0.0.1 port; ready once it prints its URL."""

    def __init__(self, binary, timeout=60, env=None):
        self.proc = subprocess.Popen([binary, "--listen", "127.0.0.1:0"],
                                     env=scrubbed_env() if env is None else env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL)
        try:
            self.url = read_line(self.proc, lambda line: line.startswith("http"), timeout,
                                 os.path.basename(binary))
        except BaseException:
            self.stop()
            raise

    def active(self):
        """How many sessions the mock holds open."""
        with urllib.request.urlopen(self.url.rstrip("/") + "/_mock/sessions", timeout=10) as r:
            return json.load(r)["active"]

    def env(self):
        """What points the provider at this mock with the service account."""
        return {"DEFENTRY_API_DOMAIN": self.url, "DEFENTRY_USERNAME": SERVICE_USER,
                "DEFENTRY_PASSWORD": SERVICE_PASSWORD}

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


# ------------------------------------------------------------------------------------------
# commands and installs


def runner(log):
    """A `run(cmd, **kw)`: logs `$ cmd` through `log`, then subprocess.run(cmd, check=True, **kw)."""

    def run(cmd, **kw):
        log("$ " + " ".join(cmd))
        return subprocess.run(cmd, check=True, **kw)

    return run


def pip_target(spec, dest, want, pip_args=(), python=sys.executable):
    """pip-installs `spec` (without dependencies) as the directory `dest`; returns `dest`.

    pip writes into a staging directory beside `dest` (named `.<basename of dest>-*`), which is
    renamed into place only once `want` (a path inside it) exists, so a failed or interrupted
    install never leaves a half `dest` behind. `dest/.installed` names `spec`. `pip_args` go
    to pip before `--target`; `python` is the interpreter whose pip runs. Raises ToolError
    carrying pip's output.
    """
    parent = os.path.dirname(dest)
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f".{os.path.basename(dest)}-", dir=parent)
    try:
        out = subprocess.run([python, "-m", "pip", "install", "--quiet",
                              "--disable-pip-version-check", "--root-user-action=ignore",
                              "--no-deps", "--no-cache-dir", "--no-compile", *pip_args,
                              "--target", staging, spec],
                             capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise ToolError(f"pip install {spec} failed:\n{out.stdout}{out.stderr}")
        if not os.path.exists(os.path.join(staging, want)):
            raise ToolError(f"pip install {spec} gave no {want} (wrong platform?)")
        with open(os.path.join(staging, ".installed"), "w") as f:
            f.write(spec + "\n")
        os.chmod(staging, 0o755)  # mkdtemp's 0o700 would hide the tool from other users
        shutil.rmtree(dest, ignore_errors=True)
        os.rename(staging, dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return dest
