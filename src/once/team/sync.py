"""Push the outbox to the team's PostgreSQL and pull what teammates changed, idempotently.

A push is one server transaction under the push lock: entries, exposures and status moves
are upserts keyed by their stable ids (an unchanged row keeps its `seq`), and the outbox is
acknowledged only after the commit, so an interrupted push is simply sent again. A pull reads
rows whose `seq` is past the last one seen, in one snapshot, and applies them locally.
"""

from __future__ import annotations

import re
import sqlite3
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Sequence

from once.learn.bank import Bank
from once.store.db import transaction
from once.store.tables import database
from once.team import local
from once.team.payload import EntryPayload, entry_payload, needs_review, normalized_remote, repo_opted_in
from once.team.server import TeamUnavailable, connect, is_connection_error
from once.team.server_schema import PUSH_LOCK, current_version, latest_version

BATCH = 20_000
LIVE_HERE = ("probation", "active", "demoted", "pruned")


@dataclass
class SyncReport:
    pushed: dict[str, int] = field(default_factory=lambda: {"entry": 0, "exposure": 0, "decision": 0})
    pulled: dict[str, int] = field(default_factory=lambda: {"entry": 0, "exposure": 0, "decision": 0})
    review: list[str] = field(default_factory=list)
    """Teammates' entries that wait for a person (`agent knowledge review`)."""
    seconds: float = 0.0
    attempts: int = 1


@dataclass(frozen=True)
class Team:
    url: str
    member: str
    repos: tuple[str, ...] = ()
    """Remote URL patterns of the repositories whose project entries are shared."""


# ---------------------------------------------------------------- repositories


def repo_remote(root: str) -> str | None:
    """The `origin` remote's URL, read from the repository's config file (no git process runs)."""
    try:
        text = (Path(root) / ".git" / "config").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    match = re.search(r'\[remote "origin"\]([^\[]*)', text)
    url = re.search(r"^\s*url\s*=\s*(\S+)", match.group(1), re.M) if match else None
    return url.group(1) if url else None


def known_repos(conn: sqlite3.Connection) -> dict[str, str | None]:
    """Local repository root -> its remote, for every repository entries or runs name."""
    rows = conn.execute("SELECT DISTINCT repo FROM knowledge WHERE repo IS NOT NULL"
                        " UNION SELECT DISTINCT repo FROM runs WHERE repo IS NOT NULL").fetchall()
    return {str(r[0]): repo_remote(str(r[0])) for r in rows}


# ---------------------------------------------------------------- push

_ENTRY_UPSERT = """
INSERT INTO team_entries (id, author, scope, repo_key, kind, title, description, knowledge, status, status_reason,
                          status_by, holdout, model, tool_version, created_at, updated_at, seq)
VALUES (%(id)s, %(author)s, %(scope)s, %(repo_key)s, %(kind)s, %(title)s, %(description)s, %(knowledge)s,
        %(status)s, %(status_reason)s, %(status_by)s, %(holdout)s, %(model)s, %(tool_version)s, %(created_at)s,
        %(updated_at)s, nextval('team_seq'))
ON CONFLICT (id) DO UPDATE SET
    title = CASE WHEN team_entries.author = excluded.author THEN excluded.title ELSE team_entries.title END,
    description = CASE WHEN team_entries.author = excluded.author THEN excluded.description
                       ELSE team_entries.description END,
    knowledge = CASE WHEN team_entries.author = excluded.author THEN excluded.knowledge
                     ELSE team_entries.knowledge END,
    status = excluded.status, status_reason = excluded.status_reason, status_by = excluded.status_by,
    holdout = excluded.holdout, updated_at = excluded.updated_at, seq = nextval('team_seq')
WHERE excluded.updated_at >= team_entries.updated_at
  AND (team_entries.status, team_entries.holdout, team_entries.title, team_entries.description,
       team_entries.knowledge) IS DISTINCT FROM
      (excluded.status, excluded.holdout, excluded.title, excluded.description, excluded.knowledge)
"""
_EXPOSURE_UPSERT = """
INSERT INTO team_exposures (entry_id, session_id, run_id, member, arm, model, outcome, holdout, ts, known_at, seq)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, nextval('team_seq'))
ON CONFLICT (entry_id, session_id, run_id) DO UPDATE SET
    outcome = excluded.outcome, known_at = excluded.known_at, seq = nextval('team_seq')
WHERE (team_exposures.outcome, team_exposures.known_at) IS DISTINCT FROM (excluded.outcome, excluded.known_at)
"""
_DECISION_INSERT = """
INSERT INTO team_decisions (member, local_id, entry_id, ts, action, from_status, to_status, reason, e_value, seq)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, nextval('team_seq')) ON CONFLICT (member, local_id) DO NOTHING
"""


