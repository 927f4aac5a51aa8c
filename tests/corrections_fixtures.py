"""Building stored runs with corrections, feedback and conversations for the corrections tests."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from once.events import Event, RunStarted
from once.store.store import RunRecord, Store

_counter = itertools.count(1)


def add_run(store: Store, repo: str, *, session: str | None = None, prompt: str = "do it", model: str = "m-big",
            started: float | None = None, messages: list[tuple[str, Any]] | None = None,
            events: list[Event] | None = None) -> tuple[str, str]:
    """A finished run with its messages and events; returns (run id, session id)."""
    number = next(_counter)
    session_id = session or store.create_session(repo)
    run_id = f"r-test{number:05d}"
    when = started if started is not None else 1_700_000_000.0 + number
    store.start_run(RunRecord(id=run_id, session_id=session_id, repo=repo, prompt=prompt, mode="agent",
                              provider="replay", model=model, status="done", started_at=when))
    store.append_event(RunStarted(run_id=run_id, session_id=session_id, repo=repo, prompt=prompt, mode="agent",
                                  provider="replay", model=model, ts=when))
    for role, content in messages or []:
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        store.append_message(session_id, run_id, role, blocks)
    for event in events or []:
        event.run_id = run_id
        store.append_event(event)
    return run_id, session_id


def open_test_store(tmp_path: Path) -> Store:
    return Store(tmp_path / "once.db")
