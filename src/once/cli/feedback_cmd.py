"""`agent feedback`: Rate responses and export rated runs as training data."""

from __future__ import annotations

import typer

app = typer.Typer(help="Rate responses and export rated runs as training data.", no_args_is_help=True, add_completion=False)
