"""Whether a caller is confined as the warm process is, read from /proc through its pid.

A run the warm process forks has the warm process's namespaces, credentials, capabilities,
seccomp filter, limits and priority, not its caller's. A caller that differs in any of them
(a command in the sandbox, `setpriv`, `ulimit`, `nice`, `chrt`, `taskset`, `ionice`, `unshare`)
runs in its own process:
otherwise a sandboxed command could have an unsandboxed run done for it.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass

_STATUS_KEYS = ("Uid", "Gid", "Groups", "NoNewPrivs", "Seccomp", "Seccomp_filters", "CapInh", "CapPrm", "CapEff",
                "CapBnd", "CapAmb", "SigBlk", "Cpus_allowed", "Mems_allowed")
_NAMESPACES = ("mnt", "pid", "net", "ipc", "uts", "user", "cgroup", "time")
MIRRORED_ENV = ("PYTHON", "LD_")
"""Variables read when a process starts (the interpreter's, the loader's): a caller whose values
differ from the warm process's runs in its own process, but for these two kinds:"""
_APPLIED_ENV = frozenset({"PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX", "PYTHONIOENCODING"})
"""Read at start but taken on by the fork (see child.py)."""
_IRRELEVANT_ENV = frozenset({"PYTHONSTARTUP", "PYTHONINSPECT", "PYTHONHASHSEED", "PYTHONSAFEPATH", "PYTHONBREAKPOINT",
                             "PYTHONCASEOK"})
"""Read at start and of no effect on a run (interactive use, the order of sets, sys.path[0])."""
_IOPRIO_GET = {"x86_64": 252, "aarch64": 31}
"""ioprio_get's syscall number: the I/O priority `ionice` sets is not in /proc."""


@dataclass(frozen=True)
class Confinement:
    status: tuple[str, ...]
    namespaces: tuple[str, ...]
    root: str
    limits: str
    scheduling: tuple[str, ...]  # nice, real-time priority, policy, I/O priority
    labels: tuple[str, ...]  # the security module's label, the OOM score adjustment


def confinement(pid: int | str = "self") -> Confinement | None:
    """What confines process `pid`; None when /proc cannot say (the caller then runs on its own)."""
    base = f"/proc/{pid}"
    try:
        with open(f"{base}/status", encoding="utf-8") as file:
            fields = dict(line.rstrip("\n").split(":", 1) for line in file if ":" in line)
        with open(f"{base}/limits", encoding="utf-8") as file:
            limits = file.read()
        with open(f"{base}/stat", encoding="utf-8") as file:
            stat = file.read().rsplit(")", 1)[1].split()
        namespaces = tuple(os.readlink(f"{base}/ns/{name}") for name in _NAMESPACES
                           if os.path.lexists(f"{base}/ns/{name}"))
        root = os.readlink(f"{base}/root")
        scheduling = (stat[16], stat[37], stat[38], str(_io_priority(pid)))
        labels = (_read_or_empty(f"{base}/attr/current"), _read_or_empty(f"{base}/oom_score_adj"))
    except (OSError, ValueError, IndexError):
        return None
    status = tuple(fields.get(key, "").strip() for key in _STATUS_KEYS)
    return Confinement(status, namespaces, root, limits, scheduling, labels)


def _read_or_empty(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            return file.read().strip()
    except OSError:  # no security module: attr/current cannot be read
        return ""


def _io_priority(pid: int | str) -> int:
    number = _IOPRIO_GET.get(os.uname().machine)
    if number is None:
        return -1
    import ctypes

    target = os.getpid() if pid == "self" else int(pid)
    return int(ctypes.CDLL(None, use_errno=True).syscall(number, 1, target))  # 1: IOPRIO_WHO_PROCESS


def still_the_caller(pidfd: int | None) -> bool:
    """Whether the process that connected is still alive, so its pid still names it (a pidfd
    names the process, not the number). True where the kernel gives no pidfd: the start time
    then tells a later process apart (see started_at)."""
    if pidfd is None:
        return True
    try:
        signal.pidfd_send_signal(pidfd, 0)
    except OSError:
        return False
    return True


def ignored_signals(pid: int | str) -> list[int]:
    """The signals process `pid` ignores (a run started by nohup ignores SIGHUP, say)."""
    try:
        with open(f"/proc/{pid}/status", encoding="utf-8") as file:
            mask = next(line.split(":", 1)[1] for line in file if line.startswith("SigIgn:"))
    except (OSError, StopIteration):
        return []
    bits = int(mask.strip(), 16)
    return [number for number in range(1, 64) if bits >> (number - 1) & 1]


def mirrored_env(env: dict[str, str]) -> dict[str, str]:
    """The variables read at start that must match for a fork to run as a process of its own."""
    return {key: value for key, value in env.items()
            if key.startswith(MIRRORED_ENV) and key not in _APPLIED_ENV and key not in _IRRELEVANT_ENV}


def started_at(pid: int) -> int:
    """When process `pid` started, in clock ticks since boot; a huge number when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as file:
            return int(file.read().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return 1 << 62


def boot_ticks() -> int:
    """Now, in the clock ticks since boot that /proc counts process start times in."""
    return int(time.clock_gettime(time.CLOCK_BOOTTIME) * os.sysconf("SC_CLK_TCK")) + 1