def _shared_entries(conn: sqlite3.Connection, team: Team, ids: list[str],
                    remotes: dict[str, str | None]) -> dict[str, EntryPayload]:
    rows = local.rows_by_id(conn, "SELECT * FROM knowledge WHERE id IN ({marks})", ids)
    shared = {}
    for row in rows:
        payload = entry_payload(row, team.member, remotes, team.repos)
        if payload is not None:
            shared[row["id"]] = payload
    return shared


def push(pg: Any, conn: sqlite3.Connection, team: Team, report: SyncReport) -> None:
    remotes = known_repos(conn)
    while batch := local.pending(conn, BATCH):
        refs: dict[str, list[str]] = {"entry": [], "exposure": [], "decision": []}
        for _, kind, ref in batch:
            refs.setdefault(kind, []).append(ref)
        exposures = local.rows_by_id(
            conn, "SELECT x.*, COALESCE(r.model, '') AS model FROM exposures x LEFT JOIN runs r ON r.id = x.run_id"
                  " WHERE x.id IN ({marks})", refs["exposure"])
        decisions = local.rows_by_id(conn, "SELECT * FROM knowledge_log WHERE id IN ({marks})", refs["decision"])
        wanted = sorted(set(refs["entry"]) | {x["entry_id"] for x in exposures} | {d["entry_id"] for d in decisions})
        shared = _shared_entries(conn, team, wanted, remotes)
        entries = [shared[i] for i in refs["entry"] if i in shared]
        exposures = [x for x in exposures if x["entry_id"] in shared]
        decisions = [d for d in decisions if d["entry_id"] in shared]
        with pg.transaction():
            pg.execute("SELECT pg_advisory_xact_lock(%s)", (PUSH_LOCK,))
            with pg.cursor() as cur:
                cur.executemany(_ENTRY_UPSERT, [{**e.__dict__, "status_by": team.member} for e in entries])
                cur.executemany(_EXPOSURE_UPSERT, [
                    (x["entry_id"], x["session_id"], x["run_id"], team.member, x["arm"], x["model"], x["outcome"],
                     x["holdout"], x["ts"], x["known_at"]) for x in exposures])
                cur.executemany(_DECISION_INSERT, [
                    (team.member, d["id"], d["entry_id"], d["ts"], d["action"], d["from_status"], d["to_status"],
                     d["reason"], d.get("e_value")) for d in decisions])
            _seen(pg, team.member)
        local.acknowledge(conn, batch[-1][0])
        report.pushed["entry"] += len(entries)
        report.pushed["exposure"] += len(exposures)
        report.pushed["decision"] += len(decisions)


def _seen(pg: Any, member: str) -> None:
    now = time.time()
    pg.execute("INSERT INTO team_members (member, first_seen, last_sync) VALUES (%s, %s, %s)"
               " ON CONFLICT (member) DO UPDATE SET last_sync = excluded.last_sync", (member, now, now))


# ---------------------------------------------------------------- pull

_ENTRY_COLUMNS = ("id", "author", "scope", "repo_key", "kind", "title", "description", "knowledge", "status",
                  "status_reason", "status_by", "holdout", "model", "tool_version", "created_at", "updated_at", "seq")
_EXPOSURE_COLUMNS = ("entry_id", "session_id", "run_id", "member", "arm", "model", "outcome", "holdout", "ts",
                     "known_at")
_DECISION_COLUMNS = ("member", "local_id", "entry_id", "ts", "action", "from_status", "to_status", "reason", "e_value")


def _rows(columns: tuple[str, ...], pulled: list[Any]) -> list[dict[str, Any]]:
    """Pulled rows (the columns, then `seq`) as local rows: the server's seq stays there."""
    return [dict(zip(columns, row[:-1])) for row in pulled]


