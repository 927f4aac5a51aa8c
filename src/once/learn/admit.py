"""The admission check: a candidate goes live (probation) only if retrieval would use it well.

Recall: it must be retrieved (score over the retrieval threshold) for the opening prompt of
every one of its own source episodes. Precision: it must not be retrieved for more than
`MAX_UNRELATED_RATE` of unrelated sessions' opening prompts. An entry that fails stays a
`candidate` and its status_reason says which test it failed and by how much.

"Unrelated" leaves out every session with the same recurring problem: the entry's own
sources and the episodes whose lessons merged into it, and any session that met the same
failure signature (a check failing with it, an episode about it, or an opening prompt that
quotes it). Counting those as unrelated would call a good lesson "too broad" precisely
because its problem keeps coming back.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any, Sequence

from once.learn.bank import Bank, KnowledgeEntry
from once.learn.retrieve import SCORE_THRESHOLD, score_prompts

MAX_UNRELATED_RATE = 0.10
"""The precision guard: retrieved for at most 10% of unrelated sessions."""
UNRELATED_SAMPLE = 200


@dataclass(frozen=True)
class Admission:
    admitted: bool
    reason: str
    own_hits: int
    own_total: int
    unrelated_hits: int
    unrelated_total: int


def check_admission(entry: KnowledgeEntry, own_prompts: Sequence[str], unrelated_prompts: Sequence[str], *,
                    embedder: Any, threshold: float = SCORE_THRESHOLD,
                    max_unrelated_rate: float = MAX_UNRELATED_RATE) -> Admission:
    """Score the entry against its own prompts and unrelated ones; no writes."""
    own = [p for p in own_prompts if p.strip()]
    other = [p for p in unrelated_prompts if p.strip()]
    scores = score_prompts(entry.retrieval_text(), [*own, *other], embedder)
    own_hits = sum(score >= threshold for score in scores[: len(own)])
    other_hits = sum(score >= threshold for score in scores[len(own):])
    rate = other_hits / len(other) if other else 0.0
    figures = (f"retrieved for {own_hits}/{len(own)} of its own opening prompts and "
               f"{other_hits}/{len(other)} unrelated ones ({rate:.0%}; the limit is {max_unrelated_rate:.0%})")
    if not own:
        return Admission(False, "not admitted: no opening prompt of a source episode to check against",
                         0, 0, other_hits, len(other))
    if own_hits < len(own):
        return Admission(False, f"not admitted: too narrow, {figures}", own_hits, len(own), other_hits, len(other))
    if rate > max_unrelated_rate:
        return Admission(False, f"not admitted: too broad, {figures}", own_hits, len(own), other_hits, len(other))
    return Admission(True, f"admitted: {figures}", own_hits, len(own), other_hits, len(other))


def prompt_hits(entry_texts: Sequence[str], prompts: Sequence[str], embedder: Any,
                threshold: float = SCORE_THRESHOLD) -> list[list[bool]]:
    """For each entry text, which of `prompts` it would be retrieved for, scored as
    `score_prompts` scores one entry, for many entries at once (a first pull from a team can
    bring thousands): one embedding batch each side, shared terms counted through postings."""
    import numpy as np

    from once.learn.retrieve import combine, semantic_floor, terms

    if not entry_texts or not prompts:
        return [[] for _ in entry_texts]
    floor = semantic_floor(embedder.name)
    prompt_vectors = np.asarray(embedder.embed(list(prompts)), dtype=np.float32)
    prompt_terms = [set(terms(p)) for p in prompts]
    postings: dict[str, list[int]] = {}
    for k, words in enumerate(prompt_terms):
        for word in words:
            postings.setdefault(word, []).append(k)
    sizes = np.array([len(words) for words in prompt_terms], dtype=np.float64)
    counts: list[list[bool]] = []
    for start in range(0, len(entry_texts), 2000):
        chunk = entry_texts[start:start + 2000]
        sims = np.asarray(embedder.embed(list(chunk)), dtype=np.float32) @ prompt_vectors.T
        for row, text in zip(sims, chunk):
            words = set(terms(text))
            shared = np.zeros(len(prompts))
            for word in words:
                for k in postings.get(word, ()):
                    shared[k] += 1
            lexical = np.divide(shared, np.sqrt(sizes * max(len(words), 1)), out=np.zeros(len(prompts)),
                                where=sizes > 0)
            counts.append([combine(float(sim), float(lex), floor) >= threshold for sim, lex in zip(row, lexical)])
    return counts


def too_broad(hits: int, total: int, max_unrelated_rate: float = MAX_UNRELATED_RATE) -> str | None:
    """Why an entry retrieved for `hits` of `total` unrelated prompts is too broad, or None."""
    rate = hits / total if total else 0.0
    if rate <= max_unrelated_rate:
        return None
    return (f"not admitted here: too broad, retrieved for {hits}/{total} of this machine's unrelated "
            f"opening prompts ({rate:.0%}; the limit is {max_unrelated_rate:.0%})")


def admit(bank: Bank, entry_id: str, own_prompts: Sequence[str], unrelated_prompts: Sequence[str], *,
          threshold: float = SCORE_THRESHOLD) -> Admission:
    """Run the check on a stored candidate: probation if it passes, else it stays a candidate (with why)."""
    entry = bank.get(entry_id)
    if entry is None:
        raise KeyError(entry_id)
    result = check_admission(entry, own_prompts, unrelated_prompts, embedder=bank.embedder, threshold=threshold)
    if result.admitted:
        bank.set_status(entry.id, "probation", result.reason, "admitted")
    else:
        bank.set_status(entry.id, "candidate", result.reason, "admission_failed")
    return result


def source_prompts(conn: sqlite3.Connection, sources: Sequence[str]) -> list[str]:
    """The opening prompts of an entry's source episodes, as `agent learn` stored them."""
    prompts = []
    for ref in sources:
        row = conn.execute("SELECT data FROM episodes WHERE ref = ?", (ref,)).fetchone()
        if row is None:
            continue
        try:
            data = json.loads(row[0])
        except json.JSONDecodeError:
            continue
        prompt = data.get("opening_prompt") or data.get("prompt") or ""
        if prompt:
            prompts.append(prompt)
    return prompts


