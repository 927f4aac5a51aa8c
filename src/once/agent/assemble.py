"""What the model sees before the first call: always-on context, skills, selected files.

Everything loaded is recorded as an event, so `agent log` (and later the learning loop)
can tell what was in context.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from once.agent.context import ContextSource, context_events, load_base_context, render_context
from once.agent.nested import NestedContext
from once.agent.recorder import Recorder
from once.agent.small import SmallAsk
from once.events import ContextLoaded, FilesSelected, WarningEvent
from once.index.index import refresh_index
from once.index.rank import rank_files
from once.paths import config_dir
from once.skills.discovery import discover_skills
from once.skills.routing import render_skill_bodies, route, skills_prompt

SELECTED_FILES_CHARS = 40_000
"""Budget for the picked files in the first model call (about 10k tokens)."""
LEAN_FILES_CHARS = 16_000
"""The lean prompt's budget: small local models often run with 8-16k tokens of context."""

SKILLS_LOAD_LINE = ("A skill's full instructions are added to the conversation when the user writes /name "
                    "or when it applies to the task.")


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


def load_skills(repo_root: Path, prompt: str, small: SmallAsk | None, recorder: Recorder,
                assembly: Assembly, lean: bool = False) -> None:
    """Skill names for the system prompt; the bodies of the skills this prompt calls for.

    Lean: no list in the prompt and no routing, only the skills the user names with /name
    (a small model takes a loaded playbook for its answer and echoes it back)."""
    skills, warnings = discover_skills(repo_root, config_dir())
    warn(recorder, warnings)
    if not lean:
        assembly.skills_block = skills_prompt(skills, how_to_load=SKILLS_LOAD_LINE)
    warn(recorder, _unknown_skill_warnings(prompt, [skill.name for skill in skills]))
    chosen = route(prompt, skills, small, limit=0 if lean else 2).skills
    for skill in chosen:
        body = skill.body()
        recorder.emit(ContextLoaded(run_id=recorder.run_id, kind="skill", path=str(skill.path), chars=len(body)))
    if chosen:
        assembly.first_blocks.append({"type": "text", "text": render_skill_bodies(chosen)})


def select_context_files(conn: sqlite3.Connection, repo_root: Path, prompt: str, small: SmallAsk | None,
                         max_files: int, recorder: Recorder, assembly: Assembly, lean: bool = False) -> None:
    """Two-stage file selection: rank the repo index (refreshed), let the small model pick."""
    refresh_index(conn, repo_root)
    candidates = rank_files(conn, repo_root, prompt)
    if not candidates:
        return
    from once.index.render import render_plain, render_selected
    from once.index.select import select_files

    selection = select_files(prompt, candidates, small, max_files=max_files)
    recorder.emit(FilesSelected(run_id=recorder.run_id, files=selection.files, candidates=len(candidates),
                                method=selection.method))
    if lean:
        shown, left_out = render_plain(repo_root, selection.files, LEAN_FILES_CHARS)
        more = f"\n\nAlso relevant, not shown (read_file shows them): {', '.join(left_out)}" if left_out else ""
        if shown:
            assembly.first_blocks.append({"type": "text", "text": "The files for this task:\n\n" + shown + more})
        return
    rendered = render_selected(repo_root, selection.files, SELECTED_FILES_CHARS, prompt=prompt)
    if rendered:
        intro = ("Files that look relevant to the task, picked from the repository's index "
                 "(read others as needed):\n\n")
        assembly.first_blocks.append({"type": "text", "text": intro + rendered})


_SLASH_NAME = re.compile(r"(?<![\w/.])/([a-z0-9][a-z0-9-]{1,63})(?![\w/.-])")


def _unknown_skill_warnings(prompt: str, names: list[str]) -> list[str]:
    """`/pyhton-tests` is a typo worth saying; `/usr` is a path and is left alone."""
    warnings = []
    for word in _SLASH_NAME.findall(prompt):
        if word in names:
            continue
        import difflib  # a prompt naming no unknown /skill never needs it

        close = difflib.get_close_matches(word, names, n=1, cutoff=0.75)
        if close:
            warnings.append(f"no skill named '{word}'; did you mean /{close[0]}? (agent skills list shows them)")
    return warnings


def load_learned(conn: sqlite3.Connection, repo_root: Path, prompt: str, recorder: Recorder,
                 assembly: Assembly, arm: str = "draw") -> None:
    """Knowledge learned from earlier sessions: each retrieved entry is injected or held out,
    and both arms are logged (an empty bank costs one indexed query, no embedding)."""
    from once.events import KnowledgeExposure
    from once.learn.inject import learned_for_turn

    try:
        injection = learned_for_turn(conn, repo=str(repo_root), session_id=recorder.session_id,
                                     run_id=recorder.run_id, prompt=prompt, force_arm=None if arm == "draw" else arm)
    except Exception as exc:  # learning must never stop a run: say so and go on without it
        warn(recorder, [f"learned knowledge was skipped: {type(exc).__name__}: {exc}"])
        return
    for exposure in injection.exposures:
        recorder.emit(KnowledgeExposure(run_id=recorder.run_id, entry_id=exposure.entry_id, title=exposure.title,
                                        arm=exposure.arm, score=exposure.score, status=exposure.status))
    if injection.block:
        assembly.first_blocks.append({"type": "text", "text": injection.block})
