"""`agent config get|set|unset|list|path`: read and change settings from the shell."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from once.cli.common import reported
from once.errors import OnceError

if TYPE_CHECKING:
    from once import config

app = typer.Typer(
    name="config",
    no_args_is_help=True,
    help=(
        "Read and change settings.\n\n"
        "Each setting comes from the highest of: built-in default < user file "
        "($XDG_CONFIG_HOME/once/config.toml) < project file (<repo>/.once/config.toml) "
        "< ONCE_* environment variable < command-line flag.\n\n"
        "Examples:\n\n"
        "  agent config list   (every setting, its value and where it came from)\n\n"
        "  agent config set model claude-opus-4-1 --project   (this repository only)"
    ),
)

# Higher wins; used to warn when a value just written is shadowed by a stronger layer.
_RANK = {"default": 0, "user": 1, "project": 2, "env": 3, "flag": 4}
_SCOPE_HELP = "Write the project file <repo>/.once/config.toml instead of the user file."


def _repo_root() -> Path | None:
    from once import config

    return config.find_repo_root(Path.cwd())


def _text(value: Any) -> str:
    """A value as a user would type it: true/false, numbers, strings, JSON for tables."""
    from once.config_schema import list_to_text

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, (list, tuple)):
        return list_to_text(value)
    return "" if value is None else str(value)


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2))


@app.command("get")
def get_command(
    key: str = typer.Argument(..., help="Setting name, e.g. model, max_turns or prices.my-model.input."),
    as_json: bool = typer.Option(False, "--json", help='Print {"key", "value", "source"} as JSON.'),
) -> None:
    """Print the effective value of one setting.

    Example: 'agent config get model' prints claude-sonnet-4-6 unless a config file, ONCE_MODEL or a flag says otherwise. Add --json to also see where the value came from.
    """
    from once import config

    with reported():
        key = config.canonical_key(key)
        settings = config.load_settings(_repo_root())
        value = config.get_value(settings, key)
        source = config.source_of(settings, key)
    if as_json:
        _print_json({"key": key, "value": value, "source": source})
    elif value is None:
        typer.echo(f"{key} is not set", err=True)  # stdout stays empty for scripts
    else:
        typer.echo(_text(value))


@app.command("set")
def set_command(
    key: str = typer.Argument(..., help="Setting name, e.g. max_turns or prices.my-model.output."),
    value: str = typer.Argument(..., help="New value; 'none' unsets an optional setting such as max_cost."),
    project: bool = typer.Option(False, "--project/--user", help=_SCOPE_HELP),
) -> None:
    """Write a setting to the user config file (default) or the project one.

    The value is checked before anything is written, and the file is replaced atomically (comments in it are not kept). With --project the file is <repo>/.once/config.toml of the git repository around the current directory.

    Examples:

      agent config set max_turns 20

      agent config set dirty refuse --project

      agent config set prices.my-model.input 0.5

      agent config set max_cost none
    """
    from once import config

    scope = "project" if project else "user"
    with reported():
        key = config.canonical_key(key)
        config.check_scope(key, scope)
        root = _repo_root()
        path = config.config_path(scope, root)
        stored = config.set_value(path, key, value)
    if stored is None:
        typer.echo(f"unset {key} in {path} ({scope} config)")
    else:
        typer.echo(f"set {key} = {_text(stored)} in {path} ({scope} config)")
    _warn_if_shadowed(key, scope, root)


def _warn_if_shadowed(key: str, scope: str, root: Path | None) -> None:
    """Tell the user when a stronger layer (project file, env var) hides what was just written."""
    from once import config

    try:
        settings = config.load_settings(root)
        source = config.source_of(settings, key)
        value = config.get_value(settings, key)
    except OnceError as exc:
        typer.echo(f"warning: the settings do not load: {exc.message}", err=True)
        return
    strongest = max((_RANK.get(part, 0) for part in source.split(",")), default=0)
    if strongest > _RANK[scope]:
        typer.echo(f"note: the effective {key} is still {_text(value) or '(not set)'} (source: {source}), "
                   f"which overrides the {scope} config", err=True)
    if key.startswith("prices."):
        _note_incomplete_price(settings, key)


def _note_incomplete_price(settings: "config.Settings", key: str) -> None:
    """A price needs both input and output before runs can use it; say so right away."""
    from once import config

    model = next((m for m in settings.prices if key.startswith(f"prices.{m}.")), None)
    if model is None or config.configured_price(settings, model) is not None:
        return
    missing = [name for name in ("input", "output") if name not in settings.prices[model]]
    typer.echo(f"note: prices.{model} also needs {' and '.join(missing)} before runs can use it, "
               f"e.g. agent config set prices.{model}.{missing[0]} 1.0", err=True)


@app.command("unset")
def unset_command(
    key: str = typer.Argument(..., help="Setting to remove, e.g. max_cost, prices.my-model or prices."),
    project: bool = typer.Option(False, "--project/--user", help=_SCOPE_HELP),
) -> None:
    """Remove a setting from the user config file (default) or the project one.

    The setting then falls back to the next layer down, ending at its built-in default. Example: 'agent config unset model --project'.
    """
    from once import config

    scope = "project" if project else "user"
    with reported():
        key = config.canonical_key(key)
        path = config.config_path(scope, _repo_root())
        removed = config.unset_value(path, key)
    if removed:
        typer.echo(f"removed {key} from {path} ({scope} config)")
    else:
        typer.echo(f"{key} was not set in {path} ({scope} config)")


@app.command("list")
def list_command(
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list of {key, value, source, env, allowed, help}."),
) -> None:
    """Show every setting with its effective value, where it came from, and what it does.

    Source is one of default, user, project, env or flag. Example: 'ONCE_MAX_TURNS=5 agent config list' shows max_turns = 5 with source env.
    """
    from once import config

    with reported():
        rows = config.settings_rows(config.load_settings(_repo_root()))
    if as_json:
        _print_json(rows)
        return
    from rich.console import Console  # lazy: rich is slow to import
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, pad_edge=False)
    for column in ("key", "value", "source", "what it does"):
        table.add_column(column)
    for row in rows:
        shown = Text(_text(row["value"])) if row["value"] is not None else Text("(not set)", style="dim")
        env = f" Env: {row['env']}." if row["env"] else ""
        table.add_row(Text(row["key"]), shown, Text(row["source"]), Text(f"{row['help']}{env}"))
    Console().print(table)


@app.command("path")
def path_command(
    as_json: bool = typer.Option(False, "--json", help="Print {user: {path, exists}, project: {path, exists} or null}."),
) -> None:
    """Show where the user and project config files are, and whether they exist.

    The project file is only shown inside a git repository. Example: 'agent config path --json'.
    """
    from once import config

    root = _repo_root()
    with reported():
        user = config.config_path("user", root)
        project = config.config_path("project", root) if root is not None else None
    data = {
        "user": {"path": str(user), "exists": user.is_file()},
        "project": None if project is None else {"path": str(project), "exists": project.is_file()},
    }
    if as_json:
        _print_json(data)
        return
    for scope, entry in data.items():
        if entry is None:
            typer.echo(f"{scope}: (not inside a git repository)")
        else:
            state = "exists" if entry["exists"] else "not created yet"
            typer.echo(f"{scope}: {entry['path']} ({state})")
