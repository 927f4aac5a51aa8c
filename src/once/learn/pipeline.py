"""`agent learn`: detect -> extract -> cluster/merge -> admit -> evaluate -> prune, then the
corrections: scan them into proposals, propose proven entries as skills, list conflicts.

Each stage reads what the earlier ones produced; with `dry_run` every stage runs the same
way on in-memory results and nothing is written (the database is byte-for-byte the same
afterwards). Re-running is idempotent: episodes are keyed by their stable ref, an episode
that already produced (or joined) an entry is skipped, and status moves are derived from
the data rather than accumulated.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Iterator, Sequence

from once import __version__
from once.learn.evaluate import Decision, EntryEval, Policy
from once.learn.meta import get_meta, set_meta
from once.learn.pipe_sessions import QUIET_SECONDS, SessionData, load_sessions, sessions_since

LAST_LEARN_KEY = "last_learn_at"
FIXING_KINDS = ("complaint", "repeated_request", "correction", "thumbs_down", "undo")
"""Signals that are the user trying to fix what the agent got wrong."""


@dataclass
class LearnOptions:
    dry_run: bool = False
    since: float | None = None
    """Scan sessions active since then (default: since the last `agent learn`, or all)."""
    model: str = ""
    """The model in use now: an active entry must show its benefit on this model's own sessions."""
    tool_version: str = __version__
    policy: Policy = field(default_factory=Policy)
    now: float | None = None
    embedder: Any = None
    repo: str | None = None
    """The repository `agent learn` runs in: where a global entry's skill is proposed."""
    small: Any = None
    """The small model (a SmallAsk): writes entries and judges stuck episodes. None: offline,
    the deterministic templates and heuristics decide."""


@dataclass
class EntryLine:
    entry_id: str
    title: str
    status: str
    detail: str = ""


@dataclass
class WeekStat:
    week: str  # ISO date of the week's Monday
    sessions: int
    stuck: int
    fixing: int

    @property
    def stuck_rate(self) -> float:
        return self.stuck / self.sessions if self.sessions else 0.0


@dataclass
class LiftLine:
    entry_id: str
    title: str
    status: str
    evaluation: EntryEval


@dataclass
class CorrectionsSummary:
    """The corrections scan over the scanned sessions' repositories."""

    repos: int = 0
    corrections: int = 0
    proposed: int = 0
    applied: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


@dataclass
class LearnReport:
    dry_run: bool
    seconds: dict[str, float] = field(default_factory=dict)
    """Wall time of each stage (sessions, detect, extract, evaluate, corrections)."""
    sessions: int = 0
    signals: int = 0
    episodes: int = 0
    new_episodes: int = 0
    resolved: int = 0
    added: list[EntryLine] = field(default_factory=list)
    merged: list[EntryLine] = field(default_factory=list)
    not_admitted: list[EntryLine] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    outcomes: int = 0
    moves: list[Decision] = field(default_factory=list)
    reweighted: int = 0
    lifts: list[LiftLine] = field(default_factory=list)
    skill_ready: list[EntryLine] = field(default_factory=list)
    skill_proposals: list[EntryLine] = field(default_factory=list)
    corrections: CorrectionsSummary = field(default_factory=CorrectionsSummary)
    proposals_made: int = 0
    """Proposals made (or, under dry run, that would be): from corrections and skill-ready entries."""
    weeks: list[WeekStat] = field(default_factory=list)
    extraction: str = "offline template"
    """Who wrote the entries and judged the episodes: "small model NAME" or "offline template"."""
    team: str = ""
    """How the sync with the team went, when one is set ("" without a team)."""

    def moved(self, action: str) -> list[Decision]:
        return [d for d in self.moves if d.action == action]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["lifts"] = [{"entry_id": l.entry_id, "title": l.title, "status": l.status, **l.evaluation.to_dict()}
                         for l in self.lifts]
        data["weeks"] = [{**asdict(w), "stuck_rate": round(w.stuck_rate, 4)} for w in self.weeks]
        return data


JUDGE_SYSTEM = ("You judge a coding-agent session from its events. Answer the question with yes or no first, "
                "then at most one short sentence of reason.")


