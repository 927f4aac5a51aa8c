"""Which configured servers a run starts, and how: trust, variables, the sandbox.

A stdio server is a program like any command the agent starts: its environment is built
from the same allow list (plus its own `env`), and where the sandbox is in force it runs
inside it (`safety.sandbox.wrap`), with no network unless the server's `network = true` or
`sandbox_network` allow it. A project's server starts only when trusted, or when the person
asked says yes; nobody is asked in a headless run.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

from once.mcp.config import McpSettings, ServerSpec, expand, is_trusted
from once.mcp.session import Target
from once.safety.sandbox import SandboxMissing, wrap
from once.vcs.safe_env import command_git_env

TrustAsk = Callable[[ServerSpec], bool]
"""Asked for a project's server not trusted yet: True to start it."""


@dataclass(frozen=True)
class Launch:
    mode: str
    """The `sandbox` setting: off, auto or bwrap."""
    network: bool
    """`sandbox_network`."""
    env: Mapping[str, str]
    """The scrubbed environment commands get."""
    environ: Mapping[str, str]
    """Where `${VAR}` in a server's env, args, url and headers is read from."""


def untrusted_message(spec: ServerSpec) -> str:
    return (f"MCP server {spec.name} ({spec.for_approval()}) was not started: this repository's config declares it "
            f"and you have not trusted it. Trust it with `agent mcp trust {spec.name}` (in this repository).")


def choose(settings: McpSettings, root: str, ask: TrustAsk) -> tuple[list[ServerSpec], list[ServerSpec]]:
    """(to start, refused): the user's servers, and the project's trusted or approved now."""
    chosen, refused = [], []
    for spec in settings.servers.values():
        if is_trusted(spec, root, settings.trusted) or ask(spec):
            chosen.append(spec)
        else:
            refused.append(spec)
    return chosen, refused


def resolve(spec: ServerSpec, root: str, launch: Launch) -> Target:
    """The target to connect to; ValueError says why a server cannot start as configured."""
    # A project's server reads `${VAR}` from the environment commands get, which holds no
    # credential: trusting its command line is not handing it your keys.
    values, missing = _expanded(spec, launch.environ if spec.scope == "user" else launch.env)
    if missing:
        names = ", ".join(sorted(set(missing)))
        raise ValueError(f"{names} not set in the environment (named by ${{...}} in its config)")
    if spec.url:
        return Target(spec.name, url=values["url"], headers=tuple(values["headers"]), timeout=spec.timeout,
                      startup_timeout=spec.startup_timeout)
    argv = [values["command"], *values["args"]]
    try:
        wrapped = wrap(shlex.join(argv), root, launch.mode, network=spec.network or launch.network,
                       keep=tuple(_own_folders(argv)))
    except SandboxMissing as exc:
        raise ValueError(str(exc)) from None
    env = command_git_env({**launch.env, **dict(values["env"])}, Path(root))
    return Target(spec.name, argv=tuple(wrapped or argv), env=tuple(sorted(env.items())), cwd=root,
                  timeout=spec.timeout, startup_timeout=spec.startup_timeout)


def _own_folders(argv: list[str]) -> list[str]:
    """Folders of the server's own files named on its command line: the sandbox shows them (read-only)
    even where it hides what is around them, as it does the real /tmp."""
    return sorted({os.path.dirname(os.path.realpath(arg)) for arg in argv
                   if os.path.isabs(arg) and os.path.isfile(arg)})


def _expanded(spec: ServerSpec, environ: Mapping[str, str]) -> tuple[dict, list[str]]:
    missing: list[str] = []

    def one(text: str) -> str:
        value, absent = expand(text, environ)
        missing.extend(absent)
        return value

    values = {
        "command": one(spec.command or ""), "args": [one(arg) for arg in spec.args], "url": one(spec.url or ""),
        "env": [(key, one(value)) for key, value in spec.env],
        "headers": [(key, one(value)) for key, value in spec.headers],
    }
    return values, missing


def targets(specs: list[ServerSpec], root: str, launch: Launch) -> tuple[list[Target], dict[str, str]]:
    """(targets, {name: why it cannot start})."""
    found, failed = [], {}
    for spec in specs:
        try:
            found.append(resolve(spec, root, launch))
        except ValueError as exc:
            failed[spec.name] = f"MCP server {spec.name} was not started: {exc}."
    return found, failed
