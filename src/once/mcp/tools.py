"""The servers' tools as agent tools: each call passes the permission gate, then the server.

A result is cut to `results.SHOWN_BYTES` and redacted. A server that dies says so once (the
`on_gone` callback: a warning event) and its tools are no longer offered; a later call to one
gets an error result at once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable

from once.mcp.manager import McpCallError, McpManager, StartResult
from once.mcp.names import tool_name
from once.mcp.results import SHOWN_BYTES, for_model
from once.tools.base import Tool, ToolContext, ToolOutput, ToolRegistry

DESCRIPTION_CHARS = 2000


@dataclass(frozen=True)
class ServerTool:
    """One tool of one server, under the name the model sees."""

    name: str
    server: str
    tool: str
    description: str
    input_schema: dict[str, Any]
    read_only: bool


def server_tools(started: StartResult, taken: set[str]) -> list[ServerTool]:
    """The tools a started server listed (pure); `taken` collects the names given out."""
    found = []
    for raw in started.tools:
        if not isinstance(raw.get("name"), str):
            continue
        name = tool_name(started.name, raw["name"], taken)
        taken.add(name)
        annotations = raw.get("annotations") or {}
        description = str(raw.get("description") or raw.get("title") or raw["name"])[:DESCRIPTION_CHARS]
        found.append(ServerTool(
            name=name, server=started.name, tool=raw["name"], read_only=annotations.get("readOnlyHint") is True,
            description=f"[MCP server {started.name}] {description}",
            input_schema=_object_schema(raw.get("inputSchema"))))
    return found


def _object_schema(schema: Any) -> dict[str, Any]:
    """Model APIs want an object schema; a server may leave parts out."""
    schema = dict(schema) if isinstance(schema, dict) else {}
    schema["type"] = "object"
    schema.setdefault("properties", {})
    return schema


def call_summary(tool: ServerTool, arguments: dict[str, Any]) -> str:
    """What an approval shows: the server, the tool, and its input."""
    shown = json.dumps(arguments, ensure_ascii=False, indent=1)
    shown = shown if len(shown) <= 2000 else shown[:2000] + " ..."
    kind = "read-only" if tool.read_only else "may change things"
    return f"MCP server {tool.server}, tool {tool.tool} ({kind}), input:\n{shown}"


@dataclass
class Toolbox:
    """The run's MCP tools over one manager; says once when a server is gone."""

    manager: McpManager
    on_gone: Callable[[str, str], None]
    """Told once per server that stopped: its name, and what to tell the user."""
    tools: list[ServerTool] = field(default_factory=list)
    registry: ToolRegistry | None = None
    """Set once the run's registry exists: a dead server's tools are hidden in it."""
    limit: int = SHOWN_BYTES
    _gone: set[str] = field(default_factory=set)

    def add(self, started: list[StartResult]) -> None:
        taken = {tool.name for tool in self.tools}
        for result in started:
            if result.error is None:
                self.tools += server_tools(result, taken)

    def agent_tools(self, read_only: bool = False) -> list[Tool]:
        return [self._agent_tool(tool) for tool in self.tools if tool.read_only or not read_only]

    def _agent_tool(self, tool: ServerTool) -> Tool:
        def func(ctx: ToolContext, **arguments: Any) -> ToolOutput:
            return self.call(tool, arguments, ctx)

        return Tool(tool.name, tool.description, tool.input_schema, func, validate=False)

    def call(self, tool: ServerTool, arguments: dict[str, Any], ctx: ToolContext) -> ToolOutput:
        refusal = ctx.check_tool(tool.name, tool.read_only, call_summary(tool, arguments)) if ctx.check_tool else None
        if refusal is not None:
            return ToolOutput(refusal, is_error=True)
        try:
            result = self.manager.call(tool.server, tool.tool, arguments, ctx.cancel)
        except McpCallError as exc:
            return ToolOutput(self._failure(tool, exc), is_error=True)
        text, is_error = for_model(result, self.limit)
        return ToolOutput(text, is_error=is_error)

    def _failure(self, tool: ServerTool, exc: McpCallError) -> str:
        if exc.kind in ("died", "gone"):
            self._server_gone(tool.server, str(exc))
            return (f"MCP server {tool.server} is no longer running ({exc}); its tools cannot be used in this run. "
                    "Go on without them, or tell the user.")
        if exc.kind == "timeout":
            return (f"{tool.name}: the MCP server gave no answer in time ({exc}). "
                    "Try a smaller request, or go on without it.")
        if exc.kind == "cancelled":
            return f"{tool.name} was cancelled."
        return f"{tool.name} failed: {exc}. Check the input against the tool's schema."

    def _server_gone(self, server: str, why: str) -> None:
        if server in self._gone:
            return
        self._gone.add(server)
        self.on_gone(server, f"MCP server {server} stopped during the run ({why}); the run goes on without its tools.")
        if self.registry is not None:
            names = {tool.name for tool in self.tools if tool.server == server}
            self.registry.hidden = frozenset(self.registry.hidden | names)
