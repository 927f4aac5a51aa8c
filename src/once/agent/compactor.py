"""Keeps the conversation inside the context budget by compacting older turns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from once.agent.compaction import compact, estimate_tokens, needs_compaction
from once.agent.recorder import Recorder
from once.agent.small import SmallAsk
from once.events import Compacted


@dataclass
class Compactor:
    budget_tokens: int
    small: SmallAsk | None = None
    reinject: Callable[[], str] = field(default=lambda: "")
    """What must be present again after compaction: AGENTS.md, the plan and its open steps."""
    keep_recent_turns: int = 4

    def maybe_compact(self, messages: list[dict[str, Any]], system: str, turn: int,
                      recorder: Recorder) -> list[dict[str, Any]] | None:
        """The compacted conversation, or None when it still fits."""
        if not needs_compaction(messages, system, self.budget_tokens):
            return None
        result = compact(messages, keep_recent_turns=self.keep_recent_turns, small=self.small,
                         reinject=self.reinject())
        if result.removed == 0:
            return None
        recorder.emit(Compacted(
            run_id=recorder.run_id, turn=turn, messages_before=len(messages), messages_after=len(result.messages),
            tokens_before=estimate_tokens(messages, system), tokens_after=estimate_tokens(result.messages, system),
            method=result.method,
        ))
        return result.messages
