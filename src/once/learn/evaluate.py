"""Evaluation of knowledge entries: outcomes, posteriors, e-processes, and the moves they justify.

Pure: the caller passes entries, exposures, events and the time; this module returns
evaluations and `Decision`s, and `once.learn.pipeline` writes them. Every move rests on
always-valid evidence or a stated error bound, so running `agent learn` after every session
inflates nothing:

- irreversible moves (prune, ready-for-a-skill) are decided across the whole bank with e-BH
  at level `alpha` on the e-processes' values at this look (each an e-value: the look is a
  stopping time); entries already moved keep the e-value they were moved with. The expected
  share of wrong prunes among all prunes stays at most `alpha` however many entries there are;
- reversible moves use one entry's e-process against a stated per-entry bound: promote (or
  restore) once the help e-process reaches 1/`promote_alpha` (an entry without effect is ever
  promoted with probability at most `promote_alpha`), demote once the harm e-process reaches
  1/`doubt_alpha`. Weight and holdout follow the posterior (ranking only, never a status);
- the e-processes read rows in the order their outcomes became known (an outcome that
  arrives late is appended, never inserted into the past), and each model keeps its own
  plug-in estimates, so the evidence is valid across model changes and alternating models;
- an active entry goes back to probation when the *current* model, after `change_budget`
  sessions of its own, does not show the benefit (P(beats) below `keep_active_prob`): a
  lesson gone stale under a new model is retired without discarding what the old one showed.

Demoted entries stay measured: retrieved below live ones, held out at least half the time,
restored by the help e-process, pruned by e-BH. Holdout follows the evidence at each look: an
entry in doubt, or past `probation_budget` sessions without proof and leaning to harm, is held
out more (`doubt_holdout`: less exposure while it is measured) but keeps its status, and is
shown as before once the evidence no longer leans to harm: a small real benefit takes many
sessions to show.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from once.learn.bank import KnowledgeEntry
from once.learn.stats import BetaPrior, e_bh, e_process, fit_prior, lift_interval, prob_greater
from once.words import plural

DAY = 86_400.0
_FAILED_RUN = frozenset({"error", "max_turns", "max_cost"})
_EVALUATED = ("probation", "active", "demoted")


@dataclass(frozen=True)
class Policy:
    """The knobs of evaluation (config keys `learn.*`)."""

    alpha: float = 0.05
    """False-discovery level of irreversible moves across the bank (e-BH)."""
    promote_alpha: float = 0.1
    """An entry is promoted (or restored) once its help e-process reaches 1/promote_alpha."""
    doubt_alpha: float = 0.1
    """An entry is demoted once its harm e-process reaches 1/doubt_alpha: one without effect is ever
    demoted with probability at most doubt_alpha (0.2 demoted one helpful entry in seven in the
    simulator, whose helpful entries are often without effect beside a sibling)."""
    promote_prob: float = 0.9
    """P(inject beats holdout) reported as "helps" (the weight follows P(beats))."""
    keep_active_prob: float = 0.5
    """Below this, on the current model's own sessions, an active entry goes back to probation."""
    doubt_prob: float = 0.3
    """Below this an entry is held out more (doubt_holdout): less harm while it is measured."""
    doubt_release_prob: float = 0.5
    """An entry held out more for doubt is held out as before once P(beats) is back to this."""
    doubt_holdout: float = 0.7
    """Holdout of an entry in doubt: shown in 3 sessions of 10 while it is measured (0.5 gave 0.58
    of the oracle's reduction over seeds 1-10 of the simulator, 0.7 gave 0.60 and held the
    least of the ten above half)."""
    change_holdout: float = 0.5
    """Holdout of entries sent back to probation by a model or tool version change."""
    min_exposures: int = 20
    """Sessions with a known outcome before the posterior may move an entry."""
    min_per_arm: int = 3
    probation_budget: int = 150
    """Sessions on probation without clear benefit after which an entry that leans to harm is held out more."""
    change_budget: int = 30
    """Sessions of a new model (or after a tool version change) within which an entry must show
    it still helps."""
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
    ts: np.ndarray  # float; rows are in the order their outcomes became known
    model: np.ndarray | None = None  # int: index into `models`, the model of the row's session
    models: tuple[str, ...] = ()


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
    """The harm e-process now (an e-value at this look)."""
    e_help: float
    n_model: int = 0
    """Sessions of the current model with a known outcome."""
    p_beats_model: float = 0.5
    """P(inject beats holdout) on the current model's sessions alone."""

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


