"""What the agent calls at each user turn: retrieved entries, each injected or held out.

The entries are chosen (top k within the character budget) before any arm is drawn, so
which entries a turn is exposed to never depends on the draw. Then, per (entry, session),
a draw keyed by a per-install random salt puts the session in the injected or the holdout
arm: random across installs and sessions, stable within a session. Both arms are stored
as exposures, the evaluation's raw data.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

from once.learn.bank import LIVE_STATUSES, KnowledgeEntry, holdout_for
from once.store.db import transaction

DEFAULT_K = 3
DEFAULT_BUDGET_CHARS = 3_000
"""About 750 tokens: enough for a few short entries, never a second system prompt."""
BLOCK_HEADING = "Learned from earlier sessions"
_INTRO = (f"{BLOCK_HEADING} (guidance that helped in this situation before; "
          "use it if it applies, ignore it if it does not):")
_SALT_KEY = "holdout_salt"
_TEAM_SALT_KEY = "team_salt"  # once.team.local.SALT_KEY: set by the first sync with a team


@dataclass(frozen=True)
class Exposure:
    entry_id: str
    title: str
    arm: str
    """"injected" or "holdout"."""
    score: float
    status: str
    holdout: float = 0.0
    """The probability of the holdout arm this draw used (the evaluation's test needs it)."""


@dataclass
class Injection:
    block: str = ""
    """The text to put before the prompt ("" when nothing was injected)."""
    exposures: list[Exposure] = field(default_factory=list)


def has_live_entries(conn: sqlite3.Connection, repo: str | None) -> bool:
    """One indexed lookup: lets a run with an empty bank skip numpy and embeddings entirely."""
    marks = ", ".join("?" for _ in LIVE_STATUSES)
    row = conn.execute(f"SELECT EXISTS(SELECT 1 FROM knowledge WHERE status IN ({marks})"
                       " AND (repo IS NULL OR repo = ?))", (*LIVE_STATUSES, repo)).fetchone()
    return bool(row[0])


def install_salt(conn: sqlite3.Connection) -> str:
    """The salt of the holdout draw: the team's when this install syncs with one (every member's
    sessions are then in one experiment), else this install's own, created on first use."""
    row = conn.execute("SELECT value FROM learn_meta WHERE key = ?", (_TEAM_SALT_KEY,)).fetchone()
    if row is None:
        row = conn.execute("SELECT value FROM learn_meta WHERE key = ?", (_SALT_KEY,)).fetchone()
    if row is not None:
        return str(row[0])
    with transaction(conn):
        conn.execute("INSERT OR IGNORE INTO learn_meta (key, value) VALUES (?, ?)", (_SALT_KEY, secrets.token_hex(16)))
    return str(conn.execute("SELECT value FROM learn_meta WHERE key = ?", (_SALT_KEY,)).fetchone()[0])


def earlier_draws(conn: sqlite3.Connection, session_id: str, entry_ids: list[str]) -> dict[str, tuple[str, float]]:
    """entry -> (arm, holdout) of its first exposure in this session, for the entries that have one."""
    if not entry_ids:
        return {}
    marks = ", ".join("?" for _ in entry_ids)
    rows = conn.execute(f"SELECT entry_id, arm, holdout FROM exposures WHERE session_id = ? AND entry_id IN ({marks})"
                        " ORDER BY ts, id", (session_id, *entry_ids)).fetchall()
    drawn: dict[str, tuple[str, float]] = {}
    for entry_id, arm, holdout in rows:
        drawn.setdefault(entry_id, (arm, holdout if holdout is not None else 0.0))
    return drawn


def draw_unit(salt: str, entry_id: str, session_id: str) -> float:
    """A uniform number in [0, 1) fixed by (salt, entry, session)."""
    digest = hashlib.sha256(f"{salt}\x00{entry_id}\x00{session_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def draw_arm(salt: str, entry_id: str, session_id: str, holdout: float) -> str:
    return "holdout" if draw_unit(salt, entry_id, session_id) < holdout else "injected"


def render_entry(entry: KnowledgeEntry) -> str:
    return f"- {entry.title}\n  " + "\n  ".join(entry.knowledge.strip().splitlines())


def render_block(entries: list[KnowledgeEntry]) -> str:
    if not entries:
        return ""
    return _INTRO + "\n\n" + "\n\n".join(render_entry(e) for e in entries)


def fit_budget(entries: list[KnowledgeEntry], k: int, budget_chars: int) -> list[KnowledgeEntry]:
    """The best entries, in order, whose block (as if all injected) stays within the budget."""
    chosen: list[KnowledgeEntry] = []
    for entry in entries:
        if len(chosen) >= k:
            break
        if len(render_block([*chosen, entry])) <= budget_chars:
            chosen.append(entry)
    return chosen


def learned_for_turn(conn: sqlite3.Connection, *, repo: str, session_id: str, run_id: str, prompt: str,
                     k: int = DEFAULT_K, budget_chars: int = DEFAULT_BUDGET_CHARS, embedder: Any = None,
                     now: float | None = None, force_arm: str | None = None) -> Injection:
    """Retrieve, draw arms, store the exposures; the block holds only the injected entries.

    `force_arm` ("injected" or "holdout", for experiments) puts every entry in that arm and
    stores no exposure: a chosen arm is not a random draw, so it must not enter the evaluation."""
    if k <= 0 or not has_live_entries(conn, repo):
        return Injection()
    from once.learn.retrieve import retrieve

    hits = retrieve(conn, prompt, repo=repo, embedder=_default_embedder() if embedder is None else embedder,
                    k=max(k * 3, k))
    by_id = {hit.entry.id: hit for hit in hits}
    chosen = fit_budget([hit.entry for hit in hits], k, budget_chars)
    if not chosen:
        return Injection()
    salt = install_salt(conn)
    drawn = earlier_draws(conn, session_id, [entry.id for entry in chosen])
    exposures = []
    for entry in chosen:
        # Once per (entry, session): a holdout changed by `agent learn` between two turns must
        # not move a session to the other arm halfway through.
        holdout = drawn[entry.id][1] if entry.id in drawn else holdout_for(entry.status, entry.holdout)
        arm = force_arm or (drawn[entry.id][0] if entry.id in drawn else draw_arm(salt, entry.id, session_id, holdout))
        exposures.append(Exposure(entry.id, entry.title, arm, round(by_id[entry.id].score, 4), entry.status, holdout))
    if force_arm is None:
        _store_exposures(conn, exposures, session_id, run_id, time.time() if now is None else now,
                         matched=[hit.entry.id for hit in hits])
    injected = [entry for entry, exp in zip(chosen, exposures) if exp.arm == "injected"]
    return Injection(block=render_block(injected), exposures=exposures)


@functools.lru_cache(maxsize=1)
def _default_embedder() -> Any:
    """One per process: a long session retrieves at every turn, and the retrieval caches
    (prompt vectors) are kept per embedder."""
    from once.learn.embed import default_embedder

    return default_embedder()


def _store_exposures(conn: sqlite3.Connection, exposures: list[Exposure], session_id: str, run_id: str,
                     now: float, matched: Sequence[str] = ()) -> None:
    """The exposures, and `last_retrieved_at` of every entry the prompt matched: an entry that
    matches but loses the ranking to a sibling is still relevant, so it does not decay."""
    with transaction(conn):
        conn.executemany("UPDATE knowledge SET last_retrieved_at = ? WHERE id = ?", [(now, e) for e in matched])
        for exp in exposures:
            conn.execute("INSERT OR IGNORE INTO exposures (entry_id, session_id, run_id, arm, score, ts, holdout)"
                         " VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (exp.entry_id, session_id, run_id, exp.arm, exp.score, now, exp.holdout))
            conn.execute("UPDATE knowledge SET last_retrieved_at = ? WHERE id = ?", (now, exp.entry_id))
