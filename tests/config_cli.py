"""`agent config` mounted on a stand-in root app, and a config environment of the test's own."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from once import config
from once.cli import config_cmd

root = typer.Typer()


@root.callback()
def _root() -> None:
    """Stand-in for the main CLI."""


root.add_typer(config_cmd.app, name="config")


def clean_config_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No ONCE_* setting from the environment; XDG_CONFIG_HOME in tmp_path. Returns it."""
    for key in config.KEYS.values():
        if key.env:
            monkeypatch.delenv(key.env, raising=False)
    home = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    return home
