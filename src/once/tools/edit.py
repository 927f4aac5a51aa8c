"""`edit_file` and `write_file`. Both stage their result in the workspace; nothing
reaches the disk until the turn's edits land together."""

from __future__ import annotations

from pathlib import PurePosixPath

from once.safety.paths import Refused
from once.tools.base import Tool, ToolContext, ToolOutput
from once.tools.matching import apply_edit, format_lines
from once.tools.read import number_line, read_text, split_lines

_SNIPPET_CONTEXT = 2
_SNIPPET_MAX_LINES = 24


def split_newline_style(text: str) -> tuple[str, str]:
    """(text with \\n line endings, the file's line ending).

    Only a file that uses CRLF throughout is converted; a mixed file is edited as it is,
    so lines that end in a bare \\n keep doing so.
    """
    crlf = text.count("\r\n")
    if crlf and crlf == text.count("\n"):
        return text.replace("\r\n", "\n"), "\r\n"
    return text, "\n"


def edit_file(ctx: ToolContext, path: str, old_string: str, new_string: str,
              replace_all: bool = False) -> ToolOutput:
    loaded = read_text(ctx, path, "edit_file")
    if isinstance(loaded, ToolOutput):
        return loaded
    rel, original = loaded
    text, newline = split_newline_style(original)
    if newline == "\r\n":  # the model saw \n-only lines in read_file
        old_string, new_string = old_string.replace("\r\n", "\n"), new_string.replace("\r\n", "\n")
    result = apply_edit(text, old_string, new_string, replace_all)
    if result.new_text is None:
        return ToolOutput(f"edit_file '{rel}': {result.error}", is_error=True)
    updated = result.new_text.replace("\n", newline) if newline != "\n" else result.new_text
    try:
        ctx.workspace.stage(path, updated.encode("utf-8"))
    except UnicodeEncodeError:
        return ToolOutput("new_string is not valid text (it holds an unpaired surrogate); send plain UTF-8 text.",
                          is_error=True)
    except (Refused, OSError) as exc:
        return ToolOutput(f"edit_file '{rel}': {exc}", is_error=True)
    plural = "replacement" if result.count == 1 else "replacements"
    where = "line" if len(result.lines) == 1 else "lines"
    message = f"Edited {rel}: {result.count} {plural} at {where} {format_lines(result.lines)}."
    if result.fuzzy:
        message += (" old_string matched only when whitespace was ignored; new_string was re-indented to the "
                    "file's indentation. Check the result below.")
    if result.count == 1:
        message += "\n" + _snippet(result.new_text, result.lines[0], new_string)
    return ToolOutput(message)


def _snippet(text: str, line: int, new: str) -> str:
    """The edited lines with a little context, numbered like read_file."""
    lines = split_lines(text)
    first = max(1, line - _SNIPPET_CONTEXT)
    last = min(len(lines), line + new.count("\n") + _SNIPPET_CONTEXT, first + _SNIPPET_MAX_LINES - 1)
    return "\n".join(number_line(n, lines[n - 1], 400) for n in range(first, last + 1))


def write_file(ctx: ToolContext, path: str, content: str, rewrite: bool = False) -> ToolOutput:
    try:
        absolute, rel = ctx.workspace.resolve(path)
        if absolute.is_dir():
            return ToolOutput(f"'{rel}' is a directory; give a file path.", is_error=True)
        blocker = _file_in_the_way(ctx, rel)
        if blocker is not None:
            return ToolOutput(f"Cannot write '{rel}': '{blocker}' is a file, not a directory.", is_error=True)
        existed = ctx.workspace.exists(path)
        if existed and not rewrite:
            refusal = _destructive_overwrite(rel, ctx.workspace.read_bytes(path), content)
            if refusal:
                return ToolOutput(refusal, is_error=True)
        ctx.workspace.stage(path, content.encode("utf-8"))
    except Refused as exc:
        return ToolOutput(str(exc), is_error=True)
    except UnicodeEncodeError:
        return ToolOutput("content is not valid text (it holds an unpaired surrogate); send plain UTF-8 text.",
                          is_error=True)
    except OSError as exc:
        return ToolOutput(f"Could not write '{path}': {exc}", is_error=True)
    count = len(split_lines(content))
    noun = "line" if count == 1 else "lines"
    return ToolOutput(f"{'Overwrote' if existed else 'Created'} {rel} ({count} {noun}).")


DESTRUCTIVE_PREFIX = "Refused: this would replace"
KEEP_AT_LEAST = 0.5
"""A write that keeps less than this share of an existing file's lines needs `rewrite`."""
_GUARDED_LINES = 6
"""Files shorter than this (non-blank lines) may be overwritten freely."""


def _destructive_overwrite(rel: str, old: bytes, content: str) -> str | None:
    """Why a write would throw most of an existing file away, or None.

    Small models answer "add a function to dates.py" with a write_file of just that function.
    """
    old_lines = [line.strip() for line in old.decode("utf-8", "replace").splitlines() if line.strip()]
    if len(old_lines) < _GUARDED_LINES:
        return None
    new_lines = {line.strip() for line in content.splitlines() if line.strip()}
    kept = sum(1 for line in old_lines if line in new_lines)
    if kept >= KEEP_AT_LEAST * len(old_lines):
        return None
    return (f"{DESTRUCTIVE_PREFIX} '{rel}' and delete {len(old_lines) - kept} of its {len(old_lines)} "
            "lines. To change part of a file, use edit_file (or add to it); write the complete file, including "
            "every line you keep, only when you mean to replace it all, and then set rewrite=true.")


def _file_in_the_way(ctx: ToolContext, rel: str) -> str | None:
    """A parent of `rel` that is a file, which would make the write fail when it lands."""
    for parent in reversed(PurePosixPath(rel).parents):
        if str(parent) != "." and ctx.workspace.exists(str(parent)):
            return str(parent)
    return None


def edit_file_tool() -> Tool:
    return Tool(
        name="edit_file",
        description=(
            "Replace text in an existing file. old_string must match the file exactly (copy it from read_file "
            "output without the line-number prefix) and occur once, unless replace_all is true; include enough "
            "surrounding lines to make it unique. If there is no exact match, a match that ignores differences "
            "in indentation and surrounding whitespace is used when there is exactly one. To create a file or "
            "rewrite it whole, use write_file."
        ),
        input_schema={
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": "File path relative to the repository root."},
                "old_string": {"type": "string", "description": "The exact text to replace."},
                "new_string": {"type": "string", "description": "The text to put in its place."},
                "replace_all": {"type": "boolean", "description": "Replace every occurrence (default false)."},
            },
            "required": ["path", "old_string", "new_string"],
        },
        func=edit_file,
    )


def write_file_tool() -> Tool:
    return Tool(
        name="write_file",
        description=(
            "Create a file, or replace a file's whole content. Parent directories are created. Prefer "
            "edit_file for changing part of an existing file: a write that would delete most of an existing "
            "file is refused unless rewrite is true."
        ),
        input_schema={
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": "File path relative to the repository root."},
                "content": {"type": "string", "description": "The complete new content of the file."},
                "rewrite": {"type": "boolean",
                            "description": "True to replace an existing file even when most of it goes."},
            },
            "required": ["path", "content"],
        },
        func=write_file,
    )
