"""The sandbox's seccomp filter: what no read-only mount can stop.

Run by root, a sandboxed process keeps uid 0 (its capabilities are dropped, not its identity),
so a file it makes setuid in the repository is a setuid-root program on the host, and the
kernel keyring it reads and writes is root's own. The filter refuses a mode with the setuid or
setgid bit (chmod, open/creat/mkdir/mknod with such a mode) and the keyring calls; `openat2`
and io_uring, whose modes it cannot read, answer ENOSYS (callers fall back to openat). Calls
of another architecture (32-bit compat, x32) are refused. Pure: bytes out.
"""

from __future__ import annotations

import errno
import os
import struct

_LD_ABS, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06
_ALLOW, _ERRNO = 0x7FFF0000, 0x00050000
_SET_ID_BITS = 0o6000
_X32_BIT = 0x40000000

# machine: (audit arch, {syscall number: index of its mode argument}, {syscall number: errno})
_TABLES: dict[str, tuple[int, dict[int, int], dict[int, int]]] = {
    "x86_64": (0xC000003E,
               {90: 1, 91: 1, 268: 2, 452: 2, 2: 2, 257: 3, 85: 1, 83: 1, 258: 2, 133: 1, 259: 2},
               {248: errno.EPERM, 249: errno.EPERM, 250: errno.EPERM, 437: errno.ENOSYS, 425: errno.ENOSYS}),
    "aarch64": (0xC00000B7,
                {52: 1, 53: 2, 452: 2, 56: 3, 34: 2, 33: 2},
                {217: errno.EPERM, 218: errno.EPERM, 219: errno.EPERM, 437: errno.ENOSYS, 425: errno.ENOSYS}),
}


def _op(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("HBBI", code, jt, jf, k)


def program(machine: str | None = None) -> bytes | None:
    """The filter as a BPF program for bubblewrap's `--seccomp FD`, or None on a machine it
    has no table for (the sandbox then runs without it)."""
    table = _TABLES.get(machine or os.uname().machine)
    if table is None:
        return None
    arch, modes, refused = table
    refuse = _ret_errno(errno.EPERM)
    ops = [_op(_LD_ABS, 4), _op(_JEQ, arch, 1, 0), refuse, _op(_LD_ABS, 0)]
    if arch == _TABLES["x86_64"][0]:
        ops += [_op(_JGE, _X32_BIT, 0, 1), refuse]
    for number, index in modes.items():
        # not this call: skip the 4 ops below; else refuse a mode with a set-id bit, allow the rest
        ops += [_op(_JEQ, number, 0, 4), _op(_LD_ABS, 16 + 8 * index), _op(_JSET, _SET_ID_BITS, 0, 1), refuse,
                _op(_RET, _ALLOW)]
    for number, code in refused.items():
        ops += [_op(_JEQ, number, 0, 1), _ret_errno(code)]
    ops.append(_op(_RET, _ALLOW))
    return b"".join(ops)


def _ret_errno(code: int) -> bytes:
    return _op(_RET, _ERRNO | code)
