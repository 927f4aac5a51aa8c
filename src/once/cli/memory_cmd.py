"""`agent memory`: The project memory (.once/memory.md): show, history, revert."""

from __future__ import annotations

import typer

app = typer.Typer(help="The project memory (.once/memory.md): show, history, revert.", no_args_is_help=True, add_completion=False)
