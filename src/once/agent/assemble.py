"""What the model sees before the first call: always-on context, skills, selected files.

Everything loaded is recorded as an event, so `agent log` (and later the learning loop)
can tell what was in context.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from once.agent.context import ContextSource, context_events, load_base_context, render_context
from once.agent.nested import NestedContext
from once.agent.recorder import Recorder
from once.events import WarningEvent
from once.paths import config_dir


@dataclass
class Assembly:
    context_block: str = ""
    """Knowledge files and AGENTS.md, for the system prompt."""
    skills_block: str = ""
    """Skill names and descriptions, for the system prompt."""
    first_blocks: list[dict[str, Any]] = field(default_factory=list)
    """Content blocks placed before the user's first prompt (skill bodies, selected files)."""
    sources: list[ContextSource] = field(default_factory=list)
    nested: NestedContext | None = None


def warn(recorder: Recorder, warnings: list[str]) -> None:
    for message in warnings:
        recorder.emit(WarningEvent(run_id=recorder.run_id, message=message))


def load_context(repo_root: Path, recorder: Recorder) -> Assembly:
    sources, warnings = load_base_context(repo_root, config_dir())
    warn(recorder, warnings)
    for event in context_events(sources, recorder.run_id):
        recorder.emit(event)
    return Assembly(context_block=render_context(sources), sources=sources,
                    nested=NestedContext(repo_root, sources))
