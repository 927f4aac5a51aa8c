"""The vocabulary of approvals (modes, requests, answers), light enough for the app to import at start."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Callable

PERMISSION_MODES = ("plan", "ask", "auto-edit", "full-auto")
HEADLESS_DEFAULT = "auto-edit"


class Decision(str, Enum):
    allow_once = "allow_once"
    allow_always = "allow_always"
    reject = "reject"


@dataclass(frozen=True)
class ApprovalRequest:
    kind: str
    """"edit", "command", "tool" (an MCP tool) or "mcp_server" (a repository's server to start)."""
    subject: str
    """The file path, or the exact command."""
    detail: str
    """The diff of the edit, or why the command needs approval."""
    rules: tuple[str, ...] = ()
    """For commands: the exact rules "allow always" would add."""
    asks_each_time: bool = False
    """For commands: a part needs a person every time (sudo, a private file...): a remembered
    "allow always" never answers for this request."""


@dataclass(frozen=True)
class Answer:
    decision: Decision
    reason: str = ""


Approver = Callable[[ApprovalRequest], Answer]
