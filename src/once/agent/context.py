"""Context assembly: knowledge files and AGENTS.md, in order of increasing specificity.

The always-on block (workspace knowledge, project knowledge, the root AGENTS.md) goes into
the system prompt; nested AGENTS.md files are appended to tool results as the files they
govern come into context. Reading is delegated to `once.agent.context_files`; the rest is
pure so that ordering, truncation and wording are easy to test.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterable

from once.agent.context_files import ContextFileError, FileText, confine_quietly, find_instruction_file, read_prefix
from once.events import ContextLoaded
from once.paths import project_dir

WORKSPACE_KNOWLEDGE_LIMIT = 10_000
"""Characters of workspace knowledge that reach the prompt (the issue's hard limit)."""
REPO_FILE_LIMIT = 20_000
"""Characters per repository file (project knowledge, each AGENTS.md)."""

PRECEDENCE = (
    "When these instructions conflict, the more specific one wins: a directory's AGENTS.md over its "
    "parents', the project's over the workspace's, and the user's words in this conversation over all of them."
)

KINDS: tuple[str, ...] = ("workspace_knowledge", "project_knowledge", "agents_md", "memory")
_LABELS = {
    "workspace_knowledge": "Workspace knowledge",
    "project_knowledge": "Project knowledge",
    "agents_md": "Instructions file",
    "memory": "Project memory: the user's standing corrections",
}


@dataclass(frozen=True)
class ContextSource:
    kind: str
    """workspace_knowledge, project_knowledge, agents_md or memory."""
    path: str
    """Repo-relative (resolved) for repository files, absolute for the user's knowledge file."""
    directory: str
    """Repo-relative directory the file governs; "" for the whole repo and for knowledge."""
    text: str
    truncated: bool


# ---------------------------------------------------------------- pure logic


def truncate_text(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, at a line boundary unless that loses too much."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    newline = cut.rfind("\n")
    # A line boundary is worth losing at most half the budget; past that, cut mid-line.
    if newline >= limit // 2:
        return cut[: newline + 1]
    return cut


def _describe_size(read: FileText) -> str:
    if read.complete:
        return f"{len(read.text):,} characters"
    return f"{read.size_bytes:,} bytes"


def make_source(
    kind: str, path: str, directory: str, read: FileText, limit: int
) -> tuple[ContextSource | None, list[str]]:
    """A source from file text, applying the size limit; None for a blank file."""
    warnings: list[str] = []
    truncated = not read.complete or len(read.text) > limit
    text = truncate_text(read.text, limit) if truncated else read.text
    if truncated:
        warnings.append(
            f"{_LABELS[kind]} {path} is {_describe_size(read)} long, over the limit of {limit:,} characters; "
            f"only the first {len(text):,} characters are used. Shorten it to keep all of it."
        )
    if not text.strip():
        return None, warnings  # nothing to say; an empty heading would only cost tokens
    return ContextSource(kind=kind, path=path, directory=directory, text=text, truncated=truncated), warnings


def _specificity(source: ContextSource) -> tuple[int, int]:
    rank = KINDS.index(source.kind) if source.kind in KINDS else len(KINDS)
    depth = len(PurePosixPath(source.directory).parts) if source.directory else 0
    return rank, depth


def order_sources(sources: Iterable[ContextSource]) -> list[ContextSource]:
    """Least to most specific; ties keep their given order (sort is stable)."""
    return sorted(sources, key=_specificity)


def _scope(directory: str) -> str:
    return f"{directory.rstrip('/')}/" if directory else "the whole repository"


def _heading(source: ContextSource) -> str:
    if source.kind == "agents_md":
        title = f"Instructions for {_scope(source.directory)} (from {source.path})"
    else:
        title = f"{_LABELS.get(source.kind, source.kind)} (from {source.path})"
    if source.truncated:
        title += " [truncated to fit the limit]"
    return f"## {title}"


def render_context(sources: list[ContextSource]) -> str:
    """The always-on block for the system prompt; "" when there is nothing to add."""
    if not sources:
        return ""
    parts = [
        "# Instructions and knowledge",
        PRECEDENCE + " Subdirectories may have their own AGENTS.md; it is shown to you when you "
        "work on files there.",
    ]
    for source in order_sources(sources):
        parts.append(f"{_heading(source)}\n\n{source.text.strip()}")
    return "\n\n".join(parts) + "\n"


def render_nested(sources: list[ContextSource]) -> str:
    """The note appended to a tool result when nested instruction files come into scope."""
    blocks: list[str] = []
    for source in order_sources(sources):
        note = " (truncated to fit the limit)" if source.truncated else ""
        blocks.append(
            f"Instructions for {_scope(source.directory)} (from {source.path}){note} now apply; they take "
            f"precedence over the repository's AGENTS.md and those of parent directories for files there:\n"
            f"{source.text.strip()}"
        )
    return "\n\n".join(blocks)


def context_events(sources: Iterable[ContextSource], run_id: str) -> list[ContextLoaded]:
    """One `context_loaded` event per source, for the run's record."""
    return [ContextLoaded(run_id=run_id, kind=source.kind, path=source.path, chars=len(source.text),
                          truncated=source.truncated) for source in sources]


def candidate_directories(relative_paths: Iterable[str], directories: set[str]) -> list[str]:
    """Every non-root ancestor directory of the given resolved repo-relative paths, outer first.

    `directories` holds those paths that are directories themselves: their own AGENTS.md
    applies too. Sorted by depth, then name, so outer instructions always come first.
    """
    found: set[str] = set()
    for rel in relative_paths:
        parts = PurePosixPath(rel).parts
        stop = len(parts) if rel in directories else len(parts) - 1
        for end in range(1, stop + 1):
            found.add(PurePosixPath(*parts[:end]).as_posix())
    return sorted(found, key=lambda d: (len(PurePosixPath(d).parts), d))


# ---------------------------------------------------------------- edge


def _load_file(
    kind: str, shown: str, absolute: Path, directory: str, limit: int
) -> tuple[ContextSource | None, list[str]]:
    try:
        read = read_prefix(absolute, limit)
    except ContextFileError as exc:
        return None, [f"{_LABELS[kind]} {shown} {exc}, so it was skipped."]
    return make_source(kind, shown, directory, read, limit)


def _find_instructions(repo_root: Path, directory: str) -> tuple[str | None, list[str]]:
    """The repo-relative path of one directory's instruction file, or a warning."""
    try:
        return find_instruction_file(repo_root, directory), []
    except ContextFileError as exc:
        shown = f"{directory}/AGENTS.md or CLAUDE.md" if directory else "AGENTS.md or CLAUDE.md"
        return None, [f"{_LABELS['agents_md']} {shown} {exc}, so it was skipped."]


def _load_instructions(repo_root: Path, rel: str, directory: str) -> tuple[ContextSource | None, list[str]]:
    return _load_file("agents_md", rel, repo_root / rel, directory, REPO_FILE_LIMIT)


def load_base_context(repo_root: Path, config_dir: Path) -> tuple[list[ContextSource], list[str]]:
    """Workspace knowledge, project knowledge and the root AGENTS.md (or CLAUDE.md), with warnings.

    Missing files are simply absent; unusable ones become warnings, never exceptions.
    """
    sources: list[ContextSource] = []
    warnings: list[str] = []

    def add(result: tuple[ContextSource | None, list[str]]) -> None:
        if result[0] is not None:
            sources.append(result[0])
        warnings.extend(result[1])

    workspace = config_dir / "knowledge.md"
    if os.path.lexists(workspace):
        add(_load_file("workspace_knowledge", str(workspace), workspace, "", WORKSPACE_KNOWLEDGE_LIMIT))

    project_rel = (project_dir(Path(".")) / "knowledge.md").as_posix()
    if os.path.lexists(repo_root / project_rel):
        confined = confine_quietly(repo_root, project_rel)
        if confined is None:
            warnings.append(f"Project knowledge {project_rel} points outside the repository, so it was skipped.")
        else:
            add(_load_file("project_knowledge", project_rel, confined[0], "", REPO_FILE_LIMIT))

    rel, more = _find_instructions(repo_root, "")
    warnings.extend(more)
    if rel is not None:
        add(_load_instructions(repo_root, rel, ""))

    # The user's corrections (`agent memory`): last, so they win over the files above.
    memory_rel = (project_dir(Path(".")) / "memory.md").as_posix()
    if os.path.lexists(repo_root / memory_rel):
        confined = confine_quietly(repo_root, memory_rel)
        if confined is None:
            warnings.append(f"Project memory {memory_rel} points outside the repository, so it was skipped.")
        else:
            add(_load_file("memory", memory_rel, confined[0], "", REPO_FILE_LIMIT))
    return sources, warnings


def find_nested_context(
    repo_root: Path, paths: Iterable[str], loaded: set[str]
) -> tuple[list[ContextSource], list[str]]:
    """Instruction files of the directories (below the root) of `paths`, not yet `loaded`.

    `paths` are repo-relative paths now in context; ones outside the repository, through a
    symlink leading out of it, or inside .git are ignored. Returns sources outer to inner.
    """
    resolved: list[str] = []
    directories: set[str] = set()
    for path in paths:
        confined = confine_quietly(repo_root, path)
        if confined is None or confined[1] == ".":
            continue
        resolved.append(confined[1])
        if confined[0].is_dir():
            directories.add(confined[1])
    sources: list[ContextSource] = []
    warnings: list[str] = []
    seen = set(loaded)
    for directory in candidate_directories(resolved, directories):
        rel, more = _find_instructions(repo_root, directory)
        warnings.extend(more)
        if rel is None or rel in seen:
            continue  # none here, or already in context (perhaps under another name via a symlink)
        seen.add(rel)
        source, more = _load_instructions(repo_root, rel, directory)
        warnings.extend(more)
        if source is not None:
            sources.append(source)
    return sources, warnings


def nested_agents_files(repo_root: Path, paths: Iterable[str], loaded: set[str]) -> list[ContextSource]:
    """`find_nested_context` without the warnings."""
    return find_nested_context(repo_root, paths, loaded)[0]