def pull(pg: Any, conn: sqlite3.Connection, team: Team, report: SyncReport, bank: Bank) -> None:
    """Everything past the last `seq` seen, read in one snapshot, applied here."""
    since = int(local.get_meta(conn, local.PULLED_KEY) or 0)
    with pg.transaction():
        pg.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        salt = pg.execute("SELECT value FROM team_meta WHERE key = 'salt'").fetchone()
        entries = pg.execute(f"SELECT {', '.join(_ENTRY_COLUMNS)} FROM team_entries WHERE seq > %s ORDER BY seq",
                             (since,)).fetchall()
        exposures = pg.execute(f"SELECT {', '.join(_EXPOSURE_COLUMNS)}, seq FROM team_exposures"
                               " WHERE seq > %s AND member <> %s ORDER BY seq", (since, team.member)).fetchall()
        decisions = pg.execute(f"SELECT {', '.join(_DECISION_COLUMNS)}, seq FROM team_decisions"
                               " WHERE seq > %s AND member <> %s ORDER BY seq", (since, team.member)).fetchall()
    newest = max([since, *(r[-1] for r in entries), *(r[-1] for r in exposures), *(r[-1] for r in decisions)])
    before = local.last_queued(conn)
    applied = _apply_entries(conn, bank, team, [dict(zip(_ENTRY_COLUMNS, r)) for r in entries], report)
    with transaction(conn):
        db = database(conn)
        # An exposure's outcome may have become known since: the newer row replaces the older one.
        # A status move never changes once made: one already here is kept.
        db["team_exposures"].insert_all(_rows(_EXPOSURE_COLUMNS, exposures), replace=True)
        db["team_decisions"].insert_all(_rows(_DECISION_COLUMNS, decisions), ignore=True)
        if salt is not None:
            local.set_meta(conn, local.SALT_KEY, str(salt[0]))
        local.set_meta(conn, local.PULLED_KEY, str(newest))
        # What applying the team's changes queued here is the team's already: not sent back.
        conn.execute("DELETE FROM team_outbox WHERE seq > ?", (before,))
    report.pulled["entry"] += applied
    report.pulled["exposure"] += len(exposures)
    report.pulled["decision"] += len(decisions)


def _local_repo(key: str | None, repos: dict[str, str | None], team: Team) -> str | None:
    """The repository here whose remote is `key` and opted in, for a teammate's project entry."""
    for root, remote in repos.items():
        if key and remote and normalized_remote(remote) == key and repo_opted_in(remote, team.repos):
            return root
    return None


def _apply_entries(conn: sqlite3.Connection, bank: Bank, team: Team, rows: list[dict[str, Any]],
                   report: SyncReport) -> int:
    repos = known_repos(conn) if any(r["scope"] != "global" for r in rows) else {}
    held = {r["id"]: r for r in local.rows_by_id(conn, "SELECT id, status, updated_at FROM knowledge"
                                                       " WHERE id IN ({marks})", [r["id"] for r in rows])}
    new: list[dict[str, Any]] = []
    moved = 0
    for row in rows:
        here = held.get(row["id"])
        if here is None:
            if row["author"] == team.member:
                continue  # this install's own entry, removed here since
            repo = None if row["scope"] == "global" else _local_repo(row["repo_key"], repos, team)
            if row["scope"] != "global" and repo is None:
                continue  # a project this install does not have, or did not opt in
            new.append({**row, "repo": repo})
        elif (row["status_by"] != team.member and float(row["updated_at"]) > float(here["updated_at"])
              and here["status"] in LIVE_HERE and row["status"] != here["status"]):
            bank.set_status(row["id"], row["status"], f"team ({row['status_by']}): {row['status_reason']}", "team")
            moved += 1
    fresh = _unique(new)
    _add_teammates(bank, fresh, report)
    return moved + len(fresh)


