"""Landing edits written as text (`once.agent.text_edits`) through the file tools.

Each edit becomes an `edit_file` or `write_file` call, so it gets the same fuzzy
matching, path confinement, secret refusal and approval as a tool call, and is staged
with the turn's other edits (they land together and are committed once).
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterator

from once.agent.prompt import EXAMPLE_PATH, PLACEHOLDER_FOLDER
from once.agent.snippet_merge import merge_definitions, top_definitions
from once.agent.text_edits import ParsedEdits, TextEdit
from once.safety.paths import Refused
from once.safety.regular import read_regular
from once.tools.base import ToolContext, ToolOutput
from once.tools.edit import DESTRUCTIVE_PREFIX, edit_file, write_file
from once.tools.read import decode_text, read_text


@dataclass(frozen=True)
class TextEditCall:
    """One text edit as the tool call that lands it (what the event log records)."""

    name: str
    input: dict[str, Any]
    edit: TextEdit


def as_call(edit: TextEdit, ctx: ToolContext) -> TextEditCall:
    if edit.kind == "snippet":
        return TextEditCall("edit_file", {"path": "", "merge": edit.replace}, edit)
    if not edit.path:
        holders = locate(edit.search, ctx)
        if len(holders) == 1:
            edit = replace(edit, path=holders[0])
        elif edit.previous_path:
            edit = replace(edit, path=edit.previous_path)
    if edit.path != EXAMPLE_PATH:  # an echo of the example is refused as written, never repaired
        edit = replace(edit, path=_existing_file(edit.path, ctx))
    if edit.kind == "whole":
        return TextEditCall("write_file", {"path": edit.path, "content": edit.replace}, edit)
    if not edit.search.strip():
        return TextEditCall("write_file", {"path": edit.path, "append": edit.replace}, edit)
    return TextEditCall("edit_file", {"path": edit.path, "old_string": edit.search, "new_string": edit.replace},
                        edit)


MAX_SCANNED_FILES = 2_000
MAX_SCANNED_BYTES = 256_000


def locate(search: str, ctx: ToolContext) -> list[str]:
    """The files whose text holds `search` (its lines, ignoring indentation): for a block with no file name."""
    wanted = [line.strip() for line in search.splitlines() if line.strip()]
    if not wanted:
        return []
    return [rel for rel, text in _repo_texts(ctx.workspace.root) if _holds(text, wanted)]


def _existing_file(path: str, ctx: ToolContext) -> str:
    """`cart.py` for the repository's one `app/cart.py`: small models drop the folder they were shown,
    or add the repository's own name. A name that exists as written, or ends more than one path, is
    kept as written."""
    root = ctx.workspace.root
    first, _, rest = path.partition("/")
    if rest and first == root.name and not (root / first).exists():
        path = rest  # `project/wc.py` in a repository named project: small models prefix its name
    if path.startswith(PLACEHOLDER_FOLDER) and not (root / PLACEHOLDER_FOLDER).exists():
        path = path[len(PLACEHOLDER_FOLDER):]  # the examples' placeholder folder, copied
    try:
        if not path or ctx.workspace.exists(path):
            return path
    except Refused:
        return path
    files = list(_repo_files(root))
    tail = "/" + path.lstrip("./")
    matches = [rel for rel in files if ("/" + rel).endswith(tail)]
    if len(matches) == 1:
        return matches[0]
    folder, _, name = path.rpartition("/")
    if folder and not matches and not (root / folder).exists() and path not in ctx.task:
        # `app/pricing.py` for the repository's one `pricing.py`: a folder the model made up.
        namesakes = [rel for rel in files if rel.rpartition("/")[2] == name]
        if len(namesakes) == 1:
            return namesakes[0]
    return path


def _repo_files(root: Path) -> Iterator[str]:
    """The repository's files (at most MAX_SCANNED_FILES), repo-relative; hidden folders and links
    left out (a link may point outside it)."""
    count = 0
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "__pycache__", "node_modules")))
        for name in sorted(files):
            path = Path(folder) / name
            try:
                if not stat.S_ISREG(os.lstat(path).st_mode):  # a link may point outside; a FIFO blocks
                    continue
            except OSError:
                continue
            if count >= MAX_SCANNED_FILES:
                return
            count += 1
            yield path.relative_to(root).as_posix()


def _repo_texts(root: Path, suffix: str = "") -> Iterator[tuple[str, str]]:
    """(path, text) of the repository's small text files, optionally only those ending in `suffix`."""
    for rel in _repo_files(root):
        if not rel.endswith(suffix):
            continue
        data = read_regular(root / rel, follow=False, limit=MAX_SCANNED_BYTES + 1)
        if data is None or len(data) > MAX_SCANNED_BYTES:
            continue
        text = decode_text(data) if data else None
        if text is not None:
            yield rel, text


def _holds(text: str, wanted: list[str]) -> bool:
    lines = [line.strip() for line in text.splitlines()]
    size = len(wanted)
    return any(lines[i:i + size] == wanted for i in range(len(lines) - size + 1))


