"""`agent run`'s options read without the full parser (see launch.py), for the plain forms.

Importing typer and building the parser cost about as much as the rest of a replayed run's
start. The forms read here (see plain_args.py) convert as the full parser converts them, which
tests/test_cli_launch.py checks against it; for anything else the full parser decides.
"""

from __future__ import annotations

import os
from pathlib import Path

from once.cli.plain_args import scan
from once.cli.run_values import DirtyPolicy, Mode, OutputFormat, PermissionMode, RunOptions

VALUE_OPTIONS = {
    "--mode": "mode", "--plan": "plan", "--provider": "provider", "--model": "model", "-m": "model",
    "--small-model": "small_model", "--base-url": "base_url", "--replay": "replay", "--replay-small": "replay_small",
    "--record": "record", "--max-turns": "max_turns", "--max-cost": "max_cost", "--dirty": "dirty",
    "--permission-mode": "permission_mode", "--output-format": "output_format", "-o": "output_format",
    "--session": "session", "--db": "db", "--repo": "repo", "-C": "repo",
}
"""The options of `agent run` that take a value, by the parameter they set."""
FLAG_OPTIONS = {"--continue": "continue_", "-c": "continue_", "--init": "init"}
PATHS = ("plan", "replay", "replay_small", "record", "db", "repo")
CHOICES = {"mode": Mode, "dirty": DirtyPolicy, "permission_mode": PermissionMode, "output_format": OutputFormat}


class RunArgs:
    """A parsed `agent run`: what `once.cli.executor.run_task` takes."""

    def __init__(self, prompt: str | None, mode: Mode, plan: Path | None, options: RunOptions) -> None:
        self.prompt, self.mode, self.plan, self.options = prompt, mode, plan, options


def parse_run_args(args: list[str]) -> RunArgs | None:
    """The arguments after `run`, or None when the full parser should read them."""
    if "_AGENT_COMPLETE" in os.environ:  # shell completion is the full parser's
        return None
    scanned = scan(args, VALUE_OPTIONS, FLAG_OPTIONS, _value, positionals=1)
    if scanned is None:
        return None
    values, given = scanned
    mode = values.pop("mode", Mode.agent)
    plan = values.pop("plan", None)
    return RunArgs(given[0] if given else None, mode, plan, RunOptions(**values))  # type: ignore[arg-type]


def _value(field: str, text: str) -> object:
    """`text` as the full parser converts it for `field`; None when it would not convert."""
    if field in CHOICES:
        return next((choice for choice in CHOICES[field] if choice.value == text), None)
    if field in PATHS:
        # As typer checks a path option: one that exists must be readable.
        return None if os.path.exists(text) and not os.access(text, os.R_OK) else Path(text)
    if field == "max_turns":  # typer's own rules for a bounded number: plain digits only here
        return int(text) if text.isascii() and text.isdigit() and not text.startswith("0") else None
    if field == "max_cost":
        try:
            return float(text)
        except ValueError:
            return None
    return text
