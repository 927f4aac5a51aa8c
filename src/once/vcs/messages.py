"""Commit messages of the agent: summaries, formatting and trailers. Pure functions."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from once.lazyre import LazyPattern

SUBJECT_LIMIT = 72
AGENT_PREFIX = "agent: "
WIP_SUBJECT = "wip: uncommitted changes before agent edit"
RUN_TRAILER = "Agent-Run"
MODEL_TRAILER = "Agent-Model"
WIP_TRAILER = "Agent-Wip"
REVERTS_TRAILER = "Agent-Reverts"
REVERTED_RUN_TRAILER = "Agent-Reverted-Run"

# Openers that say what the model is about to do rather than what it does.
_OPENERS = re.compile(
    r"^(?:(?:now|first|next|then|finally|so|ok|okay|alright|all right|great|perfect|sure)"
    # "First, fix" and "Next I'll fix" are openers; "First change" is a summary.
    r"\b(?:[,!.:]\s*|\s+(?=(?:i|i'll|i'm|let|let's|we|we'll)\b))"
    r"|(?:i'll|i will|i'm going to|i am going to|i'm gonna|let me|let's|let us|i need to|"
    r"i should|i want to|i can|we need to|we should|we'll|we will|i've|i have|i'm|i am|"
    r"we've|we have)\s+"
    r"|(?:go ahead and|now)\s+)",
    re.IGNORECASE,
)
_FILLER = {"", "done", "ok", "okay", "sure", "great", "perfect", "alright", "good", "excellent"}
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|[.!?:]$")
_TRAILER_LINE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9-]*):\s*(.*)$")


_MARKUP = tuple((LazyPattern(pattern), replacement) for pattern, replacement in (
    (r"^\s*(?:>\s*)+", ""),  # quotes
    (r"^\s*#{1,6}\s+", ""),  # headings
    (r"^\s*(?:[-*+]|\d+[.)])\s+", ""),  # list items
    (r"!?\[([^\]]*)\]\([^)]*\)", r"\1"),  # links and images
    (r"(\*\*|__|~~)(.+?)\1", r"\2"),  # bold, struck through
    (r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"\1"),  # italics
    (r"(?<!\w)_(?!\s)(.+?)(?<!\s)_(?!\w)", r"\1"),
))
_RULE = LazyPattern(r"[-=*_|:\s]*")
_HEADING = LazyPattern(r"#{1,6}\s")


def _strip_markdown(line: str) -> str:
    """Drop the markdown markup of one line, keeping its words."""
    for pattern, replacement in _MARKUP:
        line = pattern.sub(replacement, line)
    line = line.replace("`", "")
    return " ".join(line.split())


def _prose_lines(text: str) -> list[str]:
    """Lines of prose, headings last: code blocks, rules and table separators left out."""
    lines: list[str] = []
    headings: list[str] = []
    in_fence = False
    for raw in text.splitlines():
        stripped = raw.strip()
        if stripped.startswith(("```", "~~~")):
            in_fence = not in_fence
            continue
        if in_fence or _RULE.fullmatch(stripped):
            continue
        # A heading ("## Plan") names a section; a sentence says what was done.
        target = headings if _HEADING.match(stripped) else lines
        target.append(_strip_markdown(stripped))
    return [line for line in lines + headings if line]


def _reduce_opener(sentence: str) -> str:
    """'Now I'll fix the bug' -> 'fix the bug'. Repeats so stacked openers all go."""
    previous = None
    while previous != sentence:
        previous = sentence
        sentence = _OPENERS.sub("", sentence, count=1).strip()
    return sentence


def _lower_first(sentence: str) -> str:
    """Lowercase the first letter unless the first word is an acronym or identifier."""
    word = sentence.split(" ", 1)[0]
    if word == "I" or word.startswith("I'") or any(ch.isupper() or ch.isdigit() for ch in word[1:]):
        return sentence
    return sentence[:1].lower() + sentence[1:]


def _files_summary(files: list[str]) -> str:
    names = [PurePosixPath(name).name or name for name in files]
    if not names:
        return "edit files"
    listed = ", ".join(names)
    if len(names) <= 3 and len(listed) <= 50:
        return f"edit {listed}"
    return f"edit {len(names)} files"


def summary_from_text(text: str, files: list[str]) -> str:
    """A one-line summary from the model's own words, else from the files it changed."""
    for line in _prose_lines(text):
        for sentence in _SENTENCE_END.split(line):
            reduced = _reduce_opener(sentence.strip()).rstrip(" .!?:;,")
            if reduced.lower() in _FILLER:
                continue
            return _lower_first(reduced)
    return _files_summary(files)


