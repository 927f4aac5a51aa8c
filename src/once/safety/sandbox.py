"""The sandbox every command and check can run in: bubblewrap, when it is installed.

The command policy decides what may run; the sandbox limits what it can do once it runs,
for what no policy can see (a test file the model wrote, a `conftest.py`, a build script):
- the whole file system is read-only, except the repository and a private /tmp (one per agent
  process, kept across its commands so a venv made in one is there for the next, removed when
  it ends; interpreters and venvs that live in the real /tmp are shown read-only);
- the repository's `.git` is read-only: only the agent's own git (outside the sandbox) commits;
- the home folder's private files (`~/.ssh`, `~/.aws`, `~/.netrc`, keyrings, shell histories,
  once's own database and config, ...) are hidden, and so is /run, where the sockets of other
  programs live (D-Bus, docker, the ssh and gpg agents): a socket is a way out of any sandbox;
- there is no network (a private loopback only), unless `sandbox_network` allows it;
- its processes die with the run, in their own pid namespace, with no capabilities (so even
  when once runs as root nothing inside can remount the read-only file system), /proc/sys
  read-only, and a seccomp filter (`seccomp.py`) against set-id files and the kernel keyring.

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
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from once.lazyre import LazyPattern
from once.paths import config_dir, data_dir, db_path
from once.process import process_alive

MODES = ("off", "auto", "bwrap")
PRIVATE_IN_HOME = (".ssh", ".aws", ".gnupg", ".netrc", ".git-credentials", ".docker", ".kube", ".azure",
                   ".config/gcloud", ".config/gh", ".config/hub", ".npmrc", ".pypirc", ".password-store",
                   ".vault-token", ".pgpass", ".my.cnf", ".local/share/keyrings", ".config/containers",
                   ".cargo/credentials", ".cargo/credentials.toml", ".gradle/gradle.properties",
                   ".m2/settings.xml", ".terraform.d", ".config/rclone", ".mozilla", ".config/google-chrome",
                   ".config/chromium", ".thunderbird", ".bash_history", ".zsh_history", ".python_history",
                   ".psql_history", ".mysql_history", ".sqlite_history", ".node_repl_history", ".lesshst",
                   ".local/share/fish", ".config/git/credentials", ".cache/huggingface", ".huggingface",
                   ".codex", ".claude", ".gemini", ".config/op", ".config/doctl", ".config/heroku",
                   ".config/pypoetry", ".gem/credentials", ".terraformrc", ".config/hcloud", ".oci",
                   ".config/configstore", ".yarnrc",
                   # folders of sockets: a socket is a way out of any sandbox
                   ".rd", ".colima", ".lima", ".orbstack", ".1password", ".config/1Password")


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


def wrap(command: str, root: str, mode: str, *, network: bool = False, home: str | None = None,
         keep: tuple[str, ...] = ()) -> list[str] | None:
    """The argv that runs `command` (a shell line) in the sandbox, or None to run it as before.
    `keep`: folders under the real /tmp the command needs to read (an MCP server's own script)."""
    if mode == "off":
        return None
    state = sandbox_state(mode, network)
    program = bwrap_path()
    if not state.active or program is None:
        if mode == "bwrap":
            raise SandboxMissing(f"sandbox = \"bwrap\" but {state.why_not}")
        return None
    argv = [program, *sandbox_options(root, network=network, home=home, keep=keep)]
    bpf = seccomp_file()
    if bpf is None:
        return [*argv, "--", "/bin/sh", "-c", command]
    # bubblewrap reads the filter from a descriptor: a shell opens it and becomes bubblewrap.
    return ["/bin/sh", "-c", 'exec 3<"$1" && shift && exec "$@"', "sh", bpf,
            *argv, "--seccomp", "3", "--", "/bin/sh", "-c", command]


def sandbox_options(root: str, *, network: bool = False, home: str | None = None,
                    keep: tuple[str, ...] = ()) -> list[str]:
    real_root = os.path.realpath(root)
    # --cap-drop ALL: run by root, bubblewrap keeps every capability, and `mount -o remount,rw /`
    # would make the read-only system writable again.
    options = ["--die-with-parent", "--cap-drop", "ALL", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
               "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    # The fresh /proc is writable, and a process whose uid is root (even with no capability, even
    # in a user namespace mapped to root) may write /proc/sys: `kernel.core_pattern` then runs a
    # program of its choosing outside the sandbox. The kernel's knobs stay read-only.
    for knob in _PROC_READ_ONLY:
        options += ["--ro-bind-try", knob, knob]
    options += ["--bind", private_tmp(), "/tmp", "--setenv", "TMPDIR", "/tmp"]
    for kept in sorted({*_kept_from_tmp(), *(os.path.realpath(path) for path in keep
                                            if os.path.realpath(path).startswith("/tmp/"))}):
        options += ["--ro-bind", kept, kept]
    options += _hidden_run(network)
    # The repository first, what it must not reach after: a repository may hold the home folder
    # (a dotfiles repository), and its own bind would otherwise show the hidden files again.
    options += ["--bind", real_root, real_root]
    for git_dir in [Path(real_root) / ".git", *_submodule_git_dirs(Path(real_root))]:
        if git_dir.exists() and not git_dir.is_symlink():
            options += ["--ro-bind", str(git_dir), str(git_dir)]
    home_dir = Path(home or os.path.expanduser("~"))
    for private in [*(home_dir / name for name in PRIVATE_IN_HOME), *_own_files(), *map(Path, _SYSTEM_SECRETS)]:
        options += _hide(private)
    skills = config_dir() / "skills"  # user skills' scripts run from there
    if skills.is_dir():
        options += ["--ro-bind", str(skills), str(skills)]
    if not network:
        options.append("--unshare-net")
    options += ["--chdir", real_root]
    return options


# Readable by a root-owned process whatever its capabilities.
_SYSTEM_SECRETS = ("/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-", "/etc/sudoers", "/etc/sudoers.d",
                   "/etc/ssh/ssh_host_rsa_key", "/etc/ssh/ssh_host_ecdsa_key", "/etc/ssh/ssh_host_ed25519_key",
                   "/etc/ssh/ssh_host_dsa_key")


def _hide(private: Path) -> list[str]:
    """Options that hide a file or folder: an empty folder over it, or /dev/null. A link is
    followed to what it names (bubblewrap cannot mount over the link itself)."""
    try:
        target = Path(os.path.realpath(private)) if private.is_symlink() else private
    except OSError:
        return []
    if target.is_dir():
        return ["--tmpfs", str(target)]
    if target.exists():
        return ["--ro-bind", "/dev/null", str(target)]
    return []


_PROC_READ_ONLY = ("/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs")


def _submodule_git_dirs(root: Path) -> list[Path]:
    """`sub/.git` of each submodule `.gitmodules` lists: a command that pointed one at a folder of
    its own would have the user's next `git status` honour that folder's config."""
    from once.safety.regular import read_regular

    data = read_regular(root / ".gitmodules", follow=False, limit=1 << 20)  # a FIFO there would block
    if data is None:
        return []
    text = data.decode("utf-8", "replace")
    paths = (line.split("=", 1)[1].strip() for line in text.splitlines() if line.strip().startswith("path"))
    return [root / path / ".git" for path in paths if path and ".." not in path.split("/")]


def _own_files() -> list[Path]:
    """once's database (with its WAL) and config: the model's commands read neither. Nor do they
    see the warm process's socket (which refuses them anyway: see once.warm.peer)."""
    from once.warm.address import socket_folder

    database = db_path()
    return [data_dir(), config_dir(), database, Path(f"{database}-wal"), Path(f"{database}-shm"),
            Path(socket_folder())]


def _hidden_run(network: bool) -> list[str]:
    """/run (and /var/run when it is its own folder) replaced by an empty one: the host's sockets
    live there. With the network on, the resolver's file is kept when /etc/resolv.conf leads there."""
    options = ["--tmpfs", "/run"]
    if os.path.isdir("/var/run") and not os.path.islink("/var/run"):
        options += ["--tmpfs", "/var/run"]
    resolver = os.path.realpath("/etc/resolv.conf")
    if network and resolver.startswith(("/run/", "/var/run/")) and os.path.isfile(resolver):
        options += ["--ro-bind", resolver, resolver]
    return options


_own_folder: list[str] = []


def _folder() -> str:
    """This process's folder for its sandboxes: their /tmp and the seccomp filter (made on first
    use, removed at exit). Only `tmp/` inside it is shown to commands."""
    if not _own_folder:
        _sweep_orphans()
        _own_folder.append(tempfile.mkdtemp(prefix=f"once-sandbox-tmp-{os.getpid()}-"))
        os.mkdir(os.path.join(_own_folder[0], "tmp"), 0o700)
        atexit.register(shutil.rmtree, _own_folder[0], True)
    return _own_folder[0]


def private_tmp() -> str:
    """This process's private /tmp for its sandboxed commands, kept across them."""
    return os.path.join(_folder(), "tmp")


def seccomp_file() -> str | None:
    """The seccomp filter's file (written once per process), or None where there is no filter."""
    path = os.path.join(_folder(), "seccomp.bpf")
    if not os.path.exists(path):
        from once.safety.seccomp import program  # only once a command runs in the sandbox

        bpf = program()
        if bpf is None:
            return None
        with open(path, "wb") as out:
            out.write(bpf)
    return path


def _sweep_orphans() -> None:
    """Private /tmp folders of processes that no longer exist (killed before their exit hook)."""
    base = Path(tempfile.gettempdir())
    for folder in base.glob("once-sandbox-tmp-*-*"):
        pid = folder.name.split("-")[3]
        if pid.isdigit() and not process_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _kept_from_tmp() -> list[str]:
    """Interpreters and venvs under the real /tmp that commands still need, read-only: this
    process's Python and the venvs on PATH (`/tmp/x/venv/bin` keeps `/tmp/x/venv`)."""
    found: set[str] = set()
    candidates = [sys.prefix, sys.exec_prefix, sys.base_prefix, os.environ.get("VIRTUAL_ENV", "")]
    for entry in os.environ.get("PATH", "").split(os.pathsep):
        candidates.append(os.path.dirname(entry) if os.path.basename(entry) == "bin" else entry)
    for path in candidates:
        real = os.path.realpath(path) if path else ""
        if real.startswith("/tmp/") and os.path.isdir(real):
            found.add(real)
    return sorted(found)
