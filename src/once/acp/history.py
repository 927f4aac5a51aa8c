"""A stored session's conversation as `session/update` payloads, for `session/load`. Pure.

It shows what the app shows when it reopens a session: the prompts the user typed, the
model's answers, and each tool call with its result (files put in context and the checks'
feedback were for the model, so they stay out).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from acp import start_tool_call, update_agent_message_text, update_user_message_text

from once.acp.updates import Update, edit_diff, output_content, tool_kind, tool_locations, tool_title
from once.conversation import Shown, conversation


def replayed(root: Path, messages: list[dict[str, Any]], prompts: list[str]) -> list[Update]:
    return [_update(root, shown) for shown in conversation(messages, prompts)]


def _update(root: Path, shown: Shown) -> Update:
    if shown.kind == "prompt":
        return update_user_message_text(shown.text)
    if shown.kind == "text":
        return update_agent_message_text(shown.text)
    args = shown.input or {}
    content = edit_diff(root, shown.name, args) if not shown.is_error else None
    status = "failed" if shown.is_error else "completed"
    return start_tool_call(shown.tool_use_id, tool_title(shown.name, args), kind=tool_kind(shown.name),
                           status=status, content=content or output_content(shown.result or ""),
                           locations=tool_locations(root, shown.name, args), raw_input=args)
