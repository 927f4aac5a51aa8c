"""Vent reports and their groups in SQLite (the `vent_*` tables of migration m006).

A repository over a connection, not a method of `Store`: `VentStore(store.conn)`.
Everything written is redacted here too, whatever the caller did.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Sequence

from once.errors import UsageError
from once.ids import new_id
from once.safety.redact import redact, redact_obj
from once.store.db import transaction
from once.vent import grouping

STATUSES = ("open", "dismissed", "resolved", "regressed")


@dataclass
class NewReport:
    """What the vent tool files; the store assigns the id and the group."""

    category: str
    message: str
    run_id: str
    ts: float
    tool: str = ""
    session_id: str = ""
    repo: str = ""
    model: str = ""
    tool_version: str = ""
    context: dict[str, Any] = field(default_factory=dict)


@dataclass
class Report:
    id: str
    group_id: str
    run_id: str
    session_id: str
    repo: str
    category: str
    tool: str
    message: str
    model: str
    tool_version: str
    context: dict[str, Any]
    regression: bool
    ts: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Group:
    id: str
    signature: str
    category: str
    tool: str
    title: str
    status: str
    status_reason: str
    fixed_in: str | None
    resolved_at: float | None
    regressed_at: float | None
    report_count: int
    first_seen: float
    last_seen: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Filed:
    """The result of filing one report."""

    report_id: str
    group_id: str
    new_group: bool
    regression: bool
    score: float


_GROUP_COLUMNS = ("id, signature, category, tool, title, status, status_reason, fixed_in, resolved_at, "
                  "regressed_at, report_count, first_seen, last_seen")
_REPORT_COLUMNS = ("id, group_id, run_id, session_id, repo, category, tool, message, model, tool_version, "
                   "context, regression, ts")


_VERSION = re.compile(r"\s*v?(\d+(?:\.\d+)*)")


def version_tuple(version: str) -> tuple[int, ...]:
    """`0.10.2` -> (0, 10, 2); a suffix is ignored (`1.2.0rc1` -> (1, 2, 0)); () when not a version."""
    match = _VERSION.match(version or "")
    return tuple(int(part) for part in match.group(1).split(".")) if match else ()


def is_regression(group: Group, report_version: str) -> bool:
    """A report on a resolved group from the fixed version or later (an older install is not news)."""
    if group.status not in ("resolved", "regressed") or not group.fixed_in:
        return False
    return version_tuple(report_version or "0") >= version_tuple(group.fixed_in)


def _group(row: sqlite3.Row) -> Group:
    return Group(**{key: row[key] for key in row.keys()})


def _report(row: sqlite3.Row) -> Report:
    data = {key: row[key] for key in row.keys()}
    data["context"] = json.loads(data["context"] or "{}")
    data["regression"] = bool(data["regression"])
    return Report(**data)


class VentStore:
    """Reports and groups over an open, migrated connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    # -- filing --------------------------------------------------------------

    def file(self, report: NewReport, embed: Callable[[Sequence[str]], tuple[Any, str]] = grouping.embed_texts) -> Filed:
        """Store `report` in the group it belongs to (a new one if none is close enough)."""
        message = redact(report.message)
        tool = redact(report.tool.strip())
        sig = grouping.signature(report.category, tool, message)
        vectors, embedder = embed([grouping.embed_text(report.category, tool, message)])
        vector = vectors[0]
        with transaction(self.conn):
            group_id, score = grouping.assign(tool, sig, vector, self._group_keys(embedder),
                                               grouping.threshold_for(embedder))
            new_group = group_id is None
            if group_id is None:
                group_id = self._new_group(report, tool, message, sig, vector, embedder)
            group = self._get_group_row(group_id)
            regression = is_regression(group, report.tool_version)
            report_id = new_id("v")
            self.conn.execute(
                f"INSERT INTO vent_reports ({_REPORT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (report_id, group_id, report.run_id, report.session_id, report.repo, report.category, tool,
                 message, report.model, report.tool_version,
                 json.dumps(redact_obj(report.context), ensure_ascii=False, default=str), int(regression), report.ts))
            self.conn.execute(
                "UPDATE vent_groups SET report_count = report_count + 1, last_seen = MAX(last_seen, ?), "
                "first_seen = MIN(first_seen, ?) WHERE id = ?", (report.ts, report.ts, group_id))
            if regression and group.status == "resolved":
                self.conn.execute(
                    "UPDATE vent_groups SET status = 'regressed', regressed_at = ?, status_reason = ? WHERE id = ?",
                    (report.ts, f"reported again by once {report.tool_version} after the fix in {group.fixed_in}",
                     group_id))
        return Filed(report_id=report_id, group_id=group_id, new_group=new_group, regression=regression,
                     score=1.0 if new_group else score)

    def _group_keys(self, embedder: str) -> list[grouping.GroupKey]:
        from once.learn.embed import blob_to_vector

        rows = self.conn.execute("SELECT id, tool, signature, embedding, embedder FROM vent_groups").fetchall()
        return [grouping.GroupKey(
            id=row["id"], tool=row["tool"], signature=row["signature"],
            vector=blob_to_vector(row["embedding"]) if row["embedding"] and row["embedder"] == embedder else None,
        ) for row in rows]

    def _new_group(self, report: NewReport, tool: str, message: str, sig: str, vector: Any, embedder: str) -> str:
        from once.learn.embed import vector_to_blob

        group_id = new_id("vg")
        title = " ".join(message.split())
        title = title if len(title) <= 100 else title[:99] + "…"
        self.conn.execute(
            "INSERT INTO vent_groups (id, signature, category, tool, title, status, report_count, first_seen, "
            "last_seen, embedding, embedder) VALUES (?, ?, ?, ?, ?, 'open', 0, ?, ?, ?, ?)",
            (group_id, sig, report.category, tool, title, report.ts, report.ts, vector_to_blob(vector), embedder))
        return group_id

    # -- reading -------------------------------------------------------------

    def groups(self, status: str | None = None) -> list[Group]:
        """Groups, most recently reported first."""
        where, args = ("WHERE status = ?", (status,)) if status else ("", ())
        rows = self.conn.execute(f"SELECT {_GROUP_COLUMNS} FROM vent_groups {where} ORDER BY last_seen DESC, id",
                                 args).fetchall()
        return [_group(row) for row in rows]

    def _get_group_row(self, group_id: str) -> Group:
        row = self.conn.execute(f"SELECT {_GROUP_COLUMNS} FROM vent_groups WHERE id = ?", (group_id,)).fetchone()
        return _group(row)

    def group(self, ref: str) -> Group:
        """A group by id, unique id prefix, or the id of one of its reports."""
        ref = ref.strip()
        if not ref:
            raise UsageError("give a group id", hint="List groups with `agent vent list`.")
        rows = self.conn.execute(f"SELECT {_GROUP_COLUMNS} FROM vent_groups WHERE id >= ? AND id < ? LIMIT 3",
                                 (ref, ref + "\U0010ffff")).fetchall()
        if len(rows) > 1:
            raise UsageError(f"'{ref}' matches more than one group", hint="Give more of the id.")
        if rows:
            return _group(rows[0])
        report = self.conn.execute("SELECT group_id FROM vent_reports WHERE id = ?", (ref,)).fetchone()
        if report is not None:
            return self._get_group_row(report["group_id"])
        raise UsageError(f"no vent group '{ref}'", hint="List groups with `agent vent list`.")

    def reports(self, group_id: str | None = None, since: float | None = None) -> list[Report]:
        """Reports of one group (or all), oldest first."""
        clauses, args = [], []
        if group_id is not None:
            clauses.append("group_id = ?")
            args.append(group_id)
        if since is not None:
            clauses.append("ts >= ?")
            args.append(since)
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        rows = self.conn.execute(f"SELECT {_REPORT_COLUMNS} FROM vent_reports {where} ORDER BY ts, id",
                                 args).fetchall()
        return [_report(row) for row in rows]

    def report_times(self, group_id: str) -> list[float]:
        return [row[0] for row in self.conn.execute("SELECT ts FROM vent_reports WHERE group_id = ?", (group_id,))]

    # -- status moves --------------------------------------------------------

    def dismiss(self, group_id: str, reason: str) -> Group:
        with transaction(self.conn):
            self.conn.execute("UPDATE vent_groups SET status = 'dismissed', status_reason = ? WHERE id = ?",
                              (redact(reason), group_id))
        return self._get_group_row(group_id)

    def resolve(self, group_id: str, version: str, now: float, reason: str = "") -> Group:
        """Mark fixed in `version`: a later report from that version or newer is a regression."""
        if not version_tuple(version):
            raise UsageError(f"'{version}' is not a version number", hint="e.g. --version 0.2.0")
        with transaction(self.conn):
            self.conn.execute(
                "UPDATE vent_groups SET status = 'resolved', fixed_in = ?, resolved_at = ?, regressed_at = NULL, "
                "status_reason = ? WHERE id = ?", (version, now, redact(reason) or f"fixed in {version}", group_id))
        return self._get_group_row(group_id)

    def reopen(self, group_id: str) -> Group:
        with transaction(self.conn):
            self.conn.execute("UPDATE vent_groups SET status = 'open', status_reason = '' WHERE id = ?", (group_id,))
        return self._get_group_row(group_id)
