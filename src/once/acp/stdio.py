"""Serving the agent on stdin/stdout, and the models every session's turns share.

stdout carries JSON-RPC only: the protocol gets its own copy of the descriptor and fd 1
becomes stderr, so a stray print (ours, a library's, a child's) cannot corrupt a message.
"""

from __future__ import annotations

import asyncio
import os
import signal
import stat
import sys
import threading
from typing import Any, BinaryIO

from once.cli.run_options import RunOptions

STDIN_LIMIT = 50 * 1024 * 1024
"""Bytes in one message: a prompt may embed whole files."""


class Models:
    """The provider and small model, built at the first prompt and kept: a replayed cassette
    keeps its place across prompts and sessions, as in the app."""

    def __init__(self, options: RunOptions) -> None:
        self.options = options
        self._lock = threading.Lock()
        self._built: tuple[Any, Any] | None = None

    def provider(self, settings: Any) -> Any:
        return self._build(settings)[0]

    def small(self, settings: Any) -> Any:
        return self._build(settings)[1]

    def _build(self, settings: Any) -> tuple[Any, Any]:
        from once.cli.executor import small_model_for
        from once.providers import make_provider

        with self._lock:
            if self._built is None:
                # As `agent run`: a configured base_url is the openai server's.
                server = settings.base_url if settings.provider == "openai" else self.options.base_url
                provider = make_provider(settings.provider, replay=self.options.replay, record=self.options.record,
                                         base_url=server, timeout=settings.request_timeout)
                self._built = (provider, small_model_for(settings, self.options, server))
            return self._built


class _WritePipe(asyncio.Protocol):
    """What asyncio.StreamWriter.drain() needs from a write pipe's protocol."""

    def __init__(self) -> None:
        self._resumed: asyncio.Future[None] | None = None

    def pause_writing(self) -> None:
        self._resumed = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._resumed is not None and not self._resumed.done():
            self._resumed.set_result(None)
        self._resumed = None

    def connection_lost(self, exc: Exception | None) -> None:
        self.resume_writing()

    async def _drain_helper(self) -> None:
        if self._resumed is not None:
            await self._resumed


class _FileTransport(asyncio.WriteTransport):
    """Writes straight to a regular file (stdout redirected to one, when debugging)."""

    def __init__(self, out: BinaryIO) -> None:
        super().__init__()
        self.out = out

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.out.write(data)

    def is_closing(self) -> bool:
        return self.out.closed

    def close(self) -> None:
        self.out.close()


def _streamable(fd: int) -> bool:
    mode = os.fstat(fd).st_mode
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISCHR(mode)


async def protocol_streams() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    loop = asyncio.get_running_loop()
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb", buffering=0)
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    reader = asyncio.StreamReader(limit=STDIN_LIMIT)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    if _streamable(out.fileno()):
        transport, protocol = await loop.connect_write_pipe(_WritePipe, out)
    else:
        transport, protocol = _FileTransport(out), _WritePipe()
    return reader, asyncio.StreamWriter(transport, protocol, None, loop)


async def serve(options: RunOptions) -> None:
    """Answer one client until it closes stdin (or SIGTERM); running turns stop as if cancelled."""
    from acp import run_agent

    from once.acp.server import OnceAgent

    agent = OnceAgent(options, Models(options))
    reader, writer = await protocol_streams()
    server = asyncio.ensure_future(run_agent(agent, writer, reader))
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(signum, server.cancel)
    try:
        await server
    except asyncio.CancelledError:
        pass
    finally:
        agent.cancel_all()  # asyncio.run then waits for the worker threads: each run ends recorded
