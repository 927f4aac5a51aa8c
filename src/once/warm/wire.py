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


HEADER_SIZE = _struct.calcsize(HEADER)


class RequestReader:
    """A request read as its bytes arrive (the server reads many at once, none blocking)."""

    def __init__(self, max_fds: int = FD_COUNT) -> None:
        self.data = bytearray()
        self.fds: list[int] = []
        self.max_fds = max_fds

    def feed(self, sock: _socket.socket) -> bool:
        """Read what has arrived: True once the request is whole. ValueError when it cannot be one
        (its descriptors are closed); BlockingIOError when nothing was there."""
        data, ancillary, _flags, _address = sock.recvmsg(1 << 16, _socket.CMSG_SPACE(self.max_fds * 4))
        for level, kind, payload in ancillary:
            if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
                count = len(payload) // 4
                received = list(_struct.unpack(f"{count}i", payload[:count * 4]))
                room = self.max_fds - len(self.fds)  # more would only hold the server's descriptors
                self.fds += received[:max(room, 0)]
                close_all(received[max(room, 0):])
        if not data:
            self.discard()
            raise ValueError("the request ended early")
        self.data += data
        if len(self.data) < HEADER_SIZE:
            return False
        length = _struct.unpack(HEADER, bytes(self.data[:HEADER_SIZE]))[1]
        if length > MAX_PAYLOAD or len(self.data) > HEADER_SIZE + length:
            self.discard()
            raise ValueError("not a warm-process request")
        return len(self.data) == HEADER_SIZE + length

    def request(self) -> tuple[bytes, list[bytes], list[int]]:
        """Kind, fields and descriptors of the whole request; ValueError for another version's."""
        kind = _struct.unpack(HEADER, bytes(self.data[:HEADER_SIZE]))[0]
        fields = bytes(self.data[HEADER_SIZE:]).split(b"\0")
        if fields[0] != VERSION:
            self.discard()
            raise ValueError("not a warm-process request")
        return kind.rstrip(), fields[1:], self.fds

    def discard(self) -> None:
        close_all(self.fds)
        self.fds = []


def close_all(fds: list[int]) -> None:
    import os

    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


SO_PEERPIDFD = 77  # Linux 6.5


def peer_pidfd(sock: _socket.socket) -> int | None:
    """A pidfd of the process that connected (it names that process, never a later one with its
    pid), or None where the kernel has none."""
    try:
        return int(sock.getsockopt(_socket.SOL_SOCKET, SO_PEERPIDFD))
    except OSError:
        return None


def peer_credentials(sock: _socket.socket) -> tuple[int, int, int]:
    """Pid, uid and gid of the process at the other end (SO_PEERCRED)."""
    data = sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, _struct.calcsize("3i"))
    return _struct.unpack("3i", data)  # type: ignore[return-value]


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
