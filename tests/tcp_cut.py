"""A loopback TCP proxy that can cut its connections mid-stream: a real lost connection, for
testing what a client does when the server goes away halfway through a transaction."""

from __future__ import annotations

import socket
import threading


class CuttingProxy:
    """Forwards 127.0.0.1:port to `target`; the first `cuts` connections are cut (both ways,
    abruptly) once the client has sent `after_bytes`. Later connections pass untouched."""

    def __init__(self, target_port: int, *, after_bytes: int, cuts: int = 1) -> None:
        self.target_port = target_port
        self.after_bytes = after_bytes
        self.cuts_left = cuts
        self.cut_count = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = int(self._listener.getsockname()[1])
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                continue
            with self._lock:
                limit = self.after_bytes if self.cuts_left > 0 else None
                if limit is not None:
                    self.cuts_left -= 1
            server = socket.create_connection(("127.0.0.1", self.target_port), timeout=10)
            server.settimeout(None)  # a quiet server (waiting on a lock) is not a cut
            for a, b, budget in ((client, server, limit), (server, client, None)):
                threading.Thread(target=self._pipe, args=(a, b, budget, (client, server)), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, budget: int | None,
              both: tuple[socket.socket, socket.socket]) -> None:
        sent = 0
        try:
            while not self._stop.is_set():
                data = source.recv(65536)
                if not data:
                    break
                if budget is not None and sent + len(data) > budget:
                    sink.sendall(data[: max(0, budget - sent)])
                    with self._lock:
                        self.cut_count += 1
                    break
                sink.sendall(data)
                sent += len(data)
        except OSError:
            pass
        for sock in both:
            # shutdown() first: close() alone does not wake the other pipe's thread blocked in
            # recv() on the same socket, which keeps it open and the client waiting forever.
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                sock.close()
            except OSError:
                pass
