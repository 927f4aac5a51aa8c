"""What every agent tool is made of, and the registry that calls them safely."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from once.tools.workspace import Workspace

if TYPE_CHECKING:
    from once.tools.plan_tool import PlanTracker


@dataclass
class ToolOutput:
    """The observation the model sees."""

    text: str
    is_error: bool = False


@dataclass
class ToolContext:
    """What a tool may use: the workspace and the run's settings."""

    workspace: Workspace
    command_env: dict[str, str] | None = None
    """Environment for `run_command` children (API keys already removed)."""
    default_timeout: float = 120.0
    max_timeout: float = 1800.0
    plan: "PlanTracker | None" = None
    """The approved plan being carried out, if any (for `update_plan`)."""
    check_command: Callable[[str], "str | None"] | None = None
    """The permission gate for commands: None when one may run, else why not."""
    cancel: threading.Event | None = None
    """Set by the interface when the user cancels the run: a running command is stopped at once."""
    task: str = ""
    """The user's request: a path it names is meant as written, never repaired into another."""
    check_tool: Callable[[str, bool, str], "str | None"] | None = None
    """The permission gate for MCP tools: (name, read-only, what the call does) -> None or why not."""
    sandbox: tuple[str, bool] = ("off", False)
    """(`sandbox` mode, network allowed) for `run_command` (see once.safety.sandbox); a run sets it from
    its settings (`auto` by default), a bare context runs commands as they are."""


ToolFunc = Callable[..., ToolOutput]


@dataclass
class Tool:
    name: str
    description: str
    input_schema: dict[str, Any]
    func: ToolFunc = field(repr=False)
    validate: bool = True
    """Check the input against `input_schema` before calling; off where the other end validates
    (an MCP server's schemas use more of JSON Schema than the small check knows)."""

    def schema(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "input_schema": self.input_schema}


class ToolRegistry:
    """Holds the tools offered to the model; `call` never raises a tool's failure."""

    # Errors that must stop the run rather than become an observation.
    passthrough: tuple[type[BaseException], ...] = ()

    def __init__(self, tools: list[Tool], hidden: frozenset[str] = frozenset()) -> None:
        self.tools = {tool.name: tool for tool in tools}
        self.hidden = hidden
        """Tools callable but not offered (edits written as text: a stray edit_file call still works)."""

    def schemas(self) -> list[dict[str, Any]]:
        return [tool.schema() for tool in self.tools.values() if tool.name not in self.hidden]

    def call(self, name: str, arguments: Any, ctx: ToolContext) -> ToolOutput:
        tool = self.tools.get(name)
        if tool is None:
            known = ", ".join(sorted(self.tools))
            return ToolOutput(f"Unknown tool '{name}'. Available tools: {known}.", is_error=True)
        if not isinstance(arguments, dict):
            return ToolOutput(f"Tool input for '{name}' must be a JSON object.", is_error=True)
        problem = _check_input(tool.input_schema, arguments) if tool.validate else None
        if problem:
            return ToolOutput(f"Bad input for '{name}': {problem}", is_error=True)
        try:
            return tool.func(ctx, **arguments)
        except self.passthrough:
            raise
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # a tool never raises into the loop
            return ToolOutput(f"{name} failed: {type(exc).__name__}: {exc}", is_error=True)


_JSON_TYPES = {"string": str, "integer": int, "boolean": bool, "number": (int, float), "object": dict, "array": list}


def _check_input(schema: dict[str, Any], arguments: dict[str, Any]) -> str | None:
    """A small check of required keys, unknown keys and basic types."""
    props = schema.get("properties", {})
    if "_raw_arguments" in arguments:  # set by the openai provider when arguments were not JSON
        raw = str(arguments["_raw_arguments"])[:200]
        return f"the arguments were not valid JSON ({raw!r}). Send a JSON object with the fields: {', '.join(props)}."
    for key in schema.get("required", []):
        if key not in arguments:
            return f"missing required field '{key}'."
    for key, value in arguments.items():
        if key not in props:
            return f"unknown field '{key}'. Fields: {', '.join(props)}."
        expected = _JSON_TYPES.get(props[key].get("type", ""))
        if expected is None:
            continue
        if value is None:
            return f"field '{key}' must be of type {props[key]['type']}, not null."
        if expected is int and isinstance(value, bool) or not isinstance(value, expected):
            return f"field '{key}' must be of type {props[key]['type']}."
    return None
