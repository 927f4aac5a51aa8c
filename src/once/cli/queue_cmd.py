"""`agent queue`: Queue prompts for the app or scripts; `agent queue run` drains it headlessly."""

from __future__ import annotations

import typer

app = typer.Typer(help="Queue prompts for the app or scripts; `agent queue run` drains it headlessly.", no_args_is_help=True, add_completion=False)
