"""`agent vent`: Reports the agent filed about tools, docs or the environment in its way."""

from __future__ import annotations

import typer

app = typer.Typer(help="Reports the agent filed about tools, docs or the environment in its way.", no_args_is_help=True, add_completion=False)