def episode_judge(small: Any) -> Any:
    """The small model as the episodes' yes/no judge (the heuristic's decision is kept beside it)."""
    return lambda question: small(JUDGE_SYSTEM, question)


def run_learn(conn: sqlite3.Connection, options: LearnOptions) -> LearnReport:
    """Run every stage over the store behind `conn`; returns what was (or would be) done."""
    from once.learn.bank import Bank

    now = time.time() if options.now is None else options.now
    report = LearnReport(dry_run=options.dry_run)
    bank = Bank(conn, embedder=options.embedder, clock=lambda: now)
    since = options.since if options.since is not None else _last_learn(conn)
    if options.since is None and since is not None:
        since -= QUIET_SECONDS  # sessions still open at the last run may have ended since
    report.extraction = f"small model {getattr(options.small, 'model', '')}".strip() if options.small else report.extraction
    judge = episode_judge(options.small) if options.small else None
    from once.learn.pipe_evaluate import evaluate_and_apply
    from once.learn.pipe_extract import extract_and_merge

    with _timed(report, "sessions"):
        sessions = load_sessions(conn, sessions_since(conn, since), now, judge=judge)
    with _timed(report, "detect"):
        found = _detect(sessions, report)
    with _timed(report, "extract"):
        extract_and_merge(conn, bank, found, sessions, options.model, options.tool_version, options.dry_run, report,
                          small=options.small)
    with _timed(report, "evaluate"):
        evaluate_and_apply(conn, bank, options, now, report)
    with _timed(report, "corrections"):
        _corrections(conn, bank, options, sessions, now, report)
    if not options.dry_run:
        from once.store.db import transaction

        with transaction(conn):
            set_meta(conn, LAST_LEARN_KEY, str(now))
    return report


@contextlib.contextmanager
def _timed(report: LearnReport, stage: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        report.seconds[stage] = round(time.perf_counter() - started, 3)


def _corrections(conn: sqlite3.Connection, bank: Any, options: LearnOptions, sessions: Sequence[SessionData],
                 now: float, report: LearnReport) -> None:
    from once.learn.pipe_corrections import memory_conflicts, propose_skills, scan_corrections, skill_candidates

    clock = lambda: now  # noqa: E731 - every proposal of one run carries the run's time
    scan_corrections(conn, [s.repo for s in sessions], options.dry_run, clock, report)
    report.proposals_made += report.corrections.proposed
    fresh = [line.entry_id for line in report.skill_ready]
    ready = skill_candidates(conn, fresh)
    evidence = {l.entry_id: (f"lift {l.evaluation.lift:+.0%} [{l.evaluation.lift_lo:+.0%},"
                             f" {l.evaluation.lift_hi:+.0%}], e-value {l.evaluation.e_help:.0f}") for l in report.lifts}
    propose_skills(conn, bank, ready, options.repo, evidence, options.dry_run, clock, report)
    report.conflicts.extend(memory_conflicts(conn, options.since if options.since is not None else _last_learn(conn)))


def _detect(sessions: Sequence[SessionData], report: LearnReport) -> list[tuple[SessionData, Any]]:
    """Signals and episodes per session; the weekly stuck rate and fixing messages."""
    import datetime as dt

    weeks: dict[str, WeekStat] = {}
    found: list[tuple[SessionData, Any]] = []
    for session in sessions:
        report.sessions += 1
        report.signals += len(session.signals)
        report.episodes += len(session.episodes)
        report.resolved += sum(1 for e in session.episodes if e.status == "resolved")
        day = dt.datetime.fromtimestamp(session.started_at, dt.timezone.utc).date()
        monday = (day - dt.timedelta(days=day.weekday())).isoformat()
        week = weeks.setdefault(monday, WeekStat(monday, 0, 0, 0))
        week.sessions += 1
        week.stuck += 1 if session.episodes else 0
        week.fixing += sum(1 for s in session.signals if s.kind in FIXING_KINDS)
        found.extend((session, episode) for episode in session.episodes)
    report.weeks = [weeks[k] for k in sorted(weeks)]
    return found


def _last_learn(conn: sqlite3.Connection) -> float | None:
    value = get_meta(conn, LAST_LEARN_KEY)
    return None if value is None else float(value)

