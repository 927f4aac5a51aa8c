"""A run's MCP servers: started after the run begins, offered as tools, stopped when it ends."""

from __future__ import annotations

import os
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from once.agent.approvals import Decision
from once.agent.permissions import PermissionGate
from once.agent.recorder import Recorder
from once.config import Settings
from once.events import McpServerStatus, WarningEvent

if TYPE_CHECKING:
    from once.mcp.config import ServerSpec
    from once.mcp.tools import Toolbox

Status = Callable[[str, str, str, str], None]


def open_servers(settings: Settings, root: Path, gate: PermissionGate, recorder: Recorder,
                 stack: ExitStack) -> "Toolbox | None":
    """Start the configured servers the run may use; None when there are none. `stack` stops them."""
    if not settings.mcp.servers:
        return None
    from once.mcp import launch
    from once.mcp.manager import McpManager
    from once.mcp.tools import Toolbox
    from once.safety.env import scrubbed_env

    where, status = str(root), _reporter(recorder)
    transports = {spec.name: spec.transport for spec in settings.mcp.servers.values()}
    chosen, refused = launch.choose(settings.mcp, where, _asker(gate, where))
    for spec in refused:
        status(spec.name, "refused", launch.untrusted_message(spec), spec.transport)
    how = launch.Launch(settings.sandbox, settings.sandbox_network,
                        scrubbed_env(os.environ, settings.command_env), os.environ)
    targets, failed = launch.targets(chosen, where, how)
    for name, message in failed.items():
        status(name, "failed", message, transports[name])
    manager = stack.enter_context(McpManager())
    started = manager.start(targets)
    toolbox = Toolbox(manager, lambda name, message: status(name, "died", message, transports[name]))
    toolbox.add(started)
    for result in started:
        if result.error is not None:
            status(result.name, "failed", f"MCP server {result.name} could not start: {result.error}. The run goes "
                   f"on without it (`agent mcp test {result.name}` tries it alone).", transports[result.name])
            continue
        names = [tool.name for tool in toolbox.tools if tool.server == result.name]
        recorder.emit(McpServerStatus(run_id=recorder.run_id, name=result.name, status="started",
                                      transport=transports[result.name], tools=names))
    return toolbox


def _reporter(recorder: Recorder) -> Status:
    """A server that will not be used: one status event and one warning, each once."""
    def status(name: str, what: str, message: str, transport: str) -> None:
        recorder.emit(McpServerStatus(run_id=recorder.run_id, name=name, status=what, transport=transport,
                                      message=message))
        recorder.emit(WarningEvent(run_id=recorder.run_id, message=message))

    return status


def _asker(gate: PermissionGate, where: str) -> Callable[["ServerSpec"], bool]:
    """Ask about a project's server; "allow always" trusts it in the user's config."""
    def ask(spec: "ServerSpec") -> bool:
        from once.mcp.config import trust_entry
        from once.mcp.config_io import add_trusted
        from once.paths import user_config_path

        decision = gate.check_server(spec.name, f"This repository's config starts an MCP server: {spec.for_approval()}")
        if decision is Decision.allow_always:
            add_trusted(user_config_path(), trust_entry(spec, where))
        return decision is not Decision.reject

    return ask
