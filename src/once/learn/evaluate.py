"""Evaluation of knowledge entries: outcomes, posteriors, and the status moves they justify.

Pure: the caller passes entries, exposures, events and the time; this module returns
evaluations and `Decision`s, and `once.learn.pipeline` writes them. Moves come in two kinds:

- reversible (weight, holdout, probation <-> active, demoted after a probation budget,
  decay, a version change) follow the posterior: cheap to undo when more data arrive;
- irreversible (prune, ready-for-a-skill) wait for the always-valid e-process to cross
  1/alpha, so evaluating after every session does not inflate false decisions.

Demoted entries stay measured. A demotion says "no clear benefit yet", not "harmful", and
an entry that is never retrieved again gathers no evidence and could never come back. So a
demoted entry is still retrieved, with a holdout of at least `demoted_holdout` (1/2: the
most information per session for a two-arm comparison, and at most half the sessions see
an entry under doubt), and it ranks below live entries (its weight is halved). It is pruned
once the harm e-process crosses 1/alpha, and goes back to probation once P(beats) reaches
`promote_prob`; while its evidence is inconclusive it stays demoted and measured. Holding
it out always was the alternative, and was rejected: it gathers no injected-arm evidence.

After a model or tool version change an entry that helped before must show it still does
within `change_budget` sessions (its window restarts at the change, held out at
`change_holdout`), or it is demoted: a stale lesson is retired in tens of sessions instead
of a whole probation budget. The move is reversible (it is still measured, see above), and
the e-process stays valid under the higher holdout, which gathers evidence faster.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from once.learn.bank import KnowledgeEntry
from once.learn.stats import BetaPrior, e_process, fit_prior, lift_interval, prob_greater

DAY = 86_400.0
_FAILED_RUN = frozenset({"error", "max_turns", "max_cost"})
_EVALUATED = ("probation", "active", "demoted")


@dataclass(frozen=True)
class Policy:
    """The knobs of evaluation (config keys `learn.*`)."""

    alpha: float = 0.05
    """Irreversible moves wait until an e-process reaches 1/alpha."""
    promote_prob: float = 0.9
    """P(inject beats holdout) at which a probation entry becomes active."""
    keep_active_prob: float = 0.5
    """Below this an active entry goes back to probation."""
    doubt_prob: float = 0.3
    """Below this an entry is held out more (doubt_holdout): less harm while it is measured."""
    doubt_holdout: float = 0.5
    change_holdout: float = 0.5
    """Holdout of entries sent back to probation by a model or tool version change."""
    min_exposures: int = 20
    """Sessions with a known outcome before the posterior may move an entry."""
    min_per_arm: int = 3
    probation_budget: int = 150
    """Sessions on probation without clear benefit after which an entry is demoted."""
    change_budget: int = 30
    """Sessions after a version change within which an entry must show it still helps."""
    demoted_holdout: float = 0.5
    """Demoted entries are still retrieved (to be measured), held out at least this often."""
    demoted_weight: float = 0.5
    """Demoted entries' ranking weight is multiplied by this: live entries come first."""
    decay_days: float = 60.0
    """Entries not retrieved for this long are demoted; weight halves every decay_days."""
    level: float = 0.9
    """Credible level of the reported lift intervals."""


@dataclass(frozen=True)
class ExposureTable:
    """One row per (entry, session) with a known outcome: the session's first exposure."""

    entry: np.ndarray  # int: index into the evaluated entries
    injected: np.ndarray  # bool
    outcome: np.ndarray  # 0/1
    holdout: np.ndarray  # the holdout probability the draw used
    ts: np.ndarray  # float; rows are in time order


@dataclass(frozen=True)
class EntryEval:
    """The measured effect of one entry since its evaluation window opened."""

    entry_id: str
    n_injected: int
    s_injected: int
    n_holdout: int
    s_holdout: int
    p_beats: float
    lift: float
    lift_lo: float
    lift_hi: float
    e_harm: float
    e_help: float

    @property
    def n(self) -> int:
        return self.n_injected + self.n_holdout

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class Decision:
    """A change to one entry: a status move (to_status != from_status) and/or new weight/holdout."""

    entry_id: str
    action: str  # promote, demote, restore, prune, probation, version_change, decay, reweight
    from_status: str
    to_status: str
    reason: str
    weight: float | None = None
    holdout: float | None = None
    model: str | None = None
    tool_version: str | None = None

    @property
    def moves(self) -> bool:
        return self.from_status != self.to_status

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


# -- outcomes -----------------------------------------------------------------------------


