""""Allow always" in the app: it lasts until the app quits or the mode changes, not just for one run.

Each run has its own permission gate, so what the user allowed always is remembered here and
answered for them in the runs that follow. No Textual: the worker thread calls it.
"""

from __future__ import annotations

import threading

from once.agent.approvals import Answer, ApprovalRequest, Approver, Decision

EDITS_SCOPE = "edits to any file in this repository, until you quit the app or change the mode"
COMMANDS_SCOPE = "these exact commands, until you quit the app or change the mode"
REMEMBERED = "allowed always earlier in this app session"


def scope_of(request: ApprovalRequest) -> str:
    """What "allow always" covers, as the dialog and the notice say it."""
    return EDITS_SCOPE if request.kind == "edit" else COMMANDS_SCOPE


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
            return bool(request.rules) and set(request.rules) <= self.commands

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
