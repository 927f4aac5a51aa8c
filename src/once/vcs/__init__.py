"""The git layer: repository discovery, path-exact agent commits, and undo."""

from once.lazymod import lazy_exports
from once.vcs.messages import (
    format_commit_message,
    format_wip_message,
    is_agent_commit,
    is_wip_commit,
    parse_trailers,
    run_of,
    summary_from_text,
)
from once.vcs.repo import GitRepo, StatusEntry

# A run undoes nothing unless it starts over: undo is imported when asked for.
__getattr__ = lazy_exports(globals(), {name: "once.vcs.undo" for name in ("UndoResult", "undo_last", "undo_run")})

__all__ = [
    "GitRepo",
    "StatusEntry",
    "UndoResult",
    "format_commit_message",
    "format_wip_message",
    "is_agent_commit",
    "is_wip_commit",
    "parse_trailers",
    "run_of",
    "summary_from_text",
    "undo_last",
    "undo_run",
]