def outcome_for(exposure_ts: float, events: Sequence[Mapping[str, Any]], stuck_starts: Sequence[float]) -> int | None:
    """1, 0 or None (not known yet) for an exposure at `exposure_ts` in a session.

    Success: the session went on without a new stuck episode and ended with checks passing
    or positive feedback. A new stuck episode, thumbs-down, failing final checks or a run
    that ended in error is a failure. No evidence either way, or a session still running
    its last run, is unknown.
    """
    if any(start > exposure_ts for start in stuck_starts):
        return 0
    later = [e for e in events if float(e.get("ts", 0.0)) >= exposure_ts]
    finished = [e for e in later if e.get("type") == "run_finished"]
    ratings = [e.get("rating") for e in later if e.get("type") == "feedback"]
    if "down" in ratings:
        return 0
    if not finished:
        return None
    tests = [bool(e.get("passed")) for e in later if e.get("type") == "test_result"]
    if (tests and tests[-1]) or "up" in ratings:
        return 1
    if tests or finished[-1].get("status") in _FAILED_RUN:
        return 0
    return None


# -- evaluation ---------------------------------------------------------------------------


def evaluate_entries(entry_ids: Sequence[str], table: ExposureTable, policy: Policy) -> list[EntryEval]:
    """Posteriors (shrunk toward the population), P(beats), lift intervals and e-values per entry."""
    count = len(entry_ids)
    idx, inj, y = table.entry.astype(np.int64), table.injected.astype(bool), table.outcome.astype(float)
    n_i = np.bincount(idx[inj], minlength=count)
    s_i = np.bincount(idx[inj], weights=y[inj], minlength=count)
    n_h = np.bincount(idx[~inj], minlength=count)
    s_h = np.bincount(idx[~inj], weights=y[~inj], minlength=count)
    # Both arms are shrunk toward one population prior (every entry, both arms). A prior per
    # arm would carry the other entries' lift into each entry's injected arm (when most
    # entries help, a useless one would look helpful); a shared prior says "no effect" and
    # shrinks the lift toward none, so P(beats) of an entry without effect stays near 1/2
    # and repeated looks promote fewer of them. (A prior centered on the baseline with a
    # strength fitted to the injected arms' spread was tried: weak when most entries help,
    # it let stale entries be promoted again by chance in the learning simulation.)
    prior_i, prior_h = population_priors(table, count)
    a_i, b_i = prior_i.alpha + s_i, prior_i.beta + n_i - s_i
    a_h, b_h = prior_h.alpha + s_h, prior_h.beta + n_h - s_h
    p_beats = np.full(count, 0.5)
    seen = (n_i + n_h) > 0
    if seen.any():
        p_beats[seen] = prob_greater(a_i[seen], b_i[seen], a_h[seen], b_h[seen])
    lift, lo, hi = lift_interval(a_i, b_i, a_h, b_h, policy.level)
    harm = e_process(idx, inj, y, table.holdout, count, direction="harm")
    help_ = e_process(idx, inj, y, table.holdout, count, direction="help")
    return [
        EntryEval(entry_ids[k], int(n_i[k]), int(s_i[k]), int(n_h[k]), int(s_h[k]), float(p_beats[k]),
                  float(lift[k]), float(lo[k]), float(hi[k]), float(harm.peak[k]), float(help_.peak[k]))
        for k in range(count)
    ]


def population_priors(table: ExposureTable, count: int) -> tuple[BetaPrior, BetaPrior]:
    """The empirical-Bayes priors (injected, holdout) the posteriors were shrunk toward: one
    prior fitted to every (entry, arm)'s success rate, the same for both arms."""
    successes, trials = [], []
    for arm in (table.injected.astype(bool), ~table.injected.astype(bool)):
        idx = table.entry.astype(np.int64)[arm]
        successes.append(np.bincount(idx, weights=table.outcome.astype(float)[arm], minlength=count))
        trials.append(np.bincount(idx, minlength=count))
    prior = fit_prior(np.concatenate(successes), np.concatenate(trials))
    return prior, prior


def _fmt(ev: EntryEval) -> str:
    return (f"lift {ev.lift:+.0%} [{ev.lift_lo:+.0%}, {ev.lift_hi:+.0%}], P(beats holdout) {ev.p_beats:.2f},"
            f" {ev.n_injected} injected / {ev.n_holdout} held out")


