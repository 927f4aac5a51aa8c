"""What the options of `agent run`, `agent plan` and `agent approve` hold, without the parser
that reads them (run_options.py declares them for typer; run_args.py reads the common forms)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Optional

from once.errors import UsageError


class OutputFormat(str, Enum):
    text = "text"
    json = "json"
    stream_json = "stream-json"


class DirtyPolicy(str, Enum):
    commit = "commit"
    refuse = "refuse"


class PermissionMode(str, Enum):
    plan = "plan"
    ask = "ask"
    auto_edit = "auto-edit"
    full_auto = "full-auto"


class Mode(str, Enum):
    agent = "agent"
    plan = "plan"


@dataclass
class RunOptions:
    """Everything the shared options say, gathered for `execute`."""

    provider: Optional[str] = None
    model: Optional[str] = None
    small_model: Optional[str] = None
    base_url: Optional[str] = None
    replay: Optional[Path] = None
    replay_small: Optional[Path] = None
    record: Optional[Path] = None
    max_turns: Optional[int] = None
    max_cost: Optional[float] = None
    dirty: Optional[DirtyPolicy] = None
    permission_mode: Optional[PermissionMode] = None
    output_format: OutputFormat = OutputFormat.text
    continue_: bool = False
    session: Optional[str] = None
    init: bool = False
    db: Optional[Path] = None
    repo: Optional[Path] = None

    def flags(self) -> dict[str, object]:
        """The settings these options override (None: not given)."""
        return {"provider": "replay" if self.replay is not None else self.provider, "model": self.model,
                "small_model": self.small_model, "base_url": self.base_url, "max_turns": self.max_turns,
                "max_cost": self.max_cost, "dirty": self.dirty.value if self.dirty else None,
                "permission_mode": self.permission_mode.value if self.permission_mode else None}


def check_flags(options: RunOptions) -> None:
    """Refuse combinations that cannot mean what the user wants, before anything runs."""
    if options.continue_ and options.session:
        raise UsageError("--continue and --session both choose a session", hint="Give one of them.")
    if options.replay is not None and options.provider not in (None, "replay"):
        raise UsageError(f"--replay plays a cassette, so --provider {options.provider} would not be used",
                         hint="Drop one of them.")
    if options.replay_small is not None and options.replay is None:
        raise UsageError("--replay-small goes with --replay", hint="Give the main cassette with --replay.")
    if options.record is not None:
        record = options.record.expanduser()
        if record.exists():
            raise UsageError(f"--record would overwrite {record}", hint="Remove it first, or record to a new file.")
        if not record.parent.is_dir():
            raise UsageError(f"--record: no such directory {record.parent}")
