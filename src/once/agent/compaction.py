"""Compaction: fold older turns into one summary when the conversation nears its budget.

The first user message (the task) stays verbatim, the most recent turns stay intact,
and everything between becomes a summary written by the `small_model` — or, with none
(offline, replay), a deterministic digest of tool calls, edits and command exit codes.
Pure except for the one `small` call.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from once.agent.small import SmallAsk
from once.errors import ProviderError
from once.lazyre import LazyPattern

Message = dict[str, Any]
Block = dict[str, Any]

SUMMARY_HEADER = "[Summary of earlier turns]"
"""Starts the summary block, so a later compaction can recognise and fold it in."""
REINJECT_HEADER = "[Context restored after compaction]"
"""Starts the block that carries AGENTS.md, the plan and its open steps again."""

CHARS_PER_TOKEN = 4
MESSAGE_OVERHEAD_TOKENS = 4
BLOCK_OVERHEAD_TOKENS = 3
IMAGE_TOKENS = 1600
MAX_TRANSCRIPT_CHARS = 48_000
"""Cap on the rendered transcript sent to the small model (head and tail kept)."""

SUMMARY_SYSTEM = (
    "You compress the middle of a coding agent's conversation so it can keep working with less "
    "context. Write a factual summary in plain text under these headings: What was done; Files "
    "changed; Decisions; Errors seen and how they were solved; What remains. Keep file paths, "
    "commands, test names and error messages exact. Do not invent anything that is not in the "
    "transcript. Do not address the user; no preamble."
)

_KEY_ARGS = {"read_file": "path", "edit_file": "path", "write_file": "path", "list_files": "path",
             "search": "pattern", "run_command": "command"}
_EDIT_TOOLS = frozenset({"edit_file", "write_file"})
_EXIT_CODE = LazyPattern(r"^Exit code: (-?\d+)")


@dataclass(frozen=True)
class CompactionResult:
    messages: list[Message]
    """The new conversation; the input list is never modified."""
    summary: str
    """The summary body (without header or re-injected context); "" when nothing was removed."""
    method: Literal["small_model", "truncate"]
    removed: int
    """How many messages were folded into the summary; 0 means the messages are unchanged."""


# --- token estimate ----------------------------------------------------------------------


def estimate_tokens(messages: list[Message], system: str = "") -> int:
    """A fast estimate of the prompt size in tokens, not a tokenizer count.

    About four characters per token over text, tool inputs (as JSON) and tool results,
    plus a small overhead per message and block; images count a flat amount.
    """
    chars = len(system)
    tokens = 0
    for message in messages:
        tokens += MESSAGE_OVERHEAD_TOKENS
        for block in _blocks(message):
            tokens += BLOCK_OVERHEAD_TOKENS
            kind = block.get("type")
            if kind == "text":
                chars += len(str(block.get("text", "")))
            elif kind == "tool_use":
                chars += len(str(block.get("name", ""))) + len(_json(block.get("input", {})))
            elif kind == "tool_result":
                chars += len(_result_text(block))
                tokens += IMAGE_TOKENS * _image_count(block.get("content"))
            elif kind == "image":
                tokens += IMAGE_TOKENS
            else:
                chars += len(_json(block))
    return tokens + -(-chars // CHARS_PER_TOKEN)


def needs_compaction(messages: list[Message], system: str, budget_tokens: int,
                     threshold: float = 0.8) -> bool:
    """True when the estimate reaches `threshold` of `budget_tokens`."""
    if budget_tokens <= 0:
        raise ValueError("budget_tokens must be positive")
    if not 0 < threshold <= 1:
        raise ValueError("threshold must be in (0, 1]")
    return estimate_tokens(messages, system) >= threshold * budget_tokens


# --- compaction ----------------------------------------------------------------------------


def compact(messages: list[Message], *, keep_recent_turns: int = 4, small: SmallAsk | None,
            max_summary_chars: int = 6000, reinject: str = "") -> CompactionResult:
    """Replace the turns between the task and the last `keep_recent_turns` assistant turns.

    Call it between turns (when the last message is a user message): the kept tail starts
    at an assistant message and carries every tool_use its tool_results answer, so
    tool_use/tool_result pairing and user/assistant alternation survive.
    """
    if keep_recent_turns < 0:
        raise ValueError("keep_recent_turns must be >= 0")
    if max_summary_chars < 200:
        raise ValueError("max_summary_chars must be at least 200")
    unchanged = CompactionResult(messages=list(messages), summary="", method="truncate", removed=0)
    start = 1 if messages and messages[0].get("role") == "user" else 0
    cut = _cut_index(messages, start, keep_recent_turns)
    if cut is None:
        return unchanged
    first = _blocks(messages[0]) if start else []
    earlier = "\n\n".join(_strip_header(b["text"], SUMMARY_HEADER) for b in first if _is_summary(b))
    first = [b for b in first if not _is_summary(b) and not _is_reinject(b)]
    middle = messages[start:cut]
    body, method = _summarize(middle, earlier, small, max_summary_chars)
    summary_text = f"{SUMMARY_HEADER}\n{_summary_intro(method)}\n\n{body}"
    head: list[Block] = first + [{"type": "text", "text": summary_text}]
    if reinject.strip():
        head.append({"type": "text", "text": f"{REINJECT_HEADER}\n{reinject.strip()}"})
    first_message = {**messages[0], "content": head} if start else {"role": "user", "content": head}
    tail = [_copy(m) for m in messages[cut:]]
    return CompactionResult(messages=_merge_users([first_message, *tail]), summary=body,
                            method=method, removed=len(middle))


def _cut_index(messages: list[Message], start: int, keep: int) -> int | None:
    """Where the kept tail begins: an assistant message (or the end) with nothing before it
    that a kept tool_result still needs; None when nothing can be removed."""
    assistants = [i for i, m in enumerate(messages) if m.get("role") == "assistant"]
    if keep > len(assistants):
        return None
    target = assistants[-keep] if keep else len(messages)
    candidates = [i for i in assistants if i <= target] + ([len(messages)] if not keep else [])
    uses: set[str] = set()
    results: set[str] = set()
    valid: set[int] = set()
    # Walk backwards so each index knows the tool ids its suffix uses and answers.
    for i in range(len(messages), start, -1):
        if i < len(messages):
            uses |= {b.get("id", "") for b in _blocks(messages[i]) if b.get("type") == "tool_use"}
            results |= {b.get("tool_use_id", "") for b in _blocks(messages[i]) if b.get("type") == "tool_result"}
        if results <= uses:
            valid.add(i)
    fits = [i for i in candidates if i in valid and i > start]
    return max(fits) if fits else None


def _summarize(middle: list[Message], earlier: str, small: SmallAsk | None,
               max_chars: int) -> tuple[str, Literal["small_model", "truncate"]]:
    if small is not None:
        question = _question(middle, earlier, max_chars)
        try:
            answer = small(SUMMARY_SYSTEM, question).strip()
        except ProviderError:
            answer = ""
        if answer:
            return _cap(answer, max_chars), "small_model"
    return deterministic_summary(middle, earlier, max_chars), "truncate"


def _summary_intro(method: str) -> str:
    how = "by a summarizing model" if method == "small_model" else "as a mechanical digest"
    return (f"Earlier turns of this conversation were removed to save context and summarized here {how}. "
            "The most recent turns follow verbatim. Re-read files before editing them if unsure of "
            "their current content.")


def _merge_users(messages: list[Message]) -> list[Message]:
    """Adjacent user messages become one, so roles keep alternating."""
    merged: list[Message] = []
    for message in messages:
        if merged and message.get("role") == "user" and merged[-1].get("role") == "user":
            merged[-1] = {**merged[-1], "content": _blocks(merged[-1]) + _blocks(message)}
        else:
            merged.append(message)
    return merged


# --- rendering for the small model ----------------------------------------------------------


def render_transcript(middle: list[Message], max_chars: int = MAX_TRANSCRIPT_CHARS) -> str:
    """The removed turns, compactly: assistant text, tool calls as name(args), trimmed results."""
    names = _tool_names(middle)
    lines: list[str] = []
    for message in middle:
        role = message.get("role", "?")
        for block in _blocks(message):
            kind = block.get("type")
            if kind == "text" and str(block.get("text", "")).strip():
                lines.append(f"[{role}] {_trim(str(block['text']), 1500)}")
            elif kind == "tool_use":
                lines.append(f"[call] {_call(block)}")
            elif kind == "tool_result":
                name = names.get(block.get("tool_use_id", ""), "tool")
                flag = " error" if block.get("is_error") else ""
                lines.append(f"[result {name}{flag}] {_trim(_result_text(block), 600)}")
    text = "\n".join(lines)
    if len(text) <= max_chars:
        return text
    half = max_chars // 2
    return f"{text[:half]}\n[... {len(text) - 2 * half} characters of transcript omitted ...]\n{text[-half:]}"


def _question(middle: list[Message], earlier: str, max_chars: int) -> str:
    parts = [f"Summarize these turns in at most {max_chars} characters."]
    if earlier:
        parts.append(f"Summary of even earlier turns (fold it in):\n{earlier}")
    parts.append(f"Turns to summarize:\n{render_transcript(middle)}")
    return "\n\n".join(parts)


def _call(block: Block) -> str:
    args = block.get("input") or {}
    if not isinstance(args, dict):
        return f"{block.get('name', '?')}({_trim(_json(args), 200)})"
    shown = ", ".join(f"{k}={_trim(_json(v), 200)}" for k, v in args.items())
    return f"{block.get('name', '?')}({shown})"


# --- the deterministic summary --------------------------------------------------------------


@dataclass
class _Call:
    name: str
    key: str
    result: Block | None


def deterministic_summary(middle: list[Message], earlier: str = "", max_chars: int = 6000) -> str:
    """Tool calls, files edited, commands with exit codes, user notes and the last assistant
    text of `middle`, within `max_chars` (older tool calls are dropped first)."""
    calls = _calls(middle)
    sections: list[str] = []
    if earlier:
        sections.append("Earlier summary:\n" + _cap(earlier, max_chars // 2))
    edited = list(dict.fromkeys(c.key for c in calls if c.name in _EDIT_TOOLS and _succeeded(c)))
    if edited:
        sections.append("Files edited or written: " + ", ".join(edited))
    commands = [f"- `{c.key}` -> {_outcome(c)}" for c in calls if c.name == "run_command"]
    if commands:
        sections.append("Commands run:\n" + "\n".join(commands[-30:]))
    notes = [_trim(t, 300) for m in middle if m.get("role") == "user" for t in _texts(m)]
    if notes:
        sections.append("User messages:\n" + "\n".join(f"- {n}" for n in notes[-5:]))
    last = next((t for m in reversed(middle) if m.get("role") == "assistant" for t in reversed(_texts(m))), "")
    if last:
        sections.append("Last assistant note:\n" + _trim(last, 1500))
    listing = [f"- {c.name} {c.key}".rstrip() + ("" if _succeeded(c) else " (error)") for c in calls]
    room = max_chars - sum(len(s) + 2 for s in sections) - 40
    sections.insert(1 if earlier else 0, _call_list(listing, room))
    return _cap("\n\n".join(s for s in sections if s), max_chars)


def _call_list(listing: list[str], room: int) -> str:
    """As many of the most recent calls as fit in `room` characters."""
    if not listing:
        return ""
    kept: list[str] = []
    used = 0
    for line in reversed(listing):
        if used + len(line) + 1 > room:
            break
        kept.append(line)
        used += len(line) + 1
    kept.reverse()
    omitted = len(listing) - len(kept)
    head = f"Tool calls ({len(listing)}" + (f", {omitted} earliest omitted):" if omitted else "):")
    return "\n".join([head, *kept])


def _calls(middle: list[Message]) -> list[_Call]:
    results = {b.get("tool_use_id"): b for m in middle for b in _blocks(m) if b.get("type") == "tool_result"}
    calls: list[_Call] = []
    for message in middle:
        for block in _blocks(message):
            if block.get("type") == "tool_use":
                name = str(block.get("name", "?"))
                calls.append(_Call(name, _key_arg(name, block.get("input")), results.get(block.get("id"))))
    return calls


def _key_arg(name: str, args: Any) -> str:
    if not isinstance(args, dict):
        return ""
    value = args.get(_KEY_ARGS.get(name, ""))
    if value is None:
        value = next((v for v in args.values() if isinstance(v, str)), "")
    return _trim(str(value), 160)


def _succeeded(call: _Call) -> bool:
    return call.result is not None and not call.result.get("is_error")


def _outcome(call: _Call) -> str:
    if call.result is None:
        return "no result"
    text = _result_text(call.result)
    match = _EXIT_CODE.match(text)
    if match:
        return f"exit code {match.group(1)}"
    first = text.strip().splitlines()[0] if text.strip() else ""
    return f"error: {_trim(first, 160)}" if call.result.get("is_error") else "no exit code"


# --- small helpers --------------------------------------------------------------------------


def _blocks(message: Message) -> list[Block]:
    content = message.get("content")
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    return list(content or [])


def _copy(message: Message) -> Message:
    content = message.get("content")
    return {**message, "content": list(content) if isinstance(content, list) else content}


def _texts(message: Message) -> list[str]:
    return [str(b.get("text", "")) for b in _blocks(message)
            if b.get("type") == "text" and str(b.get("text", "")).strip()
            and not _is_summary(b) and not _is_reinject(b)]


def _tool_names(messages: list[Message]) -> dict[str, str]:
    return {b.get("id", ""): str(b.get("name", "tool")) for m in messages for b in _blocks(m)
            if b.get("type") == "tool_use"}


def _result_text(block: Block) -> str:
    content = block.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(c.get("text", "")) for c in content
                         if isinstance(c, dict) and c.get("type") == "text")
    return ""


def _image_count(content: Any) -> int:
    if not isinstance(content, list):
        return 0
    return sum(1 for c in content if isinstance(c, dict) and c.get("type") == "image")


def _is_summary(block: Block) -> bool:
    return block.get("type") == "text" and str(block.get("text", "")).startswith(SUMMARY_HEADER)


def _is_reinject(block: Block) -> bool:
    return block.get("type") == "text" and str(block.get("text", "")).startswith(REINJECT_HEADER)


def _strip_header(text: str, header: str) -> str:
    """The body of an earlier summary block: without its header and intro paragraph."""
    rest = text.removeprefix(header).lstrip("\n")
    _intro, sep, body = rest.partition("\n\n")
    return body if sep else rest


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _trim(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _cap(text: str, limit: int) -> str:
    marker = "\n[... summary truncated ...]"
    return text if len(text) <= limit else text[: max(0, limit - len(marker))] + marker
