"""A stored session's conversation as people see it again: the prompts, the answers, the tool calls.

The app and the ACP server show a reopened session from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Shown:
    """One thing to show again: a prompt, an answer's text, or a tool call with its result."""

    kind: str
    """"prompt", "text" or "tool"."""
    text: str = ""
    tool_use_id: str = ""
    name: str = ""
    input: dict[str, Any] | None = None
    result: str | None = None
    is_error: bool = False


def load_session(db: Path | None, session_id: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The session's messages and its runs' prompts, oldest first."""
    from once.store import open_store

    with open_store(str(db) if db else None) as store:
        messages = store.session_messages(session_id)
        prompts = [run.prompt for run in reversed(store.list_runs(None, limit=10_000, session_id=session_id))]
    return messages, prompts


def conversation(messages: list[dict[str, Any]], prompts: list[str]) -> list[Shown]:
    """The stored Messages-API conversation as the app shows it.

    A user message's text is shown only when it is a run's prompt: the rest (files put in
    context, checks' feedback) was for the model, not something the user typed.
    """
    wanted = set(prompts)
    shown: list[Shown] = []
    tools: dict[str, int] = {}
    for message in messages:
        for block in _blocks(message.get("content")):
            kind = block.get("type")
            if message.get("role") == "user" and kind == "text" and block.get("text") in wanted:
                shown.append(Shown("prompt", text=block["text"]))
            elif message.get("role") == "assistant" and kind == "text" and block.get("text", "").strip():
                shown.append(Shown("text", text=block["text"]))
            elif kind == "tool_use":
                tools[block.get("id", "")] = len(shown)
                shown.append(Shown("tool", tool_use_id=block.get("id", ""), name=block.get("name", ""),
                                   input=block.get("input") or {}))
            elif kind == "tool_result" and block.get("tool_use_id") in tools:
                index = tools[block["tool_use_id"]]
                old = shown[index]
                shown[index] = Shown("tool", tool_use_id=old.tool_use_id, name=old.name, input=old.input,
                                     result=_result_text(block.get("content")), is_error=bool(block.get("is_error")))
    return shown


def _blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [block for block in content or [] if isinstance(block, dict)]


def _result_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "\n".join(block.get("text", "") for block in _blocks(content) if block.get("type") == "text")
