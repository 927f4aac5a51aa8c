"""One place that knows where once keeps its files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping


def _xdg(env: Mapping[str, str], name: str, fallback: str) -> Path:
    value = env.get(name)
    return Path(value) if value else Path.home() / fallback


def data_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    return _xdg(env, "XDG_DATA_HOME", ".local/share") / "once"


def config_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    return _xdg(env, "XDG_CONFIG_HOME", ".config") / "once"


def db_path(override: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None) -> Path:
    """`--db` beats `$ONCE_DB` beats `$XDG_DATA_HOME/once/once.db`."""
    env = os.environ if env is None else env
    if override:
        return Path(override).expanduser()
    if env.get("ONCE_DB"):
        return Path(env["ONCE_DB"]).expanduser()
    return data_dir(env) / "once.db"


def user_config_path(env: Mapping[str, str] | None = None) -> Path:
    return config_dir(env) / "config.toml"


def project_dir(repo_root: Path) -> Path:
    return repo_root / ".once"


def project_config_path(repo_root: Path) -> Path:
    return project_dir(repo_root) / "config.toml"


EVAL_DATA_ENV = "ONCE_EVAL_DATA"


def eval_data_dir(env: Mapping[str, str] | None = None, start: Path | None = None) -> Path | None:
    """The public evaluation data (`shared/eval/`, beside a checkout of once): `$ONCE_EVAL_DATA`,
    else the first `shared/eval` found going up from the working directory. The checkout, not
    the installed package, is where it lies beside (a regular install lives in site-packages)."""
    env = os.environ if env is None else env
    if env.get(EVAL_DATA_ENV):
        return Path(env[EVAL_DATA_ENV]).expanduser()
    here = (start or Path.cwd()).resolve()
    for base in (here, *here.parents):
        candidate = base / "shared" / "eval"
        if candidate.is_dir():
            return candidate
    return None
