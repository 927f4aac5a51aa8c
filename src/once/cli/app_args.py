"""The app's own options, read without the full parser (see launch.py)."""

from __future__ import annotations

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
