"""What a tool call's result becomes for the model: text, cut to size, credentials redacted. Pure.

The result arrives as the protocol's JSON (`content` blocks, maybe `structuredContent`,
`isError`). Text blocks are kept; images, audio and binary resources are named, not inlined.
"""

from __future__ import annotations

import json
from typing import Any

from once.safety.redact import redact

SHOWN_BYTES = 100_000


def render(result: dict[str, Any]) -> tuple[str, bool]:
    """(text, is_error) of a `CallToolResult` as JSON."""
    parts = [_block_text(block) for block in result.get("content") or [] if isinstance(block, dict)]
    text = "\n".join(part for part in parts if part)
    structured = result.get("structuredContent")
    if not text and structured is not None:
        text = json.dumps(structured, ensure_ascii=False, indent=1)
    return text or "(the tool returned nothing)", bool(result.get("isError"))


def _block_text(block: dict[str, Any]) -> str:
    kind = block.get("type")
    if kind == "text":
        return str(block.get("text", ""))
    if kind in ("image", "audio"):
        size = len(str(block.get("data", ""))) * 3 // 4
        return f"[{kind} {block.get('mimeType', '')}, {size} bytes, not shown]"
    if kind == "resource_link":
        return f"[resource {block.get('uri', '')} {block.get('name', '')}]".strip()
    if kind == "resource":
        resource = block.get("resource") or {}
        if "text" in resource:
            return f"[resource {resource.get('uri', '')}]\n{resource['text']}"
        return f"[resource {resource.get('uri', '')}, binary {resource.get('mimeType', '')}, not shown]"
    return f"[{kind} content, not shown]"


def cut(text: str, limit: int = SHOWN_BYTES) -> str:
    """At most `limit` bytes of UTF-8, with a line that says how much was left out."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    kept = data[:limit].decode("utf-8", "ignore")
    newline = kept.rfind("\n")
    if newline > len(kept) // 2:  # end on a whole line when that keeps most of it
        kept = kept[:newline + 1]
    left = len(data) - len(kept.encode("utf-8"))
    return (f"{kept}\n[... cut: the tool returned {len(data):,} bytes; the first {len(data) - left:,} are shown, "
            f"{left:,} left out. Ask the tool for less (a narrower query, a page, a limit) if you need the rest.]")


def for_model(result: dict[str, Any], limit: int = SHOWN_BYTES) -> tuple[str, bool]:
    """Rendered, cut, then redacted (cut first: a 5 MB answer is never scanned whole)."""
    text, is_error = render(result)
    return redact(cut(text, limit)), is_error
