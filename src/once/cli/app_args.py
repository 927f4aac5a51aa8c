"""The app's own options, read without the full parser (see launch.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from once.cli.plain_args import scan

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
    scanned = scan(args, VALUE_OPTIONS, FLAG_OPTIONS, _value)
    return None if scanned is None else AppArgs(**scanned[0])  # type: ignore[arg-type]


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
