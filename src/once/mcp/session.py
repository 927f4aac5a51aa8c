"""One connection to one server, over stdio or streamable HTTP (async; the SDK is imported here only)."""

from __future__ import annotations

from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import IO, Any, AsyncIterator

MAX_TOOL_PAGES = 20
"""Pages of tools/list read: a server whose cursor never ends cannot hang the start."""


@dataclass(frozen=True)
class Target:
    """Where a server is, resolved for this run: the argv to start (sandbox included), or the URL."""

    name: str
    argv: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    cwd: str | None = None
    url: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    timeout: float = 120.0
    startup_timeout: float = 30.0


@asynccontextmanager
async def open_session(target: Target, errlog: IO[str]) -> AsyncIterator[Any]:
    """An initialized `ClientSession`; leaving the block closes it and stops the server."""
    from mcp import ClientSession
    from mcp.types import Implementation

    from once import __version__

    async with AsyncExitStack() as stack:
        streams = await stack.enter_async_context(_transport(target, errlog))
        session = await stack.enter_async_context(ClientSession(
            streams[0], streams[1], client_info=Implementation(name="once", version=__version__)))
        await session.initialize()
        yield session


@asynccontextmanager
async def _transport(target: Target, errlog: IO[str]) -> AsyncIterator[Any]:
    async with AsyncExitStack() as stack:
        if target.url:
            from mcp.client.streamable_http import streamable_http_client

            client = None
            if target.headers:
                import httpx2

                client = await stack.enter_async_context(httpx2.AsyncClient(
                    headers=dict(target.headers), timeout=httpx2.Timeout(30.0, read=300.0)))
            yield await stack.enter_async_context(streamable_http_client(target.url, http_client=client))
        else:
            from mcp.client.stdio import StdioServerParameters, stdio_client

            params = StdioServerParameters(command=target.argv[0], args=list(target.argv[1:]),
                                           env=dict(target.env), cwd=target.cwd)
            yield await stack.enter_async_context(stdio_client(params, errlog=errlog))


async def list_tools(session: Any) -> list[dict[str, Any]]:
    """Every tool the server offers, as the protocol's JSON (`name`, `inputSchema`, `annotations`...)."""
    from mcp.types import PaginatedRequestParams

    tools: list[dict[str, Any]] = []
    cursor = None
    for _ in range(MAX_TOOL_PAGES):
        page = await session.list_tools(params=PaginatedRequestParams(cursor=cursor) if cursor else None)
        tools += [tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in page.tools]
        cursor = getattr(page, "next_cursor", None) or getattr(page, "nextCursor", None)
        if not cursor:
            break
    return tools


async def call_tool(session: Any, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await session.call_tool(tool, arguments)
    return result.model_dump(mode="json", by_alias=True, exclude_none=True)


async def ping(session: Any) -> None:
    await session.send_ping()
