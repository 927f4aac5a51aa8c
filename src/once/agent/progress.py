"""Keeps a run's row current while it runs: a run killed with SIGKILL never reaches `finish_run`,
and its row must still show the turns, commits and cost it had."""

from __future__ import annotations

from typing import Protocol

from once.events import CommitMade, Event, ModelResponse
from once.providers.base import Usage


class ProgressStore(Protocol):
    """The part of `once.store.Store` this sink writes to."""

    def record_progress(self, run_id: str, *, turns: int, usage: dict[str, int], cost_usd: float,
                        commits: int) -> None: ...


class RunProgress:
    """An event sink: each model response and each commit of the run updates its counters."""

    def __init__(self, store: ProgressStore, run_id: str) -> None:
        self.store = store
        self.run_id = run_id
        self.turns = 0
        self.usage = Usage()
        self.cost = 0.0
        self.commits = 0

    def __call__(self, event: Event) -> None:
        if event.run_id != self.run_id:
            return
        if isinstance(event, ModelResponse):
            self.turns = max(self.turns, event.turn)
            self.usage = self.usage + Usage.from_dict(event.usage)
            self.cost += event.cost_usd
        elif isinstance(event, CommitMade) and event.kind == "agent":
            self.commits += 1
        else:
            return
        self.store.record_progress(self.run_id, turns=self.turns, usage=self.usage.to_dict(), cost_usd=self.cost,
                                   commits=self.commits)
