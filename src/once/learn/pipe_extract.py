"""The extract -> cluster/merge -> admit stages of `agent learn`.

A resolved episode becomes a candidate entry; a candidate that near-duplicates an existing
entry (same symptoms) joins it instead of adding a second one, unless their advice differs,
which is reported as a conflict and kept apart. A new entry then faces the admission check
(probation, or it stays a candidate). Episodes are stored by ref with the entry they fed,
so an episode is turned into knowledge once.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

from once.learn.bank import symptom_key
from once.learn.pipe_sessions import SessionData

CONFLICT_SIMILARITY = 0.5
"""Near-duplicates whose advice words overlap less than this (Jaccard) conflict: they are kept apart."""
_MATCHABLE = ("candidate", "probation", "active", "demoted", "pruned")
"""A lesson that matches a pruned entry joins it (and stays pruned): a known-bad lesson is not re-learned."""


class _Index:
    """Embeddings of the entries a candidate could join (loaded on first need, grown as we add)."""

    def __init__(self, conn: sqlite3.Connection, embedder: Any) -> None:
        self.conn, self.embedder = conn, embedder
        self.ids: list[str] = []
        self.repos: list[str | None] = []
        self.knowledge: list[str] = []
        self.titles: list[str] = []
        self.matrix: Any = None
        self.added: list[Any] = []
        """Vectors of entries added in this pass (kept apart: copying a 100,000-row matrix per
        added entry would dominate a large bank's pass)."""
        self.by_title: dict[str, list[int]] = {}
        self.masks: dict[str | None, Any] = {}
        """Per repository: which rows it may join (global entries and its own), grown as rows are added."""

    def load(self) -> None:
        import numpy as np

        if self.matrix is not None:
            return
        marks = ", ".join("?" for _ in _MATCHABLE)
        rows = self.conn.execute(f"SELECT id, repo, knowledge, title, description, embedding, embedder FROM knowledge"
                                 f" WHERE status IN ({marks}) ORDER BY rowid", _MATCHABLE).fetchall()
        vectors = np.zeros((len(rows), self.embedder.dim), dtype=np.float32)
        stale = []
        for i, row in enumerate(rows):
            if row["embedder"] == self.embedder.name and row["embedding"] is not None:
                vectors[i] = np.frombuffer(row["embedding"], dtype=np.float32)
            else:
                stale.append(i)
        if stale:
            vectors[stale] = self.embedder.embed([f"{rows[i]['title']}\n{rows[i]['description']}" for i in stale])
        self.ids = [row["id"] for row in rows]
        self.repos = [row["repo"] for row in rows]
        self.knowledge = [row["knowledge"] for row in rows]
        self.titles = [symptom_key(row["title"]) for row in rows]
        for i, key in enumerate(self.titles):
            if key:
                self.by_title.setdefault(key, []).append(i)
        self.matrix = vectors

    def near(self, vector: Any, repo: str | None, threshold: float, title: str = "") -> list[int]:
        """Entries with the same symptoms: at least `threshold` similar or titled by the same
        error, most similar first (paraphrased prompts around one error are one problem)."""
        import numpy as np

        self.load()
        if len(self.ids) == 0:
            return []
        sims = self.matrix @ vector
        if self.added:
            sims = np.concatenate([sims, np.stack(self.added) @ vector])
        for i in self.by_title.get(symptom_key(title), []) if symptom_key(title) else []:
            sims[i] = max(float(sims[i]), threshold)
        sims = np.where(self._allowed(repo), sims, -1.0)
        hits = np.flatnonzero(sims >= threshold)
        return [int(i) for i in hits[np.argsort(-sims[hits], kind="stable")]]

    def _allowed(self, repo: str | None) -> Any:
        import numpy as np

        mask = self.masks.get(repo)
        done = 0 if mask is None else len(mask)
        if done < len(self.repos):
            more = np.fromiter((r is None or r == repo for r in self.repos[done:]), dtype=bool,
                               count=len(self.repos) - done)
            mask = more if mask is None else np.concatenate([mask, more])
            self.masks[repo] = mask
        return mask

    def append(self, entry_id: str, repo: str | None, knowledge: str, vector: Any, title: str = "") -> None:
        import numpy as np

        self.load()
        self.ids.append(entry_id)
        self.repos.append(repo)
        self.knowledge.append(knowledge)
        self.titles.append(symptom_key(title))
        if self.titles[-1]:
            self.by_title.setdefault(self.titles[-1], []).append(len(self.ids) - 1)
        self.added.append(np.asarray(vector, dtype=np.float32))


# Words of how a lesson is said, not of what it says ("no, try ...", "you need to ...").
_ADVICE_FILLER = frozenset("no nope actually try please need just you your it work if fix when see go straight below "
                           "instead should must have let me we".split())


def advice_overlap(entry: Any, other_knowledge: str) -> float:
    """Jaccard similarity of two entries' advice words, the symptom (title) words and the
    filler of how it was said left out.

    Two lessons for the same symptoms share the symptom words; only the rest says whether
    they give the same advice."""
    from once.learn.retrieve import terms

    symptom = set(terms(entry.title)) | _ADVICE_FILLER
    mine = set(terms(entry.knowledge)) - symptom
    theirs = set(terms(other_knowledge)) - symptom
    if not mine or not theirs:
        return 1.0
    return len(mine & theirs) / len(mine | theirs)


@dataclass
class _Pending:
    """An entry whose admission waits for the end of the pass: episodes of the same problem
    later in the pass merge into it first, and their sessions are then not "unrelated"."""

    entry_id: str
    entry: Any
    new: bool
    """False: an existing candidate that failed admission, re-checked because it gained sources."""
    sessions: set[str] = field(default_factory=set)
    prompts: list[str] = field(default_factory=list)
    signatures: set[str] = field(default_factory=set)

    def grow(self, session: SessionData, episode: Any) -> None:
        self.sessions.add(session.session_id)
        self.prompts.append(episode.opening_prompt)
        if episode.failure_signature:
            self.signatures.add(episode.failure_signature)


def extract_and_merge(conn: sqlite3.Connection, bank: Any, found: Sequence[tuple[SessionData, Any]],
                      sessions: Sequence[SessionData], model: str, tool_version: str, dry_run: bool,
                      report: Any, *, small: Any = None) -> None:
    """Store episodes; turn each resolved one not yet used into an added or merged entry; then
    run the admission check of the new entries (and of grown candidates)."""
    from once.learn.cluster import recommended_threshold

    known, done = _stored_refs(conn, [episode.ref for _, episode in found])
    index = _Index(conn, bank.embedder)
    threshold = recommended_threshold(bank.embedder.name)
    pending: dict[str, _Pending] = {}
    for session, episode in found:
        if episode.ref in done:
            continue
        report.new_episodes += episode.ref not in known
        if not dry_run:
            _store_episode(conn, session, episode, None)
        if episode.status != "resolved":
            continue
        entry_id = _learn_one(conn, bank, index, threshold, session, episode, model, tool_version, dry_run, report,
                              pending, small)
        if entry_id and not dry_run:
            _store_episode(conn, session, episode, entry_id)
    for item in pending.values():
        _admit(conn, bank, item, dry_run, report)


def _learn_one(conn: sqlite3.Connection, bank: Any, index: _Index, threshold: float, session: SessionData,
               episode: Any, model: str, tool_version: str, dry_run: bool, report: Any,
               pending: dict[str, _Pending], small: Any = None) -> str | None:
    from once.learn.extract import ExtractContext, extract_entry, resolving_diff
    from once.learn.pipeline import EntryLine

    diff = resolving_diff(session.repo, episode.resolving_commits) if episode.resolving_commits else ""
    ctx = ExtractContext(repo=session.repo, model=session.model or model, tool_version=tool_version, diff=diff)
    entry = extract_entry(episode, ctx, small)
    if not teaches(entry):
        report.not_admitted.append(EntryLine("", entry.title, "skipped", "no lesson: nothing said or changed to learn"))
        return None
    vectors = bank.embedder.embed([entry.retrieval_text()])
    matches = index.near(vectors[0], entry.repo, threshold, entry.title)
    # The first near-duplicate that gives the same advice takes it; same symptoms with other
    # advice (a competing fix) are kept apart for the A/B test to settle.
    agreeing = next((m for m in matches if advice_overlap(entry, index.knowledge[m]) >= CONFLICT_SIMILARITY), None)
    if agreeing is not None:
        target = index.ids[agreeing]
        _note_merge(bank, pending, target, session, episode)
        if not dry_run:
            _generalize(bank, target, entry, small)
            bank.merge_into(target, entry.sources)
        report.merged.append(EntryLine(target, entry.title, "merged", f"episode {episode.ref}"))
        return target
    if matches:
        report.conflicts.append(f"'{entry.title}' matches entry {index.ids[matches[0]]} but gives different advice"
                                f" (similarity {advice_overlap(entry, index.knowledge[matches[0]]):.2f});"
                                " kept apart for the A/B test to settle")
    if dry_run:
        entry_id = f"(new {sum(1 for p in pending.values() if p.new) + 1})"
    else:
        entry_id = bank.add(entry)
    index.append(entry_id, entry.repo, entry.knowledge, vectors[0], entry.title)
    item = pending[entry_id] = _Pending(entry_id, entry, new=True)
    item.grow(session, episode)
    return entry_id if not dry_run else None


def teaches(entry: Any) -> bool:
    """Whether an entry carries a lesson: advice in the user's words or a change to repeat,
    not only its symptoms ("go straight to the fix below" with nothing below)."""
    from once.learn.extract import NO_ADVICE

    return NO_ADVICE not in entry.knowledge or "\n" in entry.knowledge.strip()


def _generalize(bank: Any, target: str, joining: Any, small: Any) -> None:
    """With a model, the entry a near-duplicate joins is rewritten to cover both (an LLM merge);
    offline the stored entry stays the representative and only its sources and count grow."""
    if small is None:
        return
    from once.learn.extract import generalize

    kept = bank.get(target)
    merged = generalize(small, kept, joining) if kept is not None else None
    if merged is not None:
        bank.update(merged)


def _note_merge(bank: Any, pending: dict[str, _Pending], target: str, session: SessionData, episode: Any) -> None:
    """Remember the merged episode for the target's admission (a new entry, or a candidate to re-check)."""
    if target not in pending:
        stored = bank.get(target) if not target.startswith("(") else None
        if stored is None or stored.status != "candidate" or not stored.status_reason.startswith("not admitted"):
            return
        pending[target] = _Pending(target, stored, new=False)
    pending[target].grow(session, episode)


def _admit(conn: sqlite3.Connection, bank: Any, item: _Pending, dry_run: bool, report: Any) -> None:
    from once.learn.admit import (
        admit_from_store, check_admission, entry_signatures, source_prompts, source_sessions, unrelated_prompts,
    )
    from once.learn.pipeline import EntryLine

    if dry_run:
        sources = [] if item.new else list(item.entry.sources)
        own = [*source_prompts(conn, sources), *item.prompts]
        sessions = [*source_sessions(conn, sources), *item.sessions]
        signatures = [*entry_signatures(conn, sources), *item.signatures]
        result = check_admission(item.entry, own, unrelated_prompts(conn, sessions, signatures=signatures),
                                 embedder=bank.embedder)
    else:
        result = admit_from_store(bank, item.entry_id, extra_sessions=sorted(item.sessions),
                                  extra_signatures=sorted(item.signatures))
    line = EntryLine(item.entry_id, item.entry.title, "probation" if result.admitted else "candidate", result.reason)
    if result.admitted:
        report.added.append(line)
    elif item.new:
        report.not_admitted.append(line)


def _stored_refs(conn: sqlite3.Connection, refs: Sequence[str]) -> tuple[set[str], set[str]]:
    """Episodes already stored, and those in their final state (resolved with an entry, or abandoned)."""
    known: set[str] = set()
    used: set[str] = set()
    for start in range(0, len(refs), 500):
        chunk = list(refs[start:start + 500])
        marks = ", ".join("?" for _ in chunk)
        rows = conn.execute(f"SELECT ref, status, entry_id FROM episodes WHERE ref IN ({marks})", chunk).fetchall()
        known |= {row[0] for row in rows}
        used |= {row[0] for row in rows if row[2] is not None or row[1] == "abandoned"}
    return known, used


def _store_episode(conn: sqlite3.Connection, session: SessionData, episode: Any, entry_id: str | None) -> None:
    from once.safety.redact import redact
    from once.store.db import transaction

    data = redact(json.dumps(asdict(episode), ensure_ascii=False, default=str))
    with transaction(conn):
        conn.execute(
            "INSERT INTO episodes (ref, session_id, repo, status, started_at, ended_at, data, entry_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(ref) DO UPDATE SET status = excluded.status,"
            " ended_at = excluded.ended_at, data = excluded.data,"
            " entry_id = COALESCE(excluded.entry_id, episodes.entry_id)",
            (episode.ref, session.session_id, session.repo, episode.status, episode.started_at,
             episode.ended_at, data, entry_id))
