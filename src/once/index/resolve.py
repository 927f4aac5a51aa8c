"""Matching what a prompt names (paths, file names, dotted modules) to repository files (pure)."""

from __future__ import annotations

from collections import defaultdict

MAX_SAME_NAME = 3  # a file name shared by more files than this (`__init__.py`) says little


class PathResolver:
    def __init__(self, paths: list[str]) -> None:
        self.paths = set(paths)
        self.by_name: dict[str, list[str]] = defaultdict(list)
        self.modules: dict[str, list[str]] = defaultdict(list)
        for path in sorted(paths):
            self.by_name[_name(path)].append(path)
            if path.endswith((".py", ".pyi")):
                parts = path.rsplit(".", 1)[0].split("/")
                if parts[-1] == "__init__":
                    parts.pop()
                # Every dotted suffix of two parts or more: `src/pkg/mod.py` is `pkg.mod` too.
                for start in range(len(parts) - 1):
                    self.modules[".".join(parts[start:])].append(path)

    def resolve(self, written: str) -> str | None:
        """The repo file a trace path means: exact, else the longest matching path suffix."""
        clean = _clean(written)
        if clean in self.paths:
            return clean
        matches = [p for p in self.by_name.get(_name(clean), []) if ("/" + clean).endswith("/" + p)]
        if not matches and "/" in clean:
            matches = [p for p in self.by_name.get(_name(clean), []) if p.endswith("/" + clean)]
        if len(matches) == 1 or (matches and "/" in clean):
            return max(matches, key=len) if len(matches) > 1 else matches[0]
        return None

    def resolve_all(self, written: str) -> list[str]:
        """Files a name or partial path in prose may mean (none when too ambiguous)."""
        clean = _clean(written)
        if clean in self.paths:
            return [clean]
        same_name = self.by_name.get(_name(clean), [])
        if "/" in clean:
            longer = [p for p in same_name if p.endswith("/" + clean)]
            shorter = [p for p in same_name if ("/" + clean).endswith("/" + p)]
            same_name = longer or ([max(shorter, key=len)] if shorter else [])
        return same_name if len(same_name) <= MAX_SAME_NAME else []

    def resolve_module(self, dotted: str) -> str | None:
        """`pkg.mod.Class` -> `pkg/mod.py` (or `src/pkg/mod.py`, `pkg/mod/__init__.py`)."""
        parts = dotted.split(".")
        for end in range(len(parts), 1, -1):
            found = self.modules.get(".".join(parts[:end]))
            if found:
                return min(found, key=len) if len(found) <= MAX_SAME_NAME else None
        return None


def _name(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _clean(written: str) -> str:
    path = written.strip().replace("\\", "/").removeprefix("file://")
    while path.startswith("./"):
        path = path[2:]
    return path.lstrip("/")
