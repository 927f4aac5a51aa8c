"""Nested AGENTS.md files join the conversation when the files they govern do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from once.agent.context import ContextSource, context_events, find_nested_context, render_nested
from once.agent.recorder import Recorder
from once.events import WarningEvent

# Tools whose `path` input brings a file (or directory) into context.
_PATH_TOOLS = frozenset({"read_file", "edit_file", "write_file", "list_files", "search"})


class NestedContext:
    """Remembers which instruction files the model has seen; says which ones a tool call adds."""

    def __init__(self, repo_root: Path, loaded: list[ContextSource]) -> None:
        self.repo_root = repo_root
        self.loaded = {source.path for source in loaded if source.kind == "agents_md"}
        self._warned: set[str] = set()

    def note_for(self, tool: str, tool_input: Any, recorder: Recorder) -> str:
        """The text to append to this tool's result ("" when nothing new applies)."""
        path = tool_input.get("path") if tool in _PATH_TOOLS and isinstance(tool_input, dict) else None
        if not isinstance(path, str) or not path.strip():
            return ""
        sources, warnings = find_nested_context(self.repo_root, [path], self.loaded)
        for warning in warnings:
            if warning not in self._warned:
                self._warned.add(warning)
                recorder.emit(WarningEvent(run_id=recorder.run_id, message=warning))
        for event in context_events(sources, recorder.run_id):
            recorder.emit(event)
        self.loaded.update(source.path for source in sources)
        return render_nested(sources)