def apply_call(call: TextEditCall, ctx: ToolContext) -> ToolOutput:
    edit = call.edit
    if edit.path == EXAMPLE_PATH and not ctx.workspace.exists(EXAMPLE_PATH):
        return ToolOutput(f"{EXAMPLE_PATH} is the example from the instructions, not a file of this repository: "
                          "nothing was written. Write the files the task is about.", is_error=True)
    if edit.kind == "snippet":
        return _merge_snippet(ctx, edit)
    if not edit.path:
        return ToolOutput("A SEARCH/REPLACE block had no file name on the line above it, and its SEARCH text was "
                          "not found in exactly one file. Write the file's path on the line above SEARCH.",
                          is_error=True)
    if call.name == "edit_file":
        return edit_file(ctx, edit.path, edit.search, edit.replace)
    if "append" in call.input:
        return _append(ctx, edit.path, edit.replace)
    broken = _not_python(edit.path, edit.replace)
    if broken:
        return ToolOutput(f"The block for {edit.path} is not valid Python ({broken}), so nothing was written. "
                          "Write the file's complete code in the block, and nothing else.", is_error=True)
    if _drops_definitions(ctx, edit.path, edit.replace):
        merged = _merge_into(ctx, edit.path, edit.replace)
        if merged is not None:
            return merged
    output = write_file(ctx, edit.path, edit.replace)
    if output.is_error and output.text.startswith(DESTRUCTIVE_PREFIX):
        return _merge_into(ctx, edit.path, edit.replace) or output
    return output


def _not_python(path: str, content: str) -> str:
    """Why a whole `.py` file does not compile ("" when it does): a block of program output or prose
    under a sentence that names the file is not its new content."""
    if not path.endswith(".py"):
        return ""
    try:
        compile(content, path, "exec", dont_inherit=True)
    except SyntaxError as exc:
        return f"{exc.msg}, line {exc.lineno}"
    except ValueError as exc:  # null bytes
        return str(exc)
    return ""


def _drops_definitions(ctx: ToolContext, path: str, content: str) -> bool:
    """A "whole file" that leaves out some of the file's top-level definitions: a part, not the whole.
    (Deleting a definition takes a SEARCH/REPLACE block.)"""
    loaded = read_text(ctx, path, "edit_file")
    if isinstance(loaded, ToolOutput):
        return False
    rel, old = loaded
    kept = {s.name for s in top_definitions(rel, content)}
    return bool(kept) and any(s.name not in kept for s in top_definitions(rel, old))


def _merge_into(ctx: ToolContext, path: str, snippet: str) -> ToolOutput | None:
    """A block holding only some definitions of `path`, merged into it; None when it is not that."""
    loaded = read_text(ctx, path, "edit_file")
    if isinstance(loaded, ToolOutput):
        return None
    rel, old = loaded
    merge = merge_definitions(rel, old, snippet)
    if merge is None:
        return None
    output = write_file(ctx, rel, merge.text)
    if output.is_error:
        return output
    parts = [f"replaced {', '.join(merge.replaced)}" if merge.replaced else "",
             ", ".join(f"renamed {old} to {new}" for old, new in merge.renamed),
             f"added {', '.join(merge.added)} at the end" if merge.added else ""]
    return ToolOutput(f"Merged into {rel}: {'; '.join(p for p in parts if p)} (the block held only part of the "
                      "file, so the rest of it was kept).")


def _merge_snippet(ctx: ToolContext, edit: TextEdit) -> ToolOutput:
    """Unnamed code: the one file that defines its first definition gets it."""
    names = [s.name for s in top_definitions(f"block{edit.previous_path}", edit.replace)]
    if not names:
        return ToolOutput(_UNNAMED, is_error=True)
    holders = _defining(ctx, names[0], edit.previous_path)
    if len(holders) != 1:
        where = f"{len(holders)} files define {names[0]}" if holders else f"no file defines {names[0]}"
        return ToolOutput(f"{_UNNAMED} ({where}).", is_error=True)
    return _merge_into(ctx, holders[0], edit.replace) or ToolOutput(_UNNAMED, is_error=True)


_UNNAMED = ("A code block had no file name on the line above it, so it was not applied. Write the file's path on "
            "its own line above the block")


def _defining(ctx: ToolContext, name: str, suffix: str) -> list[str]:
    pattern = re.compile(rf"^\s*(?:async\s+)?(?:def|class|function)\s+{re.escape(name)}\b", re.MULTILINE)
    return [rel for rel, text in _repo_texts(ctx.workspace.root, suffix) if pattern.search(text)]


def _append(ctx: ToolContext, path: str, text: str) -> ToolOutput:
    """An empty SEARCH: add to the end of the file, or create it."""
    try:
        exists = ctx.workspace.exists(path)
        old = decode_text(ctx.workspace.read_bytes(path)) if exists else ""
    except (Refused, OSError):
        return write_file(ctx, path, text)  # it says why the path cannot be written
    if old is None:
        return ToolOutput(f"'{path}' is a binary file; it cannot be edited as text.", is_error=True)
    if not exists or not old.strip():
        return write_file(ctx, path, text.rstrip("\n") + "\n")
    joined = old.rstrip("\n") + "\n\n" + text.strip("\n") + "\n"
    output = write_file(ctx, path, joined)
    if output.is_error:
        return output
    return ToolOutput(f"Added {len(text.strip(chr(10)).splitlines())} lines at the end of {path}.")


def render_outcomes(parsed: ParsedEdits, outcomes: list[tuple[TextEditCall, ToolOutput]]) -> str:
    """What the model is told about the edits in its reply."""
    lines = ["Edits in your reply:"]
    for call, output in outcomes:
        mark = "FAILED" if output.is_error else "applied"
        lines.append(f"- {call.edit.path or 'a code block'}: {mark}. {output.text}")
    lines += [f"- not applied: {problem}" for problem in parsed.problems]
    if any(output.is_error for _, output in outcomes) or parsed.problems:
        lines.append("Only the applied edits landed. Fix the failed ones: the SEARCH part must copy the current "
                     "lines of the file exactly, and a block needs its file name on the line above it.")
    return "\n".join(lines)
