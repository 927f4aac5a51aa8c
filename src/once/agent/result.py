"""What a finished run reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from once.providers.base import Usage


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    subject: str
    files: list[str]
    kind: str = "agent"
    """"agent" or "wip" (the user's own changes, saved before an edit)."""


@dataclass
class RunResult:
    run_id: str
    session_id: str
    status: str
    """done, incomplete, checks_failed, max_turns, max_cost, plan_incomplete, replay_mismatch,
    interrupted or error."""
    result: str
    turns: int
    usage: Usage
    cost_usd: float
    commits: list[CommitInfo] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    """Files the agent changed on disk, including any git does not track."""
    plan_path: str | None = None
    """Plan mode: where the plan was written, relative to the repo root."""

    @property
    def finished(self) -> bool:
        return self.status == "done"

    @property
    def files_changed(self) -> list[str]:
        files = {f for c in self.commits if c.kind == "agent" for f in c.files}
        return sorted(files | set(self.changed))

    def to_json(self) -> dict[str, Any]:
        """The `--output-format json` object."""
        return {
            "run_id": self.run_id,
            "session_id": self.session_id,
            "status": self.status,
            "result": self.result,
            "commits": [
                {"sha": c.sha, "subject": c.subject, "files": c.files, "kind": c.kind} for c in self.commits
            ],
            "files_changed": self.files_changed,
            "usage": {
                "input_tokens": self.usage.input_tokens,
                "output_tokens": self.usage.output_tokens,
                "cache_creation_input_tokens": self.usage.cache_creation_input_tokens,
                "cache_read_input_tokens": self.usage.cache_read_input_tokens,
                "cost_usd": round(self.cost_usd, 6),
            },
            "turns": self.turns,
            **({"plan_path": self.plan_path} if self.plan_path else {}),
        }
