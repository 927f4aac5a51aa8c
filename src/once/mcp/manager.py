"""The servers' connections, on a background event loop the synchronous agent loop calls into.

The SDK is asyncio-based, and its connections must be opened and closed by one task each
(anyio's cancel scopes): each server gets an owner task that opens the session, reports its
tools, and waits to be told to stop. Calls run as tasks of their own on the same loop. Every
wait on this side is bounded; `close` stops each server (the SDK ends a stdio server's
process tree: stdin closed, then SIGTERM, then SIGKILL) and then the loop and its thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import IO, Any

from once.mcp.session import Target, call_tool, list_tools, open_session, ping

SHUTDOWN_SECONDS = 8.0
"""Long enough for the SDK's own bounded stop of a stdio server (2 s + 2 s + 2 s)."""
PING_SECONDS = 3.0
_POLL = 0.05


class McpCallError(Exception):
    """A call that produced no result: `kind` is timeout, cancelled, died, gone or error."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass
class StartResult:
    name: str
    tools: list[dict[str, Any]]
    error: str | None = None


def describe(exc: BaseException) -> str:
    """One line for an error from the SDK (its errors come wrapped in exception groups)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return "it did not answer in time"
    text = str(exc).strip() or type(exc).__name__
    return text if type(exc).__name__ in text else f"{type(exc).__name__}: {text}"


class _Connection:
    """One server, owned by one task on the manager's loop."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.errlog: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")
        self.session: Any = None
        self.task: asyncio.Task[None] | None = None
        self.stop = asyncio.Event()
        self.ready: asyncio.Future[list[dict[str, Any]]] = asyncio.get_running_loop().create_future()
        self.dead: str | None = None

    async def run(self) -> None:
        try:
            async with open_session(self.target, self.errlog) as session:
                tools = await list_tools(session)
                self.session = session
                self.ready.set_result(tools)
                await self.stop.wait()
        except BaseException as exc:  # noqa: BLE001 - the owner reports, never propagates
            self.dead = self.dead or describe(exc)
            if not self.ready.done():
                self.ready.set_exception(RuntimeError(self.dead))
        finally:
            self.session = None

    async def call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        if self.session is None:
            raise McpCallError("gone", self.dead or "the server is not running")
        return await call_tool(self.session, tool, arguments)

    def stderr_tail(self, limit: int = 600, lines: int = 4) -> str:
        """The last lines the server wrote to stderr (the file is shared: read without moving it)."""
        try:
            fd = self.errlog.fileno()
            size = os.fstat(fd).st_size
            data = os.pread(fd, limit, max(0, size - limit))
        except (OSError, ValueError):
            return ""
        return " | ".join(data.decode("utf-8", "replace").strip().splitlines()[-lines:])


class McpManager:
    """Starts servers, calls their tools, stops them all; safe to call from one thread at a time."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._conns: dict[str, _Connection] = {}

    def __enter__(self) -> "McpManager":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self, targets: list[Target]) -> list[StartResult]:
        """Open every server at once; each has its own startup timeout. Failures are results."""
        if not targets:
            return []
        loop = self._ensure_loop()
        futures = [asyncio.run_coroutine_threadsafe(self._open(target), loop) for target in targets]
        results = []
        for target, future in zip(targets, futures):
            try:
                tools = future.result(timeout=target.startup_timeout + SHUTDOWN_SECONDS + 2)
                results.append(StartResult(target.name, tools))
            except Exception as exc:  # noqa: BLE001 - a server that cannot start is reported, not raised
                results.append(StartResult(target.name, [], self._start_error(target.name, exc)))
        return results

    def _start_error(self, name: str, exc: BaseException) -> str:
        conn = self._conns.get(name)
        tail = conn.stderr_tail() if conn else ""
        why = conn.dead if conn and conn.dead else describe(exc)
        return why + (f"; it wrote: {tail}" if tail else "")

    async def _open(self, target: Target) -> list[dict[str, Any]]:
        conn = _Connection(target)
        self._conns[target.name] = conn
        conn.task = asyncio.create_task(conn.run())
        try:
            return await asyncio.wait_for(asyncio.shield(conn.ready), target.startup_timeout)
        except asyncio.TimeoutError:
            conn.dead = f"it did not answer within {target.startup_timeout:g} s"
            conn.task.cancel()  # still starting: leaving its blocks stops the server (the SDK's bounded stop)
            await asyncio.wait({conn.task}, timeout=SHUTDOWN_SECONDS)
            raise RuntimeError(conn.dead) from None

    def call(self, name: str, tool: str, arguments: dict[str, Any],
             cancel: threading.Event | None = None) -> dict[str, Any]:
        """The result as the protocol's JSON, or McpCallError saying why there is none."""
        conn = self._conns.get(name)
        if conn is None or self._loop is None or conn.dead is not None:
            raise McpCallError("gone", conn.dead if conn and conn.dead else f"server {name} is not running")
        future = asyncio.run_coroutine_threadsafe(conn.call(tool, arguments), self._loop)
        deadline = time.monotonic() + conn.target.timeout
        while True:
            try:
                return future.result(timeout=_POLL)
            except concurrent.futures.TimeoutError:
                if cancel is not None and cancel.is_set():
                    future.cancel()
                    raise McpCallError("cancelled", "the call was cancelled") from None
                if time.monotonic() > deadline:
                    future.cancel()
                    raise McpCallError("timeout", f"no answer within {conn.target.timeout:g} s") from None
            except McpCallError:
                raise
            except Exception as exc:  # noqa: BLE001 - the SDK's errors: the server said no, or is gone
                raise self._failed(conn, exc) from None

    def _failed(self, conn: _Connection, exc: BaseException) -> McpCallError:
        """A protocol error from a live server is the call's; a server that no longer answers died."""
        assert self._loop is not None
        alive = conn.task is not None and not conn.task.done()
        if alive:
            try:
                asyncio.run_coroutine_threadsafe(ping(conn.session), self._loop).result(timeout=PING_SECONDS)
            except Exception:  # noqa: BLE001 - any failure to answer a ping means it is gone
                alive = False
        if alive:
            return McpCallError("error", describe(exc))
        tail = conn.stderr_tail()
        conn.dead = describe(exc) + (f"; it wrote: {tail}" if tail else "")
        self._loop.call_soon_threadsafe(conn.stop.set)
        return McpCallError("died", conn.dead)

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=_run_loop, args=(self._loop,), name="mcp", daemon=True)
            self._thread.start()
        return self._loop

    def close(self) -> None:
        """Stop every server, then the loop; bounded, and safe to call twice."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._close_all(), loop).result(timeout=SHUTDOWN_SECONDS + 3)
        except Exception:  # noqa: BLE001 - the loop is stopped below whatever happened
            pass
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        self._loop = self._thread = None
        for conn in self._conns.values():
            conn.errlog.close()

    async def _close_all(self) -> None:
        tasks = {conn.task for conn in self._conns.values() if conn.task is not None}
        for conn in self._conns.values():
            conn.stop.set()
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=SHUTDOWN_SECONDS)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=2)


def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
        leftovers = asyncio.all_tasks(loop)
        for task in leftovers:
            task.cancel()
        if leftovers:
            loop.run_until_complete(asyncio.wait(leftovers, timeout=2))
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        loop.close()
