"""The agent's tools. `default_tools()` is what a run offers the model."""

from __future__ import annotations

from typing import Iterable

from once.tools.base import Tool, ToolContext, ToolOutput, ToolRegistry
from once.tools.command import run_command_tool
from once.tools.edit import edit_file_tool, write_file_tool
from once.tools.listing import list_files_tool
from once.tools.read import read_file_tool
from once.tools.search import search_tool

TOOL_NAMES: tuple[str, ...] = ("list_files", "read_file", "search", "edit_file", "write_file", "run_command")
READ_ONLY_TOOL_NAMES: tuple[str, ...] = ("list_files", "read_file", "search")
LEAN_TOOL_NAMES: tuple[str, ...] = ("list_files", "read_file", "edit_file", "write_file", "run_command")
"""A small model's tools: no search (it reads the files it is shown), no report tool."""
EDIT_TOOL_NAMES: frozenset[str] = frozenset({"edit_file", "write_file"})
MODES = ("agent", "plan")


def default_tools() -> list[Tool]:
    """Fresh instances of the six file and command tools, in TOOL_NAMES order."""
    return [list_files_tool(), read_file_tool(), search_tool(), edit_file_tool(), write_file_tool(),
            run_command_tool()]


def tools_for_mode(mode: str, *, executing_plan: bool = False, always: Iterable[Tool] = (),
                   lean: bool = False) -> list[Tool]:
    """Plan mode reads only; agent mode gets every tool, and `update_plan` when a plan is being carried out.

    `always` (e.g. `vent`) is offered in every mode, after the others; `lean` keeps LEAN_TOOL_NAMES.
    """
    tools = default_tools()
    if lean:
        tools = [tool for tool in tools if tool.name in LEAN_TOOL_NAMES]
    if mode == "plan":
        return [*(tool for tool in tools if tool.name in READ_ONLY_TOOL_NAMES), *always]
    if executing_plan:
        from once.tools.plan_tool import update_plan_tool  # only a run carrying out a plan offers it

        tools.append(update_plan_tool())
    return [*tools, *always]


def build_registry(
    passthrough: tuple[type[BaseException], ...] = (), extra: Iterable[Tool] = (),
) -> ToolRegistry:
    """A registry of the default tools plus `extra` (e.g. `vent`).

    `passthrough` names errors that must stop the run instead of becoming a tool result.
    """
    registry = ToolRegistry([*default_tools(), *extra])
    registry.passthrough = tuple(passthrough)
    return registry


__all__ = ["EDIT_TOOL_NAMES", "LEAN_TOOL_NAMES", "MODES", "READ_ONLY_TOOL_NAMES", "TOOL_NAMES", "Tool", "ToolContext", "ToolOutput", "ToolRegistry", "build_registry", "default_tools", "tools_for_mode"]
