"""`agent files "PROMPT"`: which files the agent would read first for a prompt, and why."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Optional

import typer

from once.cli.common import in_repo_hint, print_json, repo_dir, repo_root, terminal_safe
from once.words import plural

MAX_FILES = 8
_PROGRESS_AFTER = 0.5  # seconds: quick refreshes print no progress


def files(
    prompt: str = typer.Argument(..., help="The task, as you would give it to `agent run`."),
    json_out: bool = typer.Option(False, "--json", help="Print the same data as JSON."),
    limit: int = typer.Option(20, "--limit", "-n", min=1, help="How many ranked candidates to show."),
    repo: Optional[Path] = typer.Option(None, "--repo", "-C", help="The repository (default: the cwd)."),
    db: Optional[Path] = typer.Option(None, "--db", help="The SQLite file holding the index [$ONCE_DB]."),
) -> None:
    """Rank the repository's files for a prompt: stage one of file selection, with reasons.

    The index (paths, top-level symbols, module docs) is refreshed first; only changed
    files are parsed again. The first files listed are the ones a run would read.

    \b
    Examples:
      agent files "parse_args fails on empty input"
      agent files --json "fix cli.py"
    """
    from once.errors import UsageError
    from once.index.index import refresh_index
    from once.index.rank import rank_files
    from once.index.select import select_files
    from once.store import open_store

    if not prompt.strip():
        raise UsageError("the prompt is empty", hint='Say what you want done: agent files "fix the login bug"')
    root = _root(repo_dir(repo))
    with open_store(str(db) if db else None) as store:
        stats = refresh_index(store.conn, root, progress=_progress_printer())
        candidates = rank_files(store.conn, root, prompt, limit=max(limit, MAX_FILES))
    selection = select_files(prompt, candidates, None, max_files=MAX_FILES)
    shown = candidates[:limit]
    _err(f"index: {plural(stats.files, 'file')} ({stats.parsed} parsed, {stats.unchanged} unchanged, "
         f"{stats.removed} removed, {stats.skipped} binary or large) in {stats.seconds:.2f} s")
    if json_out:
        print_json({"repo": str(root), "method": selection.method, "selected": selection.files,
                    "candidates": [_candidate_dict(c) for c in shown],
                    "index": {"files": stats.files, "parsed": stats.parsed, "unchanged": stats.unchanged,
                              "removed": stats.removed, "skipped": stats.skipped,
                              "seconds": round(stats.seconds, 3)}})
        return
    _print(shown, set(selection.files), selection.method)


def _root(where: Path) -> Path:
    """The enclosing git work tree; outside one, a usage error."""
    return repo_root(where, in_repo_hint("`agent files` ranks the files of a git repository"))


def _progress_printer() -> Callable[[int, int], None]:
    """Progress on stderr, only for refreshes that take a while (a cold build)."""
    start = time.perf_counter()
    said = [False]

    def progress(done: int, total: int) -> None:
        if time.perf_counter() - start < _PROGRESS_AFTER:
            return
        if sys.stderr.isatty():
            print(f"\rindexing {done}/{total} files", end="\n" if done >= total else "", file=sys.stderr, flush=True)
        elif not said[0]:
            print(f"indexing {plural(total, 'file')}...", file=sys.stderr, flush=True)
        said[0] = True

    return progress


def _candidate_dict(candidate: Any) -> dict[str, Any]:
    return {"path": candidate.path, "score": candidate.score, "reasons": candidate.reasons,
            "symbols": candidate.symbols}


def _err(text: str) -> None:
    print(terminal_safe(text), file=sys.stderr)


def _print(candidates: list[Any], selected: set[str], method: str) -> None:
    if not candidates:
        print("no indexed file matches the prompt: name a file, a symbol or a word from the code")
        return
    print(f"selected ({method}): {plural(len(selected), 'file')}, marked *")
    for number, candidate in enumerate(candidates, start=1):
        mark = "*" if candidate.path in selected else " "
        print(terminal_safe(f"{mark}{number:>3}. {candidate.score:6.2f}  {candidate.path}"))
        print(terminal_safe(f"              {'; '.join(candidate.reasons)}"))