def evaluate_entries(entry_ids: Sequence[str], table: ExposureTable, policy: Policy,
                     model: str = "") -> list[EntryEval]:
    """Posteriors (shrunk toward the population), P(beats), lift intervals and e-values per entry;
    `model`'s own P(beats) beside them."""
    count = len(entry_ids)
    idx, inj, y = table.entry.astype(np.int64), table.injected.astype(bool), table.outcome.astype(float)
    n_i, s_i, n_h, s_h = _arm_counts(idx, inj, y, count)
    # Both arms are shrunk toward one population prior (every entry, both arms). A prior per
    # arm would carry the other entries' lift into each entry's injected arm (when most
    # entries help, a useless one would look helpful); a shared prior says "no effect" and
    # shrinks the lift toward none, so P(beats) of an entry without effect stays near 1/2.
    prior_i, prior_h = population_priors(table, count)
    p_beats = _p_beats(prior_i, prior_h, n_i, s_i, n_h, s_h)
    a_i, b_i = prior_i.alpha + s_i, prior_i.beta + n_i - s_i
    a_h, b_h = prior_h.alpha + s_h, prior_h.beta + n_h - s_h
    lift, lo, hi = lift_interval(a_i, b_i, a_h, b_h, policy.level)
    strata = table.model if table.model is not None and len(table.model) == len(idx) else None
    harm = e_process(idx, inj, y, table.holdout, count, direction="harm", strata=strata)
    help_ = e_process(idx, inj, y, table.holdout, count, direction="help", strata=strata)
    n_model, p_model = np.zeros(count, dtype=np.int64), np.full(count, 0.5)
    if strata is not None and model in table.models:
        mine = strata == table.models.index(model)
        counts = _arm_counts(idx[mine], inj[mine], y[mine], count)
        n_model = (counts[0] + counts[2]).astype(np.int64)
        p_model = _p_beats(prior_i, prior_h, *counts)
    return [
        EntryEval(entry_ids[k], int(n_i[k]), int(s_i[k]), int(n_h[k]), int(s_h[k]), float(p_beats[k]),
                  float(lift[k]), float(lo[k]), float(hi[k]), float(harm.current[k]), float(help_.current[k]),
                  int(n_model[k]), float(p_model[k]))
        for k in range(count)
    ]


def _arm_counts(idx: np.ndarray, inj: np.ndarray, y: np.ndarray, count: int) -> tuple[np.ndarray, ...]:
    """(trials injected, successes injected, trials held out, successes held out) per entry."""
    return (np.bincount(idx[inj], minlength=count), np.bincount(idx[inj], weights=y[inj], minlength=count),
            np.bincount(idx[~inj], minlength=count), np.bincount(idx[~inj], weights=y[~inj], minlength=count))


def _p_beats(prior_i: BetaPrior, prior_h: BetaPrior, n_i: np.ndarray, s_i: np.ndarray, n_h: np.ndarray,
             s_h: np.ndarray) -> np.ndarray:
    p_beats = np.full(len(n_i), 0.5)
    seen = (n_i + n_h) > 0
    if seen.any():
        p_beats[seen] = prob_greater(prior_i.alpha + s_i[seen], prior_i.beta + (n_i - s_i)[seen],
                                     prior_h.alpha + s_h[seen], prior_h.beta + (n_h - s_h)[seen])
    return p_beats


def bank_rejections(current: Mapping[str, float], earlier: Mapping[str, float], alpha: float) -> set[str]:
    """Entries (of `current`) that e-BH moves now, at level `alpha`, with the entries moved at
    earlier looks counted among the bank's hypotheses at the e-value they were moved with."""
    ids = [*current, *earlier]
    values = np.array([*current.values(), *earlier.values()], dtype=float)
    rejected = e_bh(values, alpha)
    return {entry_id for entry_id, hit in zip(ids, rejected) if hit and entry_id in current}


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
           changed: bool = False, prune: bool = False) -> Decision | None:
    """The move (if any) this entry's evaluation justifies; weight and holdout always follow it.

    `changed`: the entry's window opened at a tool version change. `prune`: e-BH across the bank
    rejected "no harm" for this entry (see `bank_rejections`)."""
    status = entry.status
    if status not in _EVALUATED:
        return None
    if prune:
        return Decision(entry.id, "prune", status, "pruned",
                        f"injecting it made sessions worse: {_fmt(ev)}, harm e-value {ev.e_harm:.0f}"
                        f" (e-BH across the bank at {policy.alpha:g})", weight=0.0)
    weight = round(ev.p_beats * decay_factor(entry, now, policy), 4)
    holdout = _evidence_holdout(entry, ev, policy, changed)
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


