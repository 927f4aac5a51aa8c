"""Earlier prompts per repository, kept across restarts: a JSON-lines file under the data dir.

Pure but for `load` and `save`; no Textual. A cursor walks the prompts like a shell's history,
and `search` finds earlier prompts containing some text (ctrl+r).
"""

from __future__ import annotations

from pathlib import Path

from once.atomic import atomic_write_text
from once.paths import data_dir

KEEP = 500
"""Prompts kept per repository (the oldest go first)."""


def history_path(repo_root: str) -> Path:
    """One file per repository, named by a digest of its root (paths can hold any character)."""
    import hashlib  # the app asks after its first paint: hashlib (OpenSSL) is not loaded before

    digest = hashlib.sha256(repo_root.encode("utf-8", "surrogateescape")).hexdigest()[:20]
    return data_dir() / "prompt-history" / f"{digest}.jsonl"


class PromptHistory:
    """Earlier prompts, newest last; `path`, when given, is where they are kept."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.items: list[str] = []
        self.cursor = 0

    def load(self) -> None:
        """Read the kept prompts; an unreadable file or line is skipped (history is a convenience)."""
        import json  # loaded after the app's first paint, as hashlib is (history_path)

        if self.path is None:
            return
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except OSError:
            return
        loaded: list[str] = []
        for line in lines[-KEEP:]:
            try:
                text = json.loads(line)
            except ValueError:
                continue
            if isinstance(text, str) and text and (not loaded or loaded[-1] != text):
                loaded.append(text)
        self.items = loaded
        self.cursor = len(self.items)

    def save(self) -> None:
        import json

        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = "".join(json.dumps(text, ensure_ascii=False) + "\n" for text in self.items[-KEEP:])
        try:
            atomic_write_text(self.path, body)
        except OSError:
            pass  # a read-only data dir costs the history, not the prompt

    def add(self, text: str) -> None:
        if text and (not self.items or self.items[-1] != text):
            self.items.append(text)
            self.save()
        self.cursor = len(self.items)

    def back(self) -> str | None:
        if not self.items:
            return None
        self.cursor = max(0, self.cursor - 1)
        return self.items[self.cursor]

    def forward(self) -> str:
        self.cursor = min(len(self.items), self.cursor + 1)
        return self.items[self.cursor] if self.cursor < len(self.items) else ""

    def search(self, text: str) -> list[str]:
        """Earlier prompts containing `text` (any case), newest first, each once."""
        needle = text.casefold()
        found: list[str] = []
        for item in reversed(self.items):
            if needle in item.casefold() and item not in found:
                found.append(item)
        return found