def decide(entry: KnowledgeEntry, ev: EntryEval, policy: Policy, now: float, *,
           changed: bool = False) -> Decision | None:
    """The move (if any) this entry's evaluation justifies; weight and holdout always follow it.

    `changed`: the entry's window opened at a model or tool version change."""
    status = entry.status
    if status not in _EVALUATED:
        return None
    bar = 1.0 / policy.alpha
    if ev.e_harm >= bar:
        return Decision(entry.id, "prune", status, "pruned",
                        f"injecting it made sessions worse: {_fmt(ev)}, e-value {ev.e_harm:.0f} >= {bar:.0f}",
                        weight=0.0)
    weight = round(ev.p_beats * decay_factor(entry, now, policy), 4)
    holdout = entry.holdout
    if ev.n >= policy.min_exposures and ev.p_beats < policy.doubt_prob:
        holdout = max(holdout, policy.doubt_holdout)
    move = _move(status, ev, policy, changed)
    if move is not None:
        action, to_status, reason = move
        weight = round(weight * policy.demoted_weight, 4) if to_status == "demoted" else weight
        return Decision(entry.id, action, status, to_status, reason, weight=weight,
                        holdout=_status_holdout(to_status, holdout, policy))
    if status == "demoted":
        weight = round(weight * policy.demoted_weight, 4)
        holdout = max(holdout, policy.demoted_holdout)
    if weight != entry.weight or holdout != entry.holdout:
        return Decision(entry.id, "reweight", status, status, "", weight=weight, holdout=holdout)
    return None


def _move(status: str, ev: EntryEval, policy: Policy, changed: bool) -> tuple[str, str, str] | None:
    """(action, new status, why) of a reversible move, or None."""
    enough = (ev.n >= policy.min_exposures and ev.n_injected >= policy.min_per_arm
              and ev.n_holdout >= policy.min_per_arm)
    if not enough:
        return None
    helps = ev.p_beats >= policy.promote_prob
    budget = min(policy.probation_budget, policy.change_budget) if changed else policy.probation_budget
    if status == "probation" and helps:
        return "promote", "active", f"helps: {_fmt(ev)}"
    if status == "probation" and ev.n >= budget:
        since = " since the version change" if changed else ""
        return "demote", "demoted", f"no clear benefit after {ev.n} sessions{since}: {_fmt(ev)}"
    if status == "active" and ev.p_beats < policy.keep_active_prob:
        return "probation", "probation", f"benefit no longer clear: {_fmt(ev)}"
    if status == "demoted" and helps:
        return "restore", "probation", f"helps after all (measured while demoted): {_fmt(ev)}"
    return None


def _status_holdout(status: str, current: float, policy: Policy) -> float:
    from once.learn.bank import DEFAULT_HOLDOUT, HOLDOUT_FLOOR

    if status == "active":
        return DEFAULT_HOLDOUT["active"]  # proven: inject more, but never below the floor
    if status == "demoted":
        return max(HOLDOUT_FLOOR, current, policy.demoted_holdout)
    return max(HOLDOUT_FLOOR, current, DEFAULT_HOLDOUT.get(status, current))


def skill_ready(entry: KnowledgeEntry, ev: EntryEval, policy: Policy) -> bool:
    """An active entry whose benefit the e-process has established (an irreversible promotion)."""
    return entry.status == "active" and ev.e_help >= 1.0 / policy.alpha


# -- version change and decay ----------------------------------------------------------------


def version_changes(entries: Sequence[KnowledgeEntry], model: str, tool_version: str,
                    policy: Policy) -> list[Decision]:
    """Entries learned under another model or tool version go back to probation, held out more."""
    out = []
    for entry in entries:
        if entry.status not in ("probation", "active"):
            continue  # a demoted entry is measured anew anyway; it comes back only by helping
        changed = []
        if entry.model and model and entry.model != model:
            changed.append(f"model {entry.model} -> {model}")
        if entry.tool_version and tool_version and entry.tool_version != tool_version:
            changed.append(f"tool version {entry.tool_version} -> {tool_version}")
        if changed:
            out.append(Decision(entry.id, "version_change", entry.status, "probation",
                                "learned under another version: " + ", ".join(changed),
                                holdout=max(entry.holdout, policy.change_holdout),
                                model=model or entry.model, tool_version=tool_version or entry.tool_version))
    return out


def idle_days(entry: KnowledgeEntry, now: float) -> float:
    last = entry.last_retrieved_at if entry.last_retrieved_at is not None else entry.created_at
    return max(0.0, (now - last) / DAY)


def decay_factor(entry: KnowledgeEntry, now: float, policy: Policy) -> float:
    """Weight multiplier: halves every decay_days without a retrieval."""
    return float(0.5 ** (idle_days(entry, now) / policy.decay_days))


def decay_decisions(entries: Sequence[KnowledgeEntry], now: float, policy: Policy) -> list[Decision]:
    """Live entries not retrieved for decay_days are demoted (reversible: a user can restore them)."""
    out = []
    for entry in entries:
        days = idle_days(entry, now)
        if entry.status in ("probation", "active") and days >= policy.decay_days:
            out.append(Decision(entry.id, "decay", entry.status, "demoted",
                                f"not retrieved in {days:.0f} days (decay after {policy.decay_days:g})",
                                weight=round(decay_factor(entry, now, policy) * policy.demoted_weight, 4),
                                holdout=max(entry.holdout, policy.demoted_holdout)))
    return out
