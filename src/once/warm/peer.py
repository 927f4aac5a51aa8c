"""Whether a caller is confined as the warm process is, read from /proc through its pid.

A run the warm process forks has the warm process's namespaces, credentials, capabilities,
seccomp filter, limits and priority, not its caller's. A caller that differs in any of them
(a command in the sandbox, `setpriv`, `ulimit`, `nice`, `unshare`) runs in its own process:
otherwise a sandboxed command could have an unsandboxed run done for it.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

_STATUS_KEYS = ("Uid", "Gid", "Groups", "NoNewPrivs", "Seccomp", "Seccomp_filters", "CapInh", "CapPrm", "CapEff",
                "CapBnd", "CapAmb", "SigBlk")
_NAMESPACES = ("mnt", "pid", "net", "ipc", "uts", "user", "cgroup", "time")
MIRRORED_ENV = ("PYTHON", "LD_")
"""Variables read when a process starts (the interpreter's, the loader's): a caller whose values
differ from the warm process's runs in its own process."""


@dataclass(frozen=True)
class Confinement:
    status: tuple[str, ...]
    namespaces: tuple[str, ...]
    root: str
    limits: str
    nice: str


def confinement(pid: int | str = "self") -> Confinement | None:
    """What confines process `pid`; None when /proc cannot say (the caller then runs on its own)."""
    base = f"/proc/{pid}"
    try:
        with open(f"{base}/status", encoding="utf-8") as file:
            fields = dict(line.rstrip("\n").split(":", 1) for line in file if ":" in line)
        with open(f"{base}/limits", encoding="utf-8") as file:
            limits = file.read()
        with open(f"{base}/stat", encoding="utf-8") as file:
            nice = file.read().rsplit(")", 1)[1].split()[16]
        namespaces = tuple(os.readlink(f"{base}/ns/{name}") for name in _NAMESPACES
                           if os.path.lexists(f"{base}/ns/{name}"))
        root = os.readlink(f"{base}/root")
    except (OSError, ValueError, IndexError):
        return None
    return Confinement(tuple(fields.get(key, "").strip() for key in _STATUS_KEYS), namespaces, root, limits, nice)


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
    return {key: value for key, value in env.items() if key.startswith(MIRRORED_ENV)}


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