def opening_prompts(conn: sqlite3.Connection, limit: int) -> list[tuple[str, str]]:
    """(session, first prompt) of the most recent sessions, newest first."""
    rows = conn.execute(
        "SELECT r.session_id, r.prompt FROM runs r JOIN (SELECT session_id, MIN(started_at) AS first"
        " FROM runs WHERE session_id IS NOT NULL GROUP BY session_id) f"
        " ON f.session_id = r.session_id AND f.first = r.started_at"
        " ORDER BY r.started_at DESC LIMIT ?", (limit,)).fetchall()
    return [(str(row[0]), str(row[1])) for row in rows]


def session_signatures(conn: sqlite3.Connection) -> dict[str, set[str]]:
    """Session -> the failure signatures it met (checks failing with them, its episodes), normalized."""
    found: dict[str, set[str]] = {}
    rows = conn.execute("SELECT r.session_id, json_extract(e.data, '$.signature') FROM events e"
                        " JOIN runs r ON r.id = e.run_id WHERE e.type = 'test_result'"
                        " AND json_extract(e.data, '$.passed') = 0 AND r.session_id IS NOT NULL").fetchall()
    rows += conn.execute("SELECT session_id, json_extract(data, '$.failure_signature') FROM episodes").fetchall()
    for session, signature in rows:
        if signature and len(_norm(signature)) >= MIN_SIGNATURE_CHARS:
            found.setdefault(str(session), set()).add(_norm(signature))
    return found


def related_to(text: str, sample: Sequence[tuple[str, str]], signatures: dict[str, set[str]],
               symptom: str = "") -> set[int]:
    """Indexes of `sample` sessions with the problem `text` is about: one of their failure
    signatures appears in it, or their prompt quotes its symptom. Not unrelated, whatever they say."""
    body = _norm(text)
    return {k for k, (session, prompt) in enumerate(sample)
            if any(sig in body for sig in signatures.get(session, ())) or (symptom and symptom in _norm(prompt))}


