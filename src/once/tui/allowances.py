""""Allow always" in the app: it lasts until the app quits or the mode changes, not just for one run.

Each run has its own permission gate, so what the user allowed always is remembered here and
answered for them in the runs that follow. No Textual: the worker thread calls it.
"""

from __future__ import annotations

import threading

from once.agent.approvals import Answer, ApprovalRequest, Approver, Decision

UNTIL = "until you quit the app or change the mode"
EDITS_SCOPE = f"edits to any file in this repository, {UNTIL}"
REMEMBERED = "allowed always earlier in this app session"


def scope_of(request: ApprovalRequest) -> str:
    """What "allow always" covers, as the approval and its record say it; "" when nothing beyond this once."""
    if request.kind == "edit":
        return EDITS_SCOPE
    if request.kind == "mcp_server":  # the run trusts it in the user's config (agent.mcp_run)
        return f"starting {request.subject} in this repository from now on (trusted in your user config)"
    if not request.rules:
        return ""
    if request.kind == "tool":
        return f"calls to {', '.join(request.rules)}, {UNTIL}"
    exact = "; ".join(f"`{rule}`" for rule in request.rules)
    rest = " (the rest of this command line still asks each time)" if request.asks_each_time else ""
    return f"exactly {exact}, {UNTIL}{rest}"


class Allowances:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.edits = False
        self.commands: set[str] = set()

    def forget(self) -> None:
        """The mode changed: everything asks again."""
        with self._lock:
            self.edits = False
            self.commands.clear()

    def covers(self, request: ApprovalRequest) -> bool:
        with self._lock:
            if request.kind == "edit":
                return self.edits
            return bool(request.rules) and not request.asks_each_time and set(request.rules) <= self.commands

    def remember(self, request: ApprovalRequest) -> None:
        with self._lock:
            if request.kind == "edit":
                self.edits = True
            else:
                self.commands.update(request.rules)

    def wrap(self, approver: Approver) -> Approver:
        """`approver`, answering for the user what they allowed always."""

        def approve(request: ApprovalRequest) -> Answer:
            if self.covers(request):
                return Answer(Decision.allow_always, REMEMBERED)
            answer = approver(request)
            if answer.decision is Decision.allow_always:
                self.remember(request)
            return answer

        return approve