def _one_line(text: str) -> str:
    # Control characters (a NUL above all) make git refuse the message.
    printable = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(printable.split())


def truncate_subject(subject: str, limit: int = SUBJECT_LIMIT) -> str:
    """Cut `subject` to `limit` characters on a word boundary, ending with an ellipsis."""
    subject = _one_line(subject)
    if len(subject) <= limit:
        return subject
    cut = subject[: limit - 1]
    space = cut.rfind(" ")
    if space > len(AGENT_PREFIX):
        cut = cut[:space]
    return cut.rstrip(" ,;:.-") + "…"


def _file_list(files: list[str]) -> str:
    # A file name may hold a newline; keep each entry on one line.
    return "Files:\n" + "\n".join(f"- {_escape_newlines(name)}" for name in files)


def _escape_newlines(value: str) -> str:
    escaped = value.replace("\r", "\\r").replace("\n", "\\n")
    return escaped.replace("\0", "\\0")


def _message(subject: str, body: str, trailers: list[tuple[str, str]]) -> str:
    block = "\n".join(f"{key}: {_escape_newlines(value)}" for key, value in trailers)
    parts = [subject, body, block] if body else [subject, block]
    return "\n\n".join(parts) + "\n"


def format_commit_message(summary: str, files: list[str], run_id: str, model: str) -> str:
    """`agent: <summary>` (<= 72 chars), the file list, then the run and model trailers."""
    from once.safety.redact import redact

    summary = redact(_one_line(summary)) or _files_summary(files)  # git history is never redacted later
    subject = truncate_subject(AGENT_PREFIX + summary)
    body = _file_list(files) if files else ""
    return _message(subject, body, [(RUN_TRAILER, run_id), (MODEL_TRAILER, model)])


def format_recovery_message(run_id: str, model: str, files: list[str]) -> str:
    """The commit of edits a killed run landed but did not commit: an agent commit of that run."""
    return format_commit_message(f"recover edits of killed run {run_id}", files, run_id, model)


def format_wip_message(files: list[str], run_id: str) -> str:
    """The message of the commit that saves the user's changes before an agent edit."""
    return _message(WIP_SUBJECT, _file_list(files), [(RUN_TRAILER, run_id), (WIP_TRAILER, "true")])


def format_revert_message(subject: str, sha: str, run_id: str | None) -> str:
    """A revert of an agent commit; it carries no Agent-Run, so it is not an agent commit."""
    trailers = [(REVERTS_TRAILER, sha)]
    if run_id:
        trailers.append((REVERTED_RUN_TRAILER, run_id))
    return _message(f'Revert "{_one_line(subject)}"', f"This reverts commit {sha}.", trailers)


def parse_trailers(message: str) -> dict[str, str]:
    """The `Key: value` trailers of the message's last paragraph (never of the subject)."""
    paragraphs = [p for p in re.split(r"\n[ \t]*\n", message.strip()) if p.strip()]
    if len(paragraphs) < 2:
        return {}
    trailers: dict[str, str] = {}
    last_key: str | None = None
    for line in paragraphs[-1].splitlines():
        if line[:1] in (" ", "\t") and last_key is not None:
            trailers[last_key] += " " + line.strip()
            continue
        match = _TRAILER_LINE.match(line)
        if match is None:
            return {}
        last_key = match.group(1)
        trailers.setdefault(last_key, match.group(2).strip())
    return trailers


def _lookup(trailers: dict[str, str], key: str) -> str | None:
    for name, value in trailers.items():
        if name.lower() == key.lower():
            return value
    return None


def run_of(message: str) -> str | None:
    """The Agent-Run of a commit message (agent or wip commit), or None."""
    return _lookup(parse_trailers(message), RUN_TRAILER) or None


def is_wip_commit(message: str) -> bool:
    """A commit that saved the user's own changes during a run."""
    trailers = parse_trailers(message)
    return bool(_lookup(trailers, RUN_TRAILER)) and _lookup(trailers, WIP_TRAILER) is not None


def is_agent_commit(message: str) -> bool:
    """A commit of the agent's own edits: it has Agent-Run and is not a wip commit."""
    trailers = parse_trailers(message)
    return bool(_lookup(trailers, RUN_TRAILER)) and _lookup(trailers, WIP_TRAILER) is None