def unrelated_prompts(conn: sqlite3.Connection, exclude_sessions: Sequence[str], *,
                      signatures: Sequence[str] = (), limit: int = UNRELATED_SAMPLE) -> list[str]:
    """The first prompt of recent sessions without the entry's problem: the precision sample.

    Left out: `exclude_sessions`, sessions that met one of the failure `signatures`, and
    sessions whose opening prompt quotes one of them."""
    quoted = [_norm(s) for s in signatures if len(_norm(s)) >= MIN_SIGNATURE_CHARS]
    excluded = set(exclude_sessions) | sessions_with_signatures(conn, quoted)
    rows = opening_prompts(conn, limit + len(excluded))
    kept = [prompt for session, prompt in rows if session not in excluded and not _quotes(prompt, quoted)]
    return kept[:limit]


MIN_SIGNATURE_CHARS = 8
"""Shorter signatures ("error") say too little to call two sessions the same problem."""


def _norm(text: str) -> str:
    return " ".join(str(text).lower().split())


def _quotes(prompt: str, signatures: Sequence[str]) -> bool:
    text = _norm(prompt)
    return any(sig in text for sig in signatures)


def sessions_with_signatures(conn: sqlite3.Connection, signatures: Sequence[str]) -> set[str]:
    """Sessions where a check failed with one of these (normalized) signatures, or with an
    episode about one of them."""
    wanted = set(signatures)
    if not wanted:
        return set()
    found: set[str] = set()
    rows = conn.execute("SELECT r.session_id, json_extract(e.data, '$.signature') FROM events e"
                        " JOIN runs r ON r.id = e.run_id WHERE e.type = 'test_result'"
                        " AND json_extract(e.data, '$.passed') = 0 AND r.session_id IS NOT NULL")
    found |= {row[0] for row in rows if row[1] and _norm(row[1]) in wanted}
    rows = conn.execute("SELECT session_id, json_extract(data, '$.failure_signature') FROM episodes")
    found |= {row[0] for row in rows if row[1] and _norm(row[1]) in wanted}
    return found


def entry_signatures(conn: sqlite3.Connection, sources: Sequence[str]) -> list[str]:
    """The failure signatures of an entry's source episodes."""
    if not sources:
        return []
    marks = ", ".join("?" for _ in sources)
    rows = conn.execute(f"SELECT json_extract(data, '$.failure_signature') FROM episodes WHERE ref IN ({marks})",
                        list(sources)).fetchall()
    return sorted({row[0] for row in rows if row[0]})


def source_sessions(conn: sqlite3.Connection, sources: Sequence[str]) -> list[str]:
    marks = ", ".join("?" for _ in sources)
    if not sources:
        return []
    rows = conn.execute(f"SELECT DISTINCT session_id FROM episodes WHERE ref IN ({marks})", list(sources)).fetchall()
    return [row[0] for row in rows]


def admit_from_store(bank: Bank, entry_id: str, *, extra_prompts: Sequence[str] = (),
                     extra_sessions: Sequence[str] = (), extra_signatures: Sequence[str] = ()) -> Admission:
    """Admission with the evidence the store holds: source episodes' prompts, other sessions' prompts.

    `extra_*` carry what the episodes table does not (an insight's prompt and session, the
    sessions of episodes merged in the same pass)."""
    entry = bank.get(entry_id)
    if entry is None:
        raise KeyError(entry_id)
    own = [*source_prompts(bank.conn, entry.sources), *extra_prompts]
    sessions = [*source_sessions(bank.conn, entry.sources), *extra_sessions]
    signatures = [*entry_signatures(bank.conn, entry.sources), *extra_signatures]
    return admit(bank, entry.id, own, unrelated_prompts(bank.conn, sessions, signatures=signatures))
