"""The entry point. `agent` alone (or with only the app's own options) opens the app straight away.

Building the full command-line parser costs more than a tenth of a second at start (every
subcommand module, and the parser's type coercion), which the app's first paint would wait for.
The app's options are few and plain, so they are read here; anything else — a subcommand,
--help, --version, a flag this reader does not know, no terminal — goes to the full parser,
which stays the one place that defines and documents the command line.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

VALUE_OPTIONS = {
    "--permission-mode": "permission_mode", "--replay": "replay", "--model": "model", "-m": "model",
    "--provider": "provider", "--db": "db", "--repo": "repo", "-C": "repo", "--small-model": "small_model",
    "--base-url": "base_url", "--replay-small": "replay_small", "--record": "record", "--max-turns": "max_turns",
    "--max-cost": "max_cost",
}
"""The root options that take a value (as `agent --help` lists them), by the field they set."""
FLAG_OPTIONS = {"--continue": "continue_session", "-c": "continue_session"}
PATH_FIELDS = ("replay", "db", "repo", "replay_small", "record")
NUMBER_FIELDS = {"max_turns": int, "max_cost": float}


@dataclass
class AppArgs:
    permission_mode: str | None = None
    replay: Path | None = None
    model: str | None = None
    provider: str | None = None
    db: Path | None = None
    repo: Path | None = None
    continue_session: bool = False
    small_model: str | None = None
    base_url: str | None = None
    replay_small: Path | None = None
    record: Path | None = None
    max_turns: int | None = None
    max_cost: float | None = None

    def flags(self) -> dict[str, object]:
        """The settings these options override (None: not given), as `agent run` passes them."""
        return {"provider": "replay" if self.replay is not None else self.provider, "model": self.model,
                "small_model": self.small_model, "base_url": self.base_url, "max_turns": self.max_turns,
                "max_cost": self.max_cost}


def parse_app_args(args: list[str]) -> AppArgs | None:
    """The app's options, or None when `args` are anything else (the full parser then decides)."""
    values: dict[str, object] = {}
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        name, eq, inline = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if name in FLAG_OPTIONS and not eq:
            field = FLAG_OPTIONS[name]
            value: object = True
        elif name in VALUE_OPTIONS:
            field = VALUE_OPTIONS[name]
            if not eq:
                if not rest or rest[0].startswith("-"):
                    return None  # a missing value: the full parser says what is wrong
                inline = rest.pop(0)
            if not inline:
                return None
            value = _value(field, inline)
            if value is None:
                return None  # not a number: the full parser says so
        else:
            return None
        if field in values:
            return None  # given twice: leave the rules for that to the full parser
        values[field] = value
    return AppArgs(**values)  # type: ignore[arg-type]


def _value(field: str, text: str) -> object:
    if field in PATH_FIELDS:
        return Path(text)
    if field in NUMBER_FIELDS:
        try:
            number = NUMBER_FIELDS[field](text)
        except ValueError:
            return None
        return None if field == "max_turns" and number < 1 else number
    return text


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    app_args = parse_app_args(args)
    if app_args is not None:
        from once.cli.tui_cmd import has_terminal

        if has_terminal():
            _open_app(app_args)
            return
    from once.cli.main import main as full_main

    full_main(args)


def _open_app(app_args: AppArgs) -> None:
    """What `agent` does in a terminal, with the same error reporting as every command."""
    from once.cli.common import exit_on_error
    from once.cli.tui_cmd import open_tui

    exit_on_error(lambda: open_tui(app_args))
