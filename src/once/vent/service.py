"""Filing a vent report and queuing what a webhook should hear about it; wiring for a run.

The store, the spike test and the webhook load when a report is filed: most runs file none.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from once import __version__
from once.events import Event
from once.vent.tool import RunInfo, Venter
from once.words import plural

if TYPE_CHECKING:
    from once.vent.store import Filed, Group, NewReport, VentStore


def news_for(vents: VentStore, filed: Filed, now: float) -> list[tuple[str, dict[str, Any]]]:
    """(outbox key, payload) for what is new after filing: the group, a regression, today's spike."""
    from once.vent import spikes, webhook

    group = vents.group(filed.group_id)
    summary = _group_summary(group)
    label = f"[{group.category}{' / ' + group.tool if group.tool else ''}] {group.title}"
    news: list[tuple[str, dict[str, Any]]] = []
    if filed.new_group:
        news.append((f"group:{group.id}", webhook.payload(
            "new_group", f"once vent: new problem {label}", summary, __version__)))
    if filed.regression:
        news.append((f"regression:{filed.report_id}", webhook.payload(
            "regression", f"once vent: regression after the fix in {group.fixed_in}: {label}", summary,
            __version__)))
    today = spikes.day_of(now)
    days = spikes.group_days(vents.report_times(group.id), today, 1)
    if days and days[-1].spike:
        day = days[-1]
        news.append((f"spike:{group.id}:{day.day}", webhook.payload(
            "spike", f"once vent: spike, {plural(day.count, 'report')} today against a baseline of {day.baseline:.2f}/day "
                     f"(p={day.p_value:.2g}, {spikes.TEST_NAME}): {label}", summary, __version__,
            test=spikes.TEST_NAME, count=day.count, baseline=day.baseline, p_value=day.p_value)))
    return news


def _group_summary(group: Group) -> dict[str, Any]:
    keys = ("id", "category", "tool", "title", "status", "report_count", "first_seen", "last_seen", "fixed_in")
    data = group.to_dict()
    return {key: data[key] for key in keys}


def file_and_queue(conn: sqlite3.Connection, report: NewReport, *, queue_news: bool) -> Filed:
    """File `report`; when a webhook is configured, queue its news in the outbox."""
    from once.vent import webhook
    from once.vent.store import VentStore

    vents = VentStore(conn)
    filed = vents.file(report)
    if queue_news:
        for key, body in news_for(vents, filed, report.ts):
            webhook.enqueue(conn, key, body, report.ts)
    return filed


def has_pending(conn: sqlite3.Connection) -> bool:
    row = conn.execute("SELECT 1 FROM vent_outbox WHERE delivered_at IS NULL AND gave_up = 0 LIMIT 1").fetchone()
    return row is not None


def make_venter(db_path: Path, info: RunInfo, emit: Callable[[Event], None], webhook_url: str | None) -> Venter:
    """The vent tool's state for one run. Each filing uses a connection of its own (vents are
    rare, and the run's connection may be busy on another thread). With a webhook, what an
    earlier run left queued is flushed now, and each report's news right after it is filed,
    both off the agent's thread."""
    if webhook_url:
        from once.vent import webhook

        with _connection(db_path) as conn:
            pending = has_pending(conn)
        if pending:
            webhook.deliver_in_background(db_path, webhook_url)

    def file_report(report: NewReport) -> Filed:
        with _connection(db_path) as conn:
            filed = file_and_queue(conn, report, queue_news=bool(webhook_url))
        if webhook_url:
            from once.vent import webhook

            webhook.deliver_in_background(db_path, webhook_url)
        return filed

    return Venter(info, file_report, emit, clock=time.time)


@contextmanager
def _connection(db_path: Path) -> Iterator[sqlite3.Connection]:
    from once.store.db import connect

    conn = connect(db_path)
    try:
        yield conn
    finally:
        conn.close()
