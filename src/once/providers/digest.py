"""What a request asked, in a form a cassette can keep and a back-test can compare.

A cassette's optional `"requests"` list runs beside its `"responses"`: for each model call
the system prompt's hash (its text kept once under `"systems"`), the tools offered, how many
messages the conversation had, and the content that was new since the previous call (the
prompt and attached files at first, tool results after), redacted and capped.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from once.providers.base import ModelRequest
from once.safety.redact import redact_obj

BLOCK_CHARS = 4000
"""Each recorded block keeps this many characters (head and tail)."""


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _cap(text: str) -> str:
    if len(text) <= BLOCK_CHARS:
        return text
    half = BLOCK_CHARS // 2
    return f"{text[:half]}\n[... {len(text) - BLOCK_CHARS} characters ...]\n{text[-half:]}"


def block_text(block: dict[str, Any]) -> str:
    """One content block as a line of text (tool results with their error flag)."""
    kind = block.get("type")
    if kind == "text":
        return f"text: {block.get('text', '')}"
    if kind == "tool_result":
        content = block.get("content")
        if isinstance(content, list):
            content = "\n".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
        flag = " (error)" if block.get("is_error") else ""
        return f"tool_result{flag}: {content}"
    if kind == "tool_use":
        return f"tool_use {block.get('name')}: {json.dumps(block.get('input'), sort_keys=True)}"
    return f"{kind}: {json.dumps(block, sort_keys=True, default=str)}"


def digest(request: ModelRequest) -> tuple[dict[str, Any], str]:
    """The request's record, and its system prompt (kept once per cassette under its hash)."""
    last = request.messages[-1] if request.messages else {}
    content = last.get("content", []) if last.get("role") == "user" else []
    if isinstance(content, str):
        content = [{"type": "text", "text": content}]
    tools = [tool.get("name", "") for tool in request.tools]
    record = {
        "system": sha(request.system),
        "tools": tools,
        "tools_sha": sha(json.dumps(request.tools, sort_keys=True, default=str)),
        "messages": len(request.messages),
        "new": [_cap(block_text(block)) for block in content if isinstance(block, dict)],
    }
    return redact_obj(record), request.system
