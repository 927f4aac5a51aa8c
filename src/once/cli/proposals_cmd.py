"""`agent proposals`: Change proposals from your corrections, to memory, skills and knowledge."""

from __future__ import annotations

import typer

app = typer.Typer(help="Change proposals from your corrections, to memory, skills and knowledge.", no_args_is_help=True, add_completion=False)
