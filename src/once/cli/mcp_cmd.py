"""`agent mcp list|add|rm|test|trust`: the MCP servers whose tools runs offer the model."""

from __future__ import annotations

from pathlib import Path
from typing import Any, List, Optional

import typer

from once.cli.common import print_json, repo_dir, reported, terminal_safe
from once.errors import ConfigError, OnceError, UsageError

app = typer.Typer(
    name="mcp",
    no_args_is_help=True,
    rich_markup_mode=None,
    help=(
        "MCP servers: programs (stdio) or URLs (streamable HTTP) whose tools a run offers the model as "
        "mcp__NAME__TOOL. They are declared in config as [mcp.servers.NAME]; a repository's own servers "
        "start only once you trust them.\n\n"
        "\b\nExamples:\n"
        "  agent mcp add docs -- uvx docs-mcp --root .\n"
        "  agent mcp add search --url http://127.0.0.1:8000/mcp\n"
        "  agent mcp test docs\n"
        "  agent mcp trust lint   (a server this repository's .once/config.toml declares)"
    ),
)

RepoOption = typer.Option(None, "--repo", "-C", help="The repository (default: the one around the cwd).")


def _context(repo: Path | None) -> tuple[Any, Path | None]:
    from once.config import find_repo_root, load_settings

    root = find_repo_root(repo_dir(repo))
    return load_settings(root), root


def _spec(settings: Any, name: str) -> Any:
    spec = settings.mcp.servers.get(name)
    if spec is None:
        known = ", ".join(sorted(settings.mcp.servers)) or "none"
        raise UsageError(f"no MCP server named {name!r} (configured: {known})", hint="add one with `agent mcp add`")
    return spec


def _where(root: Path | None) -> str:
    return str(root or Path.cwd().resolve())


@app.command("list")
def list_command(json_out: bool = typer.Option(False, "--json", help="Print the servers as JSON."),
                 repo: Optional[Path] = RepoOption) -> None:
    """The configured servers: scope, transport, what runs or where, and whether it is trusted."""
    from once.mcp.config import is_trusted

    with reported():
        settings, root = _context(repo)
    rows = [{"name": spec.name, "scope": spec.scope, "transport": spec.transport, "target": spec.describe(),
             "trusted": is_trusted(spec, _where(root), settings.mcp.trusted)}
            for spec in settings.mcp.servers.values()]
    if json_out:
        print_json(rows)
        return
    if not rows:
        typer.echo("No MCP servers configured. Add one with `agent mcp add NAME -- COMMAND ARGS...`.")
    for row in rows:
        trust = "" if row["trusted"] else "  (not trusted: agent mcp trust " + row["name"] + ")"
        typer.echo(terminal_safe(f"{row['name']:<16} {row['scope']:<8} {row['transport']:<6} {row['target']}{trust}"))


def _pairs(items: list[str], what: str) -> dict[str, str]:
    pairs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"{what} {item!r} is not KEY=VALUE")
        pairs[key] = value
    return pairs


@app.command("add")
def add_command(
    name: str = typer.Argument(..., help="The server's name: its tools are mcp__NAME__TOOL."),
    command: Optional[List[str]] = typer.Argument(None, help="The program and its arguments (after --)."),
    url: Optional[str] = typer.Option(None, "--url", help="A streamable HTTP server's URL instead of a program."),
    env: List[str] = typer.Option([], "--env", "-e", help="KEY=VALUE for the program; ${VAR} is read at start."),
    header: List[str] = typer.Option([], "--header", help="KEY=VALUE sent to an HTTP server."),
    timeout: Optional[float] = typer.Option(None, "--timeout", help="Seconds a call may take (default 120)."),
    network: bool = typer.Option(False, "--network", help="Let the program use the network inside the sandbox."),
    project: bool = typer.Option(False, "--project", help="Write <repo>/.once/config.toml instead of your user file."),
    repo: Optional[Path] = RepoOption,
) -> None:
    """Add (or replace) a server: `agent mcp add NAME -- COMMAND ARGS...` or `agent mcp add NAME --url URL`."""
    from once.config import config_path, find_repo_root
    from once.mcp.config import parse_server
    from once.mcp.config_io import add_server

    with reported():
        table: dict[str, Any] = {"url": url} if url else {}
        if command:
            table.update(command=command[0], args=command[1:])
        for key, value in (("env", _pairs(env, "--env")), ("headers", _pairs(header, "--header"))):
            if value:
                table[key] = value
        if timeout is not None:
            table["timeout"] = timeout
        if network:
            table["network"] = True
        scope = "project" if project else "user"
        path = config_path(scope, find_repo_root(repo_dir(repo)))
        spec = parse_server(name, table, "mcp add", scope)
        add_server(path, spec)
    typer.echo(terminal_safe(f"Added MCP server {name} ({spec.describe()}) to {path}."))
    if project:
        typer.echo(f"Runs start it once you trust it: agent mcp trust {name}")


