"""The real-model lane's time budget: a step that would overrun is stopped or skipped, saying why."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.realmodel import conftest as lane


def test_a_test_that_would_start_too_late_is_skipped_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lane, "DEADLINE", time.time() + 100)
    assert lane.over_budget(60) is None
    why = lane.over_budget(300)
    assert why is not None and "time budget is used up" in why and "ONCE_REALMODEL_BUDGET" in why


def test_a_build_step_past_its_deadline_is_stopped_with_everything_it_started(tmp_path: Path) -> None:
    script = lane.load_script()
    marker = tmp_path / "grandchild.pid"
    started = time.monotonic()
    with pytest.raises(script.BudgetError, match="time budget ran out"):
        script._run(["sh", "-c", f"sleep 30 & echo $! > {marker}; wait"], tmp_path / "build.log",
                    deadline=time.time() + 1.5)
    assert time.monotonic() - started < 10
    grandchild = int(marker.read_text())
    time.sleep(0.2)
    assert not _running(grandchild), "the build's own children are stopped too"


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan waits to be reaped by whatever runs as pid 1)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not status.exists() or "State:\tZ" not in status.read_text()
