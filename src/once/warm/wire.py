"""The few messages between `agent run` and the warm process, on a Unix socket.

A request is a header (kind, length), the three standard streams' descriptors beside it, then
NUL-separated fields. Replies and signals are short lines. Only the C modules `_socket` and
`_struct` are used: `socket` and `signal` import enum, a few milliseconds of every run.
"""

from __future__ import annotations

import _socket
import _struct

VERSION = b"once-warm-1"
HEADER = "<4sI"  # kind, payload length
FD_COUNT = 3
MAX_PAYLOAD = 16 * 1024 * 1024


def send_request(sock: _socket.socket, kind: bytes, fields: list[bytes], fds: tuple[int, ...] = ()) -> None:
    payload = b"\0".join([VERSION, *fields])
    header = _struct.pack(HEADER, kind.ljust(4), len(payload))
    ancillary = [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, _struct.pack(f"{len(fds)}i", *fds))] if fds else []
    sent = sock.sendmsg([header], ancillary)
    if sent != len(header):
        sock.sendall(header[sent:])
    sock.sendall(payload)


def receive_request(sock: _socket.socket) -> tuple[bytes, list[bytes], list[int]]:
    """Kind, fields and the descriptors that came with the header. ValueError for anything that
    is not a request of this version (the descriptors received are closed first)."""
    size = _struct.calcsize(HEADER)
    header, ancillary, _flags, _address = sock.recvmsg(size, _socket.CMSG_SPACE(FD_COUNT * 4))
    fds: list[int] = []
    for level, kind, data in ancillary:
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
            count = len(data) // 4
            fds += list(_struct.unpack(f"{count}i", data[:count * 4]))
    try:
        header += _exactly(sock, size - len(header))
        kind, length = _struct.unpack(HEADER, header)
        if length > MAX_PAYLOAD:
            raise ValueError("request too large")
        fields = _exactly(sock, length).split(b"\0")
        if fields[0] != VERSION:
            raise ValueError("another version's request")
    except (ValueError, OSError, _struct.error):
        close_all(fds)
        raise ValueError("not a warm-process request") from None
    return kind.rstrip(), fields[1:], fds


def _exactly(sock: _socket.socket, count: int) -> bytes:
    parts, left = [], count
    while left:
        part = sock.recv(min(left, 1 << 16))
        if not part:
            raise ValueError("the request ended early")
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def close_all(fds: list[int]) -> None:
    import os

    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


def peer_uid(sock: _socket.socket) -> int:
    """The user id of the process at the other end (SO_PEERCRED: pid, uid, gid)."""
    data = sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, _struct.calcsize("3i"))
    return _struct.unpack("3i", data)[1]


class Lines:
    """Lines read from a socket, one at a time."""

    def __init__(self, sock: _socket.socket) -> None:
        self.sock, self.buffer = sock, b""

    def next(self) -> bytes | None:
        """The next line without its newline; None at the end."""
        while b"\n" not in self.buffer:
            part = self.sock.recv(4096)
            if not part:
                return None
            self.buffer += part
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line
