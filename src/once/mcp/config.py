"""The `[mcp]` table: servers by name, and which project servers the user trusts. Pure.

    [mcp.servers.docs]                      # a stdio server: a program once starts
    command = "uvx"
    args = ["docs-mcp", "--root", "."]
    env = { DOCS_TOKEN = "${DOCS_TOKEN}" }  # ${VAR} is read from the environment at start
    timeout = 120                           # seconds a call may take (default 120)

    [mcp.servers.search]                    # a streamable HTTP server
    url = "http://127.0.0.1:8000/mcp"
    headers = { Authorization = "Bearer ${SEARCH_TOKEN}" }

A repository's `.once/config.toml` may declare servers too; they start only once the user
trusts them (`agent mcp trust NAME`, or "allow always" when asked), which writes
`NAME:<fingerprint>` into the user's `mcp.trusted`. The fingerprint covers the repository
and everything that says what runs, so a changed command is asked about again.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from once.errors import ConfigError
from once.lazyre import LazyPattern

SCOPES = ("user", "project")
DEFAULT_TIMEOUT = 120.0
DEFAULT_STARTUP_TIMEOUT = 30.0
_NAME = LazyPattern(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
_VAR = LazyPattern(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SERVER_KEYS = frozenset({"command", "args", "env", "url", "headers", "timeout", "startup_timeout", "network"})
CONFIG_HELP = ('[mcp.servers.NAME] needs either command = "program" (with args = [...], env = {...}) '
               'or url = "http://host/mcp"')


@dataclass(frozen=True)
class ServerSpec:
    """One configured server, as written (no variable expanded)."""

    name: str
    scope: str
    command: str | None = None
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    url: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    timeout: float = DEFAULT_TIMEOUT
    startup_timeout: float = DEFAULT_STARTUP_TIMEOUT
    network: bool = False
    """Let a sandboxed stdio server use the network (the sandbox cuts it otherwise)."""

    @property
    def transport(self) -> str:
        return "http" if self.url else "stdio"

    def describe(self) -> str:
        if self.url:
            return self.url
        import shlex

        return shlex.join([self.command or "", *self.args])

    def for_approval(self) -> str:
        """What a person trusting it should see: the command (or URL), the environment it sets, the network."""
        text = self.describe()
        if self.env:
            text += f"; environment {', '.join(f'{name}={value}' for name, value in self.env)}"
        if self.network:
            text += "; with the network"
        return text

    def to_toml(self) -> dict[str, Any]:
        """The table as it is written back to a config file."""
        table: dict[str, Any] = {"url": self.url} if self.url else {"command": self.command}
        if self.args:
            table["args"] = list(self.args)
        for key, pairs in (("env", self.env), ("headers", self.headers)):
            if pairs:
                table[key] = dict(pairs)
        if self.timeout != DEFAULT_TIMEOUT:
            table["timeout"] = self.timeout
        if self.startup_timeout != DEFAULT_STARTUP_TIMEOUT:
            table["startup_timeout"] = self.startup_timeout
        if self.network:
            table["network"] = True
        return table


@dataclass(frozen=True)
class McpSettings:
    servers: dict[str, ServerSpec] = field(default_factory=dict)
    """By name; a project's server of the same name as a user's replaces it (and needs trust)."""
    trusted: tuple[str, ...] = ()
    """`NAME:<fingerprint>` entries from the user's config (see `trust_entry`)."""


def check_name(name: str, where: str = "") -> str:
    if not isinstance(name, str) or not _NAME.match(name) or "__" in name:
        prefix = f"{where}: " if where else ""
        raise ConfigError(f"{prefix}MCP server name {name!r} is not allowed",
                          hint="use letters, digits, - and _ (no double underscore), at most 32 characters")
    return name


def parse_mcp_table(value: Any, where: str, scope: str) -> tuple[dict[str, ServerSpec], tuple[str, ...]]:
    """Validate one file's `[mcp]` table: its servers, and its `trusted` list (user file only)."""
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: mcp must be a table, e.g. [mcp.servers.NAME]", hint=CONFIG_HELP)
    unknown = sorted(set(value) - {"servers", "trusted"})
    if unknown:
        raise ConfigError(f"{where}: unknown key mcp.{unknown[0]}", hint="the [mcp] table holds servers and trusted")
    trusted = _strings(value.get("trusted", []), f"{where}: mcp.trusted")
    if trusted and scope != "user":
        raise ConfigError(f"{where}: mcp.trusted cannot be set in a project's config: a repository could "
                          "otherwise trust its own servers", hint="run `agent mcp trust NAME` instead")
    servers = value.get("servers", {})
    if not isinstance(servers, dict):
        raise ConfigError(f"{where}: mcp.servers must be a table of servers", hint=CONFIG_HELP)
    return {name: parse_server(name, table, where, scope) for name, table in servers.items()}, tuple(trusted)


