"""`agent knowledge`: The knowledge bank: entries learned from earlier sessions."""

from __future__ import annotations

import typer

app = typer.Typer(help="The knowledge bank: entries learned from earlier sessions.", no_args_is_help=True, add_completion=False)