def _evidence_holdout(entry: KnowledgeEntry, ev: EntryEval, policy: Policy, changed: bool) -> float:
    """The holdout this evaluation sets, from the evidence now (not a ratchet: an entry doubted
    by chance is shown as often as before once the doubt has gone, or it loses its benefit for
    good). More while a version change or a return from a prune is measured; more while in
    doubt (P(beats) below doubt_prob, until it is back to doubt_release_prob); more for an
    entry past its probation budget that leans to harm (measured faster, shown less; not demoted)."""
    from once.learn.bank import DEFAULT_HOLDOUT, HOLDOUT_FLOOR

    holdout = DEFAULT_HOLDOUT.get(entry.status, DEFAULT_HOLDOUT["probation"])
    if changed:
        holdout = max(holdout, policy.change_holdout)
    leaning_harm = ev.p_beats < policy.doubt_release_prob
    doubted = ev.n >= policy.min_exposures and (
        ev.p_beats < policy.doubt_prob or (leaning_harm and entry.holdout >= policy.doubt_holdout))
    unproven = ev.e_help < 1.0 / policy.promote_alpha
    over_budget = entry.status == "probation" and ev.n >= policy.probation_budget and unproven and leaning_harm
    if doubted or over_budget:
        holdout = max(holdout, policy.doubt_holdout)
    return max(HOLDOUT_FLOOR, holdout)


def _move(status: str, ev: EntryEval, policy: Policy, changed: bool) -> tuple[str, str, str] | None:
    """(action, new status, why) of a reversible move, or None."""
    both_arms = ev.n_injected >= policy.min_per_arm and ev.n_holdout >= policy.min_per_arm
    # Not on the model in use once its own sessions say otherwise: the pooled evidence of another
    # model would promote the entry, and its own send it back, at every look.
    unshown_here = ev.n_model >= policy.change_budget and ev.p_beats_model < policy.keep_active_prob
    helps = both_arms and ev.e_help >= 1.0 / policy.promote_alpha and not unshown_here
    if status in ("probation", "active") and ev.e_harm >= 1.0 / policy.doubt_alpha:
        return "demote", "demoted", (f"evidence of harm: {_fmt(ev)}, harm e-value {ev.e_harm:.1f}"
                                     f" >= {1.0 / policy.doubt_alpha:g}")
    if status == "probation" and changed and ev.n >= policy.change_budget and ev.p_beats < policy.promote_prob \
            and not helps:
        return "demote", "demoted", f"no clear benefit after {plural(ev.n, 'session')} since the version change: {_fmt(ev)}"
    if status == "probation" and helps:
        return "promote", "active", f"helps: {_fmt(ev)}, help e-value {ev.e_help:.0f} >= {1.0 / policy.promote_alpha:g}"
    if status == "active" and ev.n_model >= policy.change_budget and ev.p_beats_model < policy.keep_active_prob:
        return "probation", "probation", (f"benefit not shown on the current model: P(beats) {ev.p_beats_model:.2f}"
                                          f" over {ev.n_model} of its sessions ({_fmt(ev)} on all)")
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


# -- version change and decay ----------------------------------------------------------------


RELEARN_EPISODES = 5
"""New episodes resolved by a pruned entry's lesson after which it is measured again."""


def relearned(pruned: Mapping[str, int], policy: Policy) -> list[Decision]:
    """Pruned entries whose lesson users went on to teach again (`pruned`: entry id -> episodes
    resolved with it since its prune) come back to probation, held out half the time, with a
    fresh evaluation window; the prune stays in their history (a wrong prune is not final)."""
    return [Decision(entry_id, "relearn", "pruned", "probation",
                     f"learned again from {plural(count, 'session')} since it was pruned: measured anew",
                     holdout=policy.change_holdout)
            for entry_id, count in sorted(pruned.items()) if count >= RELEARN_EPISODES]


def version_changes(entries: Sequence[KnowledgeEntry], tool_version: str, policy: Policy) -> list[Decision]:
    """Entries learned under another version of once go back to probation, held out more (its
    prompts and tools changed under every lesson). A model change is not one: each model keeps
    its own evidence (see `evaluate_entries`), so alternating models send nothing back."""
    out = []
    for entry in entries:
        if entry.status not in ("probation", "active"):
            continue  # a demoted entry is measured anew anyway; it comes back only by helping
        if entry.tool_version and tool_version and entry.tool_version != tool_version:
            out.append(Decision(entry.id, "version_change", entry.status, "probation",
                                f"learned under another version: tool version {entry.tool_version} -> {tool_version}",
                                holdout=max(entry.holdout, policy.change_holdout),
                                tool_version=tool_version or entry.tool_version))
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
