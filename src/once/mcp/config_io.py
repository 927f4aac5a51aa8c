"""Writing the `[mcp]` table of a config file: add and remove servers, trust a project's server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from once.atomic import atomic_write_text
from once.config import read_toml
from once.errors import ConfigError
from once.mcp.config import ServerSpec


def _write(path: Path, data: dict[str, Any]) -> None:
    import tomli_w  # only needed when writing

    atomic_write_text(path, tomli_w.dumps(data))


def _mcp(data: dict[str, Any], path: Path) -> dict[str, Any]:
    table = data.setdefault("mcp", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: mcp must be a table", hint="fix the file by hand")
    return table


def add_server(path: Path, spec: ServerSpec) -> None:
    data = read_toml(path)
    servers = _mcp(data, path).setdefault("servers", {})
    servers[spec.name] = spec.to_toml()
    _write(path, data)


def remove_server(path: Path, name: str) -> bool:
    """True when the file had the server."""
    if not path.exists():
        return False
    data = read_toml(path)
    table = _mcp(data, path)
    servers = table.get("servers")
    if not isinstance(servers, dict) or servers.pop(name, None) is None:
        return False
    if not servers:
        del table["servers"]
    if not table:
        del data["mcp"]
    _write(path, data)
    return True


def add_trusted(path: Path, entry: str) -> bool:
    """Add `NAME:<fingerprint>` to `mcp.trusted` in the user's file; False when it was there."""
    data = read_toml(path)
    trusted = _mcp(data, path).setdefault("trusted", [])
    if entry in trusted:
        return False
    trusted.append(entry)
    _write(path, data)
    return True
