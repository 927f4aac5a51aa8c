"""The app's own options, read without the full parser (see launch.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

VALUE_OPTIONS = {
    "--permission-mode": "permission_mode", "--replay": "replay", "--model": "model", "-m": "model",
    "--provider": "provider", "--db": "db", "--repo": "repo", "-C": "repo",
}
"""The root options that take a value (as `agent --help` lists them), by the field they set."""
FLAG_OPTIONS = {"--continue": "continue_session", "-c": "continue_session"}
PATH_FIELDS = ("replay", "db", "repo")


@dataclass
class AppArgs:
    permission_mode: str | None = None
    replay: Path | None = None
    model: str | None = None
    provider: str | None = None
    db: Path | None = None
    repo: Path | None = None
    continue_session: bool = False


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
            value = Path(inline) if field in PATH_FIELDS else inline
        else:
            return None
        if field in values:
            return None  # given twice: leave the rules for that to the full parser
        values[field] = value
    return AppArgs(**values)  # type: ignore[arg-type]