def _unique(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per id (a pull reads each row once, but be safe): the last one read."""
    return list({row["id"]: row for row in rows}.values())


def _add_teammates(bank: Bank, rows: list[dict[str, Any]], report: SyncReport) -> None:
    """Teammates' new entries, added in batches (a first pull can bring a whole team's bank), each
    live here only once it passes what this machine can check: nothing that asks for actions
    (else `review`), and not retrieved for too many of this machine's unrelated sessions (else
    `candidate`: the admission's precision half, on this machine's opening prompts)."""
    from once.learn.admit import (
        UNRELATED_SAMPLE, opening_prompts, prompt_hits, related_to, session_signatures, too_broad,
    )
    from once.learn.bank import KnowledgeEntry, symptom_key

    entries = [KnowledgeEntry(
        id=row["id"], author=row["author"], scope=row["scope"], repo=row["repo"], kind=row["kind"],
        title=row["title"], description=row["description"], knowledge=row["knowledge"], status=row["status"],
        status_reason=f"from {row['author']}", holdout=float(row["holdout"]), model=row["model"],
        tool_version=row["tool_version"], created_at=float(row["created_at"])) for row in rows]
    sample = opening_prompts(bank.conn, 2 * UNRELATED_SAMPLE) if entries else []
    signatures = session_signatures(bank.conn) if sample else {}
    hits = prompt_hits([e.retrieval_text() for e in entries], [prompt for _, prompt in sample], bank.embedder)
    for k, entry in enumerate(entries):
        reasons = needs_review(entry.title, entry.description, entry.knowledge)
        related = related_to(f"{entry.title}\n{entry.description}\n{entry.knowledge}", sample, signatures,
                             symptom_key(entry.title))
        unrelated = [i for i in range(len(sample)) if i not in related][:UNRELATED_SAMPLE]
        broad = too_broad(sum(hits[k][i] for i in unrelated), len(unrelated)) if entry.status != "pruned" else None
        if reasons:
            entries[k] = replace(entry, status="review", status_reason="; ".join(reasons))
            report.review.append(entry.id)
        elif broad:
            entries[k] = replace(entry, status="candidate", status_reason=broad)
    bank.add_many(entries)


# ---------------------------------------------------------------- both, with retries


def sync(conn: sqlite3.Connection, team: Team, *, bank: Bank | None = None, attempts: int = 3,
         backoff: float = 0.5, sleep: Callable[[float], None] = time.sleep) -> SyncReport:
    """Push, then pull; a lost connection is retried with backoff (what was acknowledged stays
    acknowledged, the rest is sent again). Raises TeamUnavailable when every attempt failed;
    the outbox keeps everything for next time."""
    started = time.monotonic()
    report = SyncReport()
    for attempt in range(1, attempts + 1):
        report.attempts = attempt
        try:
            _sync_once(conn, team, bank or Bank(conn), report)
            break
        except TeamUnavailable as exc:
            error: Exception = exc
        except Exception as exc:  # noqa: BLE001 - only a lost connection is retried
            if not is_connection_error(exc):
                raise
            error = TeamUnavailable(f"the connection to the team server was lost: {str(exc).strip()[:200]}")
        with transaction(conn):
            local.set_meta(conn, local.ERROR_KEY, f"{time.time():.0f} {error}")
        if attempt == attempts:
            raise error
        sleep(backoff * 2 ** (attempt - 1))
    with transaction(conn):
        local.set_meta(conn, local.SYNCED_KEY, f"{time.time():.3f}")
        local.set_meta(conn, local.ERROR_KEY, "")
    report.seconds = time.monotonic() - started
    return report


def _sync_once(conn: sqlite3.Connection, team: Team, bank: Bank, report: SyncReport) -> None:
    pg = connect(team.url)
    try:
        if current_version(pg) != latest_version():
            raise TeamUnavailable("the team server has no team schema yet (or an older one)",
                                  hint="Run `agent team init` once for the team.")
        push(pg, conn, team, report)
        pull(pg, conn, team, report, bank)
    finally:
        pg.close()


def init_server(url: str) -> int:
    """Create or migrate the team schema; returns how many migrations ran."""
    from once.team.server_schema import migrate

    pg = connect(url)
    try:
        return migrate(pg)
    finally:
        pg.close()


def pooled_counts(conn: sqlite3.Connection) -> dict[str, int]:
    rows = conn.execute("SELECT count(*), count(DISTINCT member), count(DISTINCT entry_id) FROM team_exposures"
                        ).fetchone()
    return {"exposures": int(rows[0]), "members": int(rows[1]), "entries": int(rows[2])}

