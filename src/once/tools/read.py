"""`read_file`: a text file with `cat -n` style line numbers, a page at a time."""

from __future__ import annotations

from once.safety.paths import PathRefused
from once.tools.listing import AGENT_FOLDER, agent_private, named_in
from once.tools.base import Tool, ToolContext, ToolOutput

DEFAULT_LIMIT = 2000
MAX_LINE_CHARS = 2000
MAX_OUTPUT_CHARS = 100_000
"""A page stops early past this size, so one call cannot flood the context."""
BINARY_SNIFF_BYTES = 8192


def decode_text(data: bytes) -> str | None:
    """The text of a file, or None when it looks binary (NUL early on, or not UTF-8)."""
    if b"\0" in data[:BINARY_SNIFF_BYTES]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def split_lines(text: str) -> list[str]:
    """Lines as an editor counts them: split on \\n only, CR of CRLF dropped."""
    if not text:
        return []
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def number_line(number: int, line: str, max_chars: int = MAX_LINE_CHARS) -> str:
    """One line as `cat -n` prints it, cut when very long."""
    if len(line) > max_chars:
        line = f"{line[:max_chars]} [... line cut: {len(line)} chars in all]"
    return f"{number:>6}\t{line}"


def read_text(ctx: ToolContext, path: str, tool: str) -> tuple[str, str] | ToolOutput:
    """(repo-relative path, text) of a file, or the error result that explains why not."""
    try:
        absolute, rel = ctx.workspace.resolve(path)
        if agent_private(rel) and not named_in(ctx.task, rel):
            return ToolOutput(f"'{rel}' is one of once's own records ({AGENT_FOLDER}/: knowledge, plan, memory); "
                              "the agent reads it only when the request names the file.", is_error=True)
        if not ctx.workspace.exists(path):
            if absolute.is_dir():
                return ToolOutput(f"'{path}' is a directory. Use list_files with path='{rel}' to see its files.",
                                  is_error=True)
            hint = "write_file to create it" if tool != "read_file" else "write_file if you mean to create it"
            return ToolOutput(f"File not found: '{path}'. Use list_files to find the right path, or {hint}.",
                              is_error=True)
        data = ctx.workspace.read_bytes(path)
    except PathRefused as exc:
        return ToolOutput(str(exc), is_error=True)
    except OSError as exc:
        return ToolOutput(f"Could not read '{path}': {exc.strerror or exc}.", is_error=True)
    text = decode_text(data)
    if text is None:
        return ToolOutput(f"'{rel}' is a binary file ({len(data)} bytes), not UTF-8 text; {tool} only handles "
                          "text. Use run_command (e.g. `file`, `xxd | head`) to inspect it.", is_error=True)
    return rel, text


def read_file(ctx: ToolContext, path: str, offset: int | None = None, limit: int | None = None) -> ToolOutput:
    start = 1 if offset is None else offset
    count = DEFAULT_LIMIT if limit is None else limit
    if start < 1:
        return ToolOutput("offset is a 1-based line number; use offset=1 to start at the top.", is_error=True)
    if count < 1:
        return ToolOutput("limit must be at least 1 (the number of lines to read).", is_error=True)
    loaded = read_text(ctx, path, "read_file")
    if isinstance(loaded, ToolOutput):
        return loaded
    rel, text = loaded
    lines = split_lines(text)
    if not lines:
        return ToolOutput(f"'{rel}' is empty (0 lines).")
    if start > len(lines):
        return ToolOutput(f"'{rel}' has {len(lines)} lines; offset={start} is past the end. "
                          f"Use an offset from 1 to {len(lines)}.", is_error=True)
    return ToolOutput(format_page(lines, start, count))


def format_page(lines: list[str], start: int, count: int) -> str:
    """Numbered lines from `start`, at most `count` of them, with a note when more remain."""
    out: list[str] = []
    size = 0
    last = start - 1
    for number in range(start, min(len(lines), start + count - 1) + 1):
        numbered = number_line(number, lines[number - 1])
        if out and size + len(numbered) > MAX_OUTPUT_CHARS:
            break
        out.append(numbered)
        size += len(numbered) + 1
        last = number
    if last < len(lines):
        out.append(f"[lines {start}-{last} of {len(lines)}; call read_file with offset={last + 1} to read on]")
    return "\n".join(out)


def read_file_tool() -> Tool:
    return Tool(
        name="read_file",
        description=(
            "Read a text file. Lines come numbered like `cat -n` (number, tab, line); the numbers are not part "
            f"of the file. Reads {DEFAULT_LIMIT} lines from `offset` (1-based) unless `limit` says otherwise, "
            "and says how to read on when more remain. Binary files are refused. Shows edits made earlier in "
            "this turn."
        ),
        input_schema={
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": "File path relative to the repository root."},
                "offset": {"type": "integer", "description": "First line to read, 1-based (default 1)."},
                "limit": {"type": "integer", "description": f"How many lines to read (default {DEFAULT_LIMIT})."},
            },
            "required": ["path"],
        },
        func=read_file,
    )
