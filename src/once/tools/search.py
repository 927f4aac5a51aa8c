"""`search`: a Python regex over the repository's text files, line by line."""

from __future__ import annotations

import re

from once.safety.paths import PathRefused
from once.tools.base import Tool, ToolContext, ToolOutput
from once.tools.listing import glob_match, under, workspace_files
from once.tools.read import decode_text, split_lines
from once.words import plural

MAX_MATCHES = 200
MAX_FILE_BYTES = 1_000_000
MAX_MATCH_LINE_CHARS = 400


def search(ctx: ToolContext, pattern: str, path: str | None = None, glob: str | None = None) -> ToolOutput:
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        return ToolOutput(f"Invalid regex {pattern!r}: {exc}. This is a Python regular expression: escape "
                          "special characters such as ( [ { . * + ? | with a backslash.", is_error=True)
    base = "."
    if path not in (None, "", "."):
        try:
            absolute, base = ctx.workspace.resolve(path)
        except PathRefused as exc:
            return ToolOutput(str(exc), is_error=True)
        if not absolute.exists() and not ctx.workspace.exists(path):
            return ToolOutput(f"'{path}' does not exist. Use list_files to find the right directory.", is_error=True)
    files = under(workspace_files(ctx), base)
    if glob:
        files = [rel for rel in files if glob_match(rel, glob, base)]
    found, total, skipped = _scan(ctx, files, regex)
    return ToolOutput(_report(found, total, skipped, len(files), pattern))


def _scan(ctx: ToolContext, files: list[str], regex: re.Pattern[str]) -> tuple[list[str], int, int]:
    """(first matches as `path:line: text`, total matches, files skipped as binary or large)."""
    staged = set(ctx.workspace.pending_paths())
    found: list[str] = []
    total = skipped = 0
    for rel in files:
        try:
            text = _load(ctx, rel, staged)
        except PathRefused:
            continue  # a symlink out of the repository: not ours to search
        if text is None:
            skipped += 1
            continue
        for number, line in enumerate(split_lines(text), start=1):
            if regex.search(line) is None:
                continue
            total += 1
            if len(found) < MAX_MATCHES:
                if len(line) > MAX_MATCH_LINE_CHARS:
                    line = line[:MAX_MATCH_LINE_CHARS] + " [... cut]"
                found.append(f"{rel}:{number}: {line}")
    return found, total, skipped


def _load(ctx: ToolContext, rel: str, staged: set[str]) -> str | None:
    """Text of a file, or None for binaries, large files and unreadable ones."""
    absolute, _ = ctx.workspace.resolve(rel)
    try:
        if rel not in staged and absolute.stat().st_size > MAX_FILE_BYTES:
            return None
        data = ctx.workspace.read_bytes(rel)
    except OSError:
        return None
    if len(data) > MAX_FILE_BYTES:
        return None
    return decode_text(data)


def _report(found: list[str], total: int, skipped: int, searched: int, pattern: str) -> str:
    note = f" ({plural(skipped, 'binary or over-1-MB file')} skipped)" if skipped else ""
    if not found:
        return f"No matches for {pattern!r} in {searched} files{note}."
    lines = list(found)
    if total > len(found):
        lines.append(f"[showing {len(found)} of {total} matches; narrow with path or glob, or a more precise pattern]")
    elif note:
        lines.append(f"[{plural(total, 'match')}{note}]")
    return "\n".join(lines)


def search_tool() -> Tool:
    return Tool(
        name="search",
        description=(
            "Search file contents with a Python regular expression, line by line, over the repository's files "
            "(.gitignore respected; binaries and files over 1 MB skipped). Output lines are `path:line: text`. "
            f"`path` limits the search to a directory or file; `glob` filters files ('*.py', 'src/**/*.ts'). "
            f"At most {MAX_MATCHES} matches are shown."
        ),
        input_schema={
            "type": "object",
            "properties": {
                "pattern": {"type": "string", "description": "Python regex, e.g. 'def \\w+_user\\('."},
                "path": {"type": "string", "description": "Directory or file to search, relative to the repository root."},
                "glob": {"type": "string", "description": "Only files matching this glob, e.g. '*.py'."},
            },
            "required": ["pattern"],
        },
        func=search,
    )
