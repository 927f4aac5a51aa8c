"""The sandbox every command and check can run in: bubblewrap, when it is installed.

The command policy decides what may run; the sandbox limits what it can do once it runs,
for what no policy can see (a test file the model wrote, a `conftest.py`, a build script):
- the whole file system is read-only, except the repository and /tmp (scratch, as the command
  policy treats it: test runners and toolchains keep their temporary files and venvs there);
- the repository's `.git` is read-only: only the agent's own git (outside the sandbox) commits;
- the home folder's private files (`~/.ssh`, `~/.aws`, `~/.netrc`, ...) are hidden;
- there is no network (a private loopback only), unless `sandbox_network` allows it;
- its processes die with the run, in their own pid namespace, with no capabilities (so even
  when once runs as root nothing inside can remount the read-only file system).

`sandbox = "auto"` (the default) uses bubblewrap when it is installed and works here (a
container without user namespaces has it but cannot use it: then commands run as before);
`"bwrap"` requires it and refuses to run without it; `"off"` never uses it.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from once.lazyre import LazyPattern

MODES = ("off", "auto", "bwrap")
PRIVATE_IN_HOME = (".ssh", ".aws", ".gnupg", ".netrc", ".git-credentials", ".docker", ".kube", ".azure",
                   ".config/gcloud", ".config/gh", ".npmrc", ".pypirc", ".password-store", ".vault-token")


class SandboxMissing(RuntimeError):
    """`sandbox = "bwrap"` but bubblewrap is not installed."""


@dataclass(frozen=True)
class SandboxState:
    """Whether commands will run in the sandbox, and if not, why."""

    active: bool
    network: bool
    why_not: str = ""

    @property
    def confines(self) -> bool:
        """Writes only in the repository and no network: enough for auto-edit to run commands unasked."""
        return self.active and not self.network


def sandbox_state(mode: str, network: bool = False) -> SandboxState:
    if mode == "off":
        return SandboxState(False, network, "sandbox = off")
    program = bwrap_path()
    if program is None:
        return SandboxState(False, network, "bubblewrap is not installed (apt install bubblewrap)")
    if not _works(program):
        return SandboxState(False, network, "bubblewrap cannot make its namespaces here (user namespaces are off)")
    return SandboxState(True, network)


_READ_ONLY = LazyPattern(r"Read-only file system|EROFS")
_NO_NETWORK = LazyPattern(r"Network is unreachable|Temporary failure in name resolution|Could not resolve host"
                          r"|Name or service not known|getaddrinfo|EAI_AGAIN|ENETUNREACH|No address associated")


def denial_hint(output: str, network: bool) -> str | None:
    """What a failed sandboxed command's output says the sandbox refused, for the model to read."""
    causes = []
    if _READ_ONLY.search(output):
        causes.append("it wrote outside the repository and /tmp (or into .git), which are read-only there")
    if not network and _NO_NETWORK.search(output):
        causes.append("it needed the network, which the sandbox cuts (the user can set sandbox_network = true)")
    if not causes:
        return None
    return ("[sandbox] This command ran in the sandbox and failed because " + "; and ".join(causes)
            + ". Retrying it will fail the same way: do without it, or tell the user what it needs.")


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


_PROBE = ("--ro-bind", "/", "/", "--unshare-net", "--unshare-pid", "--", "true")
_probes: dict[str, subprocess.Popen[bytes]] = {}
"""Probes started ahead (`start_probe`), by program, until `_works` reads them."""


def start_probe(mode: str) -> None:
    """Start finding out whether bubblewrap works here, in the background: making its namespaces
    takes about as long as the rest of a replayed run's start, which goes on meanwhile."""
    program = bwrap_path() if mode != "off" else None
    if program is None or program in _probes or _works.cache_info().currsize:
        return
    try:
        _probes[program] = subprocess.Popen([program, *_PROBE], stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return  # `_works` tries again, and says no the same way


@atexit.register
def _reap_probes() -> None:
    """A probe nobody asked about (the run stopped before) is waited for, not left behind."""
    for program in list(_probes):
        _answer(_probes.pop(program))


@functools.lru_cache(maxsize=1)
def _works(program: str) -> bool:
    """Whether bubblewrap can make its namespaces here (once per process)."""
    started = _probes.pop(program, None)
    if started is not None:
        return _answer(started)
    try:
        done = subprocess.run([program, *_PROBE], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def _answer(probe: subprocess.Popen[bytes]) -> bool:
    try:
        return probe.wait(timeout=10) == 0
    except subprocess.TimeoutExpired:
        probe.kill()
        probe.wait()
        return False


def wrap(command: str, root: str, mode: str, *, network: bool = False, home: str | None = None) -> list[str] | None:
    """The argv that runs `command` (a shell line) in the sandbox, or None to run it as before."""
    if mode == "off":
        return None
    state = sandbox_state(mode, network)
    program = bwrap_path()
    if not state.active or program is None:
        if mode == "bwrap":
            raise SandboxMissing(f"sandbox = \"bwrap\" but {state.why_not}")
        return None
    return [program, *sandbox_options(root, network=network, home=home), "--", "/bin/sh", "-c", command]


def sandbox_options(root: str, *, network: bool = False, home: str | None = None) -> list[str]:
    real_root = os.path.realpath(root)
    # --cap-drop ALL: run by root, bubblewrap keeps every capability, and `mount -o remount,rw /`
    # would make the read-only system writable again.
    options = ["--die-with-parent", "--cap-drop", "ALL", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
               "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--bind", "/tmp", "/tmp"]
    home_dir = Path(home or os.path.expanduser("~"))
    for name in PRIVATE_IN_HOME:
        private = home_dir / name
        if private.is_dir() and not private.is_symlink():
            options += ["--tmpfs", str(private)]
        elif private.exists():
            options += ["--ro-bind", "/dev/null", str(private)]
    options += ["--bind", real_root, real_root]
    git_dir = Path(real_root) / ".git"
    if git_dir.exists():
        options += ["--ro-bind", str(git_dir), str(git_dir)]
    if not network:
        options.append("--unshare-net")
    options += ["--chdir", real_root]
    return options
