"""What a server's tool is called for the model: `mcp__SERVER__TOOL`. Pure.

Model APIs accept tool names of letters, digits, `_` and `-`, at most 64 characters; a
tool name outside that is spelled with `_` and, when too long or taken, a short digest.
"""

from __future__ import annotations

import hashlib
import re

PREFIX = "mcp__"
MAX_LENGTH = 64
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def tool_name(server: str, tool: str, taken: set[str] | frozenset[str] = frozenset()) -> str:
    """The model-facing name of `tool` on `server` (server names are already safe)."""
    name = f"{PREFIX}{server}__{_UNSAFE.sub('_', tool)}"
    if len(name) <= MAX_LENGTH and name not in taken:
        return name
    digest = hashlib.sha256(f"{server}\0{tool}".encode()).hexdigest()[:8]
    return f"{name[:MAX_LENGTH - 9]}_{digest}"


def is_mcp_name(name: str) -> bool:
    return name.startswith(PREFIX)
