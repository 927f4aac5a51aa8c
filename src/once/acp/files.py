"""Reading files through the client (`fs/read_text_file`), so the agent sees unsaved buffers.

Edits still land through the workspace, all of a turn's files at once, and are committed;
the editor then sees them on disk. A binary file, or one the client cannot read, is read
from the disk as before.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from once.acp.bridge import ClientCallFailed, LoopBridge
from once.tools.read import BINARY_SNIFF_BYTES

ReadText = Callable[[str], Coroutine[Any, Any, Any]]
"""Asks the client for a file's text by absolute path; its answer has `.content`."""


def as_on_disk(text: str, disk: bytes) -> bytes:
    """The client's text encoded like the file on disk: editors hand out LF-only text, so a
    CRLF file would otherwise be rewritten whole by the agent's first edit."""
    if b"\r\n" in disk and "\r\n" not in text:
        text = text.replace("\n", "\r\n")
    return text.encode("utf-8")


class ClientFiles:
    """A workspace reader (see `Workspace.reader`) backed by the client's buffers."""

    def __init__(self, bridge: LoopBridge, read_text: ReadText) -> None:
        self.bridge = bridge
        self.read_text = read_text

    def __call__(self, path: Path) -> bytes | None:
        disk = path.read_bytes()
        if b"\0" in disk[:BINARY_SNIFF_BYTES]:
            return None
        try:
            response = self.bridge.call(self.read_text(str(path)))
        except ClientCallFailed:
            return None
        content = getattr(response, "content", None)
        return as_on_disk(content, disk) if isinstance(content, str) else None
