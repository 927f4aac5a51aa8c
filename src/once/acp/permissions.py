"""The permission gate's questions, asked of the client with `session/request_permission`.

Every question the gate has goes to the client; none is answered here, except when the turn
is cancelled (the answer is then a rejection, as in the app) or the client cannot answer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Coroutine
from itertools import count
from pathlib import Path
from typing import Any

from acp import text_block, tool_content
from acp.schema import AllowedOutcome, PermissionOption, RequestPermissionResponse, ToolCallUpdate

from once.acp.bridge import ClientCallFailed, LoopBridge
from once.acp.updates import absolute
from once.agent.approvals import Answer, ApprovalRequest, Decision

OPTIONS = (
    PermissionOption(option_id=Decision.allow_once.value, name="Allow once", kind="allow_once"),
    PermissionOption(option_id=Decision.allow_always.value, name="Always allow", kind="allow_always"),
    PermissionOption(option_id=Decision.reject.value, name="Reject", kind="reject_once"),
)

Ask = Callable[[ToolCallUpdate, list[PermissionOption]], Coroutine[Any, Any, RequestPermissionResponse]]


def permission_tool_call(request: ApprovalRequest, tool_call_id: str, root: Path) -> ToolCallUpdate:
    """What the client shows with the question: the diff of the edit, or why the command asks."""
    if request.kind == "edit":
        title, kind, detail = f"Edit {request.subject}", "edit", f"```diff\n{request.detail}\n```"
        locations = [{"path": absolute(root, request.subject)}]
    else:
        title, kind, detail, locations = f"Run `{request.subject[:200]}`", "execute", request.detail, None
    return ToolCallUpdate(tool_call_id=tool_call_id, title=title, kind=kind, status="pending",
                          content=[tool_content(text_block(detail))] if detail.strip() else None,
                          locations=locations, raw_input={"kind": request.kind, "subject": request.subject})


def answer_for(response: RequestPermissionResponse | None) -> Answer:
    outcome = response.outcome if response is not None else None
    if not isinstance(outcome, AllowedOutcome):
        return Answer(Decision.reject, "the run was cancelled")
    try:
        decision = Decision(outcome.option_id)
    except ValueError:
        return Answer(Decision.reject, f"the client chose an unknown option '{outcome.option_id}'")
    return Answer(decision, "the user chose in the editor")


class ClientApprover:
    """The run's Approver: blocks the worker thread until the client answers."""

    def __init__(self, bridge: LoopBridge, ask: Ask, root: Path, cancel: threading.Event,
                 current_tool: Callable[[], str | None]) -> None:
        self.bridge = bridge
        self.ask = ask
        self.root = root
        self.cancel = cancel
        self.current_tool = current_tool
        self._ids = count(1)

    def __call__(self, request: ApprovalRequest) -> Answer:
        if self.cancel.is_set():
            return Answer(Decision.reject, "the run was cancelled")
        # Text edits have no tool call of their own: the question gets an id for itself.
        tool_call_id = self.current_tool() or f"approval-{next(self._ids)}"
        tool_call = permission_tool_call(request, tool_call_id, self.root)
        try:
            response = self.bridge.call(self.ask(tool_call, list(OPTIONS)), cancel=self.cancel)
        except ClientCallFailed as exc:
            return Answer(Decision.reject, f"the editor could not ask: {exc}")
        return answer_for(response)