@app.command("rm")
def rm_command(name: str = typer.Argument(...), project: bool = typer.Option(False, "--project",
               help="Remove it from <repo>/.once/config.toml instead of your user file."),
               repo: Optional[Path] = RepoOption) -> None:
    """Remove a server from your user file (or the project's, with --project)."""
    from once.config import config_path, find_repo_root
    from once.mcp.config_io import remove_server

    with reported():
        scope = "project" if project else "user"
        path = config_path(scope, find_repo_root(repo_dir(repo)))
        if not remove_server(path, name):
            other = "your user file" if project else "the project's file (use --project)"
            raise UsageError(f"no MCP server {name!r} in {path}", hint=f"it may be in {other}; see agent mcp list")
    typer.echo(f"Removed MCP server {name} from {path}.")


@app.command("trust")
def trust_command(name: str = typer.Argument(...), repo: Optional[Path] = RepoOption) -> None:
    """Let runs in this repository start its server NAME as it is configured now."""
    from once.mcp.config import trust_entry
    from once.mcp.config_io import add_trusted
    from once.paths import user_config_path

    with reported():
        settings, root = _context(repo)
        spec = _spec(settings, name)
        if spec.scope == "user":
            typer.echo(f"{name} is in your user config: runs start it without asking.")
            return
        add_trusted(user_config_path(), trust_entry(spec, _where(root)))
    typer.echo(terminal_safe(f"Trusted {name} in {_where(root)}: {spec.describe()}\n"
                             "A change to what it runs will be asked about again."))


@app.command("test")
def test_command(name: str = typer.Argument(...), json_out: bool = typer.Option(False, "--json"),
                 repo: Optional[Path] = RepoOption) -> None:
    """Start the server as a run would, list its tools (calling none), and stop it."""
    with reported():
        tools = _probe(name, repo)
    if json_out:
        print_json(tools)
        return
    typer.echo(f"{name}: {len(tools)} tools")
    for tool in tools:
        mark = "read-only" if tool["read_only"] else "asks"
        first = (tool["description"].splitlines() or [""])[0][:90]
        typer.echo(terminal_safe(f"  {tool['name']:<40} {mark:<9} {first}"))


def _probe(name: str, repo: Path | None) -> list[dict[str, Any]]:
    import os

    from once.mcp import launch
    from once.mcp.config import is_trusted
    from once.mcp.manager import McpManager
    from once.mcp.tools import server_tools
    from once.safety.env import scrubbed_env

    settings, root = _context(repo)
    spec, where = _spec(settings, name), _where(root)
    if not is_trusted(spec, where, settings.mcp.trusted):
        raise ConfigError(launch.untrusted_message(spec))
    how = launch.Launch(settings.sandbox, settings.sandbox_network, scrubbed_env(os.environ, settings.command_env),
                        os.environ)
    try:
        target = launch.resolve(spec, where, how)
    except ValueError as exc:
        raise ConfigError(f"MCP server {name} cannot start: {exc}") from None
    with McpManager() as manager:
        started = manager.start([target])[0]
    if started.error is not None:
        raise OnceError(f"MCP server {name} could not start: {started.error}")
    return [{"name": tool.name, "tool": tool.tool, "read_only": tool.read_only,
             "description": tool.description.removeprefix(f"[MCP server {name}] ")}
            for tool in server_tools(started, set())]
