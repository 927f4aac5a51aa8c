"""The options `agent run`, `agent plan` and `agent approve` share, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from once.cli.run_values import DirtyPolicy, Mode, OutputFormat, PermissionMode, RunOptions

__all__ = ["DirtyPolicy", "Mode", "OutputFormat", "PermissionMode", "RunOptions"]


ProviderOpt = Annotated[Optional[str], typer.Option("--provider", help="anthropic (default), openai or replay.")]
ModelOpt = Annotated[Optional[str], typer.Option("--model", "-m", help="Model for generation.")]
SmallModelOpt = Annotated[Optional[str], typer.Option("--small-model", help="Model for routing and judging.")]
BaseUrlOpt = Annotated[Optional[str], typer.Option(
    "--base-url", help="Server for --provider openai, e.g. http://127.0.0.1:11434/v1.")]
ReplayOpt = Annotated[Optional[Path], typer.Option("--replay", help="Replay model responses from a cassette file.")]
ReplaySmallOpt = Annotated[Optional[Path], typer.Option(
    "--replay-small", help="A cassette for small-model calls; without it, replayed runs route offline.")]
RecordOpt = Annotated[Optional[Path], typer.Option("--record", help="Record the model's responses to a new cassette.")]
MaxTurnsOpt = Annotated[Optional[int], typer.Option("--max-turns", min=1, help="Stop after this many model calls [50].")]
MaxCostOpt = Annotated[Optional[float], typer.Option("--max-cost", help="Stop once the run costs this many USD.")]
DirtyOpt = Annotated[Optional[DirtyPolicy], typer.Option(
    "--dirty", help="Uncommitted changes in a file to edit: commit them first (default) or refuse.")]
OutputOpt = Annotated[OutputFormat, typer.Option(
    "--output-format", "-o",
    help="text: progress on stderr, answer on stdout; json: one object at the end; stream-json: one event per line.")]
ContinueOpt = Annotated[bool, typer.Option("--continue", "-c", help="Continue the latest session in this repo.")]
SessionOpt = Annotated[Optional[str], typer.Option("--session", help="Continue the session with this id.")]
InitOpt = Annotated[bool, typer.Option("--init", help="Create a git repository here if there is none.")]
DbOpt = Annotated[Optional[Path], typer.Option("--db", help="The SQLite file to log to [$ONCE_DB].")]
PermissionOpt = Annotated[Optional[PermissionMode], typer.Option(
    "--permission-mode",
    help="plan: read only; ask: every edit and command asks (refused headless); auto-edit (headless default): "
         "edits land, commands run in the sandbox (without one they need a policy allow rule); "
         "full-auto: nothing asks, built-in denials still hold.")]
RepoOpt = Annotated[Optional[Path], typer.Option("--repo", "-C", help="Run in this repository instead of the cwd.")]