def parse_server(name: str, table: Any, where: str, scope: str) -> ServerSpec:
    check_name(name, where)
    label = f"{where}: mcp.servers.{name}"
    if not isinstance(table, dict):
        raise ConfigError(f"{label} must be a table", hint=CONFIG_HELP)
    unknown = sorted(set(table) - _SERVER_KEYS)
    if unknown:
        raise ConfigError(f"{label}: unknown key {unknown[0]!r}", hint=f"keys: {', '.join(sorted(_SERVER_KEYS))}")
    command, url = table.get("command"), table.get("url")
    if (command is None) == (url is None):
        raise ConfigError(f"{label} needs exactly one of command and url", hint=CONFIG_HELP)
    if command is not None and (not isinstance(command, str) or not command.strip()):
        raise ConfigError(f"{label}: command must be a non-empty string", hint=CONFIG_HELP)
    if url is not None and (not isinstance(url, str) or not url.startswith(("http://", "https://"))):
        raise ConfigError(f"{label}: url must start with http:// or https://", hint=CONFIG_HELP)
    if url is not None and ("args" in table or "env" in table or "network" in table):
        raise ConfigError(f"{label}: args, env and network are for stdio servers (command = ...)", hint=CONFIG_HELP)
    network = table.get("network", False)
    if not isinstance(network, bool):
        raise ConfigError(f"{label}: network must be true or false")
    return ServerSpec(
        name=name, scope=scope, command=command, url=url, network=network,
        args=tuple(_strings(table.get("args", []), f"{label}.args", allow_empty=True)),
        env=_pairs(table.get("env", {}), f"{label}.env"), headers=_pairs(table.get("headers", {}), f"{label}.headers"),
        timeout=_seconds(table.get("timeout", DEFAULT_TIMEOUT), f"{label}.timeout"),
        startup_timeout=_seconds(table.get("startup_timeout", DEFAULT_STARTUP_TIMEOUT), f"{label}.startup_timeout"),
    )


def _strings(value: Any, label: str, *, allow_empty: bool = False) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) and (allow_empty or item) for item in value):
        raise ConfigError(f"{label} must be a list of strings")
    return list(value)


def _pairs(value: Any, label: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ConfigError(f"{label} must be a table of strings, e.g. {{ NAME = \"value\" }}")
    return tuple(sorted(value.items()))


def _seconds(value: Any, label: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{label} must be a number of seconds above 0")
    return float(value)


def merge(user: Mapping[str, ServerSpec], project: Mapping[str, ServerSpec], trusted: tuple[str, ...]) -> McpSettings:
    return McpSettings(servers={**user, **project}, trusted=trusted)


def fingerprint(spec: ServerSpec, repo_root: str) -> str:
    """What the user trusts: this repository, and exactly what runs (or where it connects)."""
    import hashlib  # only when servers are trusted or checked: settings are read before the app's first paint
    import json

    what = [repo_root, spec.command, list(spec.args), list(spec.env), spec.url, list(spec.headers), spec.network]
    return hashlib.sha256(json.dumps(what).encode()).hexdigest()[:16]


def trust_entry(spec: ServerSpec, repo_root: str) -> str:
    return f"{spec.name}:{fingerprint(spec, repo_root)}"


def is_trusted(spec: ServerSpec, repo_root: str, trusted: tuple[str, ...]) -> bool:
    """A user's own server always is; a project's only once trusted as it is now."""
    return spec.scope == "user" or trust_entry(spec, repo_root) in trusted


def expand(text: str, environ: Mapping[str, str]) -> tuple[str, list[str]]:
    """`${VAR}` replaced from `environ`; the names that were not set come back too."""
    missing: list[str] = []

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in environ:
            missing.append(name)
        return environ.get(name, "")

    return _VAR.sub(value, text), missing
