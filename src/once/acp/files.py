"""Files through the client: reads with `fs/read_text_file`, so the agent sees unsaved buffers,
and edits with `fs/write_text_file`, so the editor's buffers follow them.

A binary file, or one the client cannot read, is read from the disk as before. Edits land
through the workspace either way (all of a turn's files or none, see write_through) and are
committed from the disk, where the client saves what it is given.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from once.acp.bridge import ClientCallFailed, LoopBridge
from once.atomic import atomic_write_bytes
from once.tools.read import BINARY_SNIFF_BYTES, decode_text

ReadText = Callable[[str], Coroutine[Any, Any, Any]]
"""Asks the client for a file's text by absolute path; its answer has `.content`."""
WriteText = Callable[[str, str], Coroutine[Any, Any, Any]]
"""Asks the client to write a file's text, by absolute path."""


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


class ClientWrites:
    """A workspace writer (see `Workspace.writer`): the client writes the file and saves it."""

    def __init__(self, bridge: LoopBridge, write_text: WriteText) -> None:
        self.bridge = bridge
        self.write_text = write_text

    def __call__(self, path: Path, data: bytes) -> None:
        text = decode_text(data)
        if text is None:  # the method carries text only; the editor sees the file change on disk
            atomic_write_bytes(path, data)
            return
        try:
            self.bridge.call(self.write_text(str(path), text))
        except ClientCallFailed as exc:
            raise OSError(f"the editor did not write it ({exc})") from None

