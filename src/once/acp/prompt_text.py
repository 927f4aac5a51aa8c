"""A `session/prompt`'s content blocks as the one prompt text a run takes. Pure."""

from __future__ import annotations

from typing import Any


def prompt_text(blocks: list[Any]) -> str:
    """Text as typed; a mentioned file as its URI; an embedded file with its text, fenced."""
    parts: list[str] = []
    for block in blocks:
        kind = getattr(block, "type", None)
        if kind == "text":
            parts.append(block.text)
        elif kind == "resource_link":
            parts.append(block.uri)
        elif kind == "resource":
            resource = block.resource
            text = getattr(resource, "text", None)
            parts.append(f"{resource.uri}\n```\n{text}\n```" if isinstance(text, str) else resource.uri)
    return "\n".join(part for part in parts if part)
