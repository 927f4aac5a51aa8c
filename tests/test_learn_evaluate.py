"""Outcomes, per-entry evaluation and the status moves it justifies (pure parts)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from once.learn.bank import KnowledgeEntry
from once.learn.evaluate import (
    DAY, ExposureTable, Policy, bank_rejections, decay_decisions, decay_factor, decide, evaluate_entries, outcome_for,
    population_priors, version_changes,
)
from once.learn.stats import e_process, fit_prior, prob_greater

NOW = 1_700_000_000.0


def _entry(entry_id: str = "k1", status: str = "probation", **kw: object) -> KnowledgeEntry:
    base = dict(title="t", description="d", knowledge="k", scope="global", status=status, id=entry_id,
                created_at=NOW - DAY, updated_at=NOW - DAY, last_retrieved_at=NOW - DAY, model="m1",
                tool_version="0.1", holdout=0.2, weight=1.0)
    base.update(kw)
    return KnowledgeEntry(**base)  # type: ignore[arg-type]


# -- outcomes ---------------------------------------------------------------------------------


def _ev(kind: str, ts: float, **fields: object) -> dict[str, object]:
    return {"type": kind, "ts": ts, "run_id": "r1", **fields}


def test_outcome_success_when_checks_pass_and_no_new_episode() -> None:
    events = [_ev("test_result", 5, passed=False), _ev("test_result", 12, passed=True), _ev("run_finished", 13, status="done")]
    assert outcome_for(10.0, events, stuck_starts=[3.0]) == 1  # the episode before the exposure does not count


def test_outcome_failure_cases() -> None:
    done = _ev("run_finished", 20, status="done")
    assert outcome_for(10.0, [_ev("test_result", 12, passed=True), done], stuck_starts=[15.0]) == 0
    assert outcome_for(10.0, [_ev("feedback", 12, rating="down"), done], stuck_starts=[]) == 0
    assert outcome_for(10.0, [_ev("test_result", 12, passed=False), done], stuck_starts=[]) == 0
    assert outcome_for(10.0, [_ev("run_finished", 20, status="error")], stuck_starts=[]) == 0


def test_outcome_positive_feedback_and_unknowns() -> None:
    assert outcome_for(10.0, [_ev("feedback", 12, rating="up"), _ev("run_finished", 20, status="done")], []) == 1
    # Still running (no run_finished after the exposure), or no evidence at all: unknown.
    assert outcome_for(10.0, [_ev("test_result", 12, passed=True)], []) is None
    assert outcome_for(10.0, [_ev("run_finished", 20, status="done")], []) is None
    # Evidence from before the exposure says nothing about it.
    assert outcome_for(10.0, [_ev("test_result", 5, passed=True), _ev("run_finished", 20, status="done")], []) is None


# -- evaluation -------------------------------------------------------------------------------


def _table(rows: list[tuple[int, bool, int, float]]) -> ExposureTable:
    entry, inj, y, h = (np.array(col) for col in zip(*rows))
    return ExposureTable(entry=entry, injected=inj, outcome=y, holdout=h, ts=np.arange(len(rows), dtype=float))


def _simulated(rng: np.random.Generator, rates: list[tuple[float, float]], n: int, h: float = 0.3) -> ExposureTable:
    rows = []
    for _ in range(n):
        for k, (p_inj, p_hold) in enumerate(rates):
            injected = bool(rng.random() > h)
            rows.append((k, injected, int(rng.random() < (p_inj if injected else p_hold)), h))
    return _table(rows)


def test_evaluate_entries_counts_posteriors_and_e_values() -> None:
    table = _simulated(np.random.default_rng(5), [(0.9, 0.4), (0.2, 0.7), (0.6, 0.6)], 120)
    evals = evaluate_entries(["good", "bad", "same"], table, Policy())
    good, bad, same = evals
    # Counts equal a direct tally.
    mask = (table.entry == 1) & table.injected
    assert bad.n_injected == int(mask.sum()) and bad.s_injected == int(table.outcome[mask].sum())
    # P(beats) is the Beta comparison under the population prior.
    # Both arms shrunk toward one population prior (empirical Bayes over every entry and arm).
    pooled = fit_prior(np.array([e.s_injected for e in evals] + [e.s_holdout for e in evals]),
                       np.array([e.n_injected for e in evals] + [e.n_holdout for e in evals]))
    p_i = p_h = pooled
    assert population_priors(table, 3) == (p_i, p_h)
    expected = prob_greater(p_i.alpha + good.s_injected, p_i.beta + good.n_injected - good.s_injected,
                            p_h.alpha + good.s_holdout, p_h.beta + good.n_holdout - good.s_holdout)[0]
    assert good.p_beats == pytest.approx(expected)
    assert good.p_beats > 0.99 and bad.p_beats < 0.01
    assert good.lift_lo < good.lift < good.lift_hi and good.lift_lo > 0
    assert bad.lift_hi < 0
    harm = e_process(table.entry, table.injected, table.outcome, table.holdout, 3, direction="harm")
    assert bad.e_harm == pytest.approx(harm.current[1]) and bad.e_harm > 20
    assert good.e_harm < 20 and good.e_help > 20


def test_an_entry_without_exposures_is_neutral() -> None:
    table = _table([(0, True, 1, 0.2)])
    evals = evaluate_entries(["seen", "unseen"], table, Policy())
    assert evals[1].n == 0 and evals[1].p_beats == 0.5 and evals[1].e_harm == 1.0


def _eval(**kw: object):  # an EntryEval with the given fields
    from once.learn.evaluate import EntryEval

    base = dict(entry_id="k1", n_injected=40, s_injected=30, n_holdout=10, s_holdout=4, p_beats=0.97,
                lift=0.3, lift_lo=0.1, lift_hi=0.5, e_harm=1.0, e_help=3.0)
    base.update(kw)
    return EntryEval(**base)  # type: ignore[arg-type]


def test_decisions() -> None:
    policy = Policy()
    promote = decide(_entry(), _eval(e_help=12.0), policy, NOW)
    assert promote is not None and (promote.action, promote.to_status) == ("promote", "active")
    assert promote.holdout == pytest.approx(0.1) and "help e-value 12 >= 10" in promote.reason
    # A high posterior is not enough: reversible moves wait for always-valid evidence.
    assert decide(_entry(), _eval(p_beats=0.99, e_help=9.0), policy, NOW).action == "reweight"
    prune = decide(_entry(status="active"), _eval(p_beats=0.01, lift=-0.3, e_harm=25.0), policy, NOW, prune=True)
    assert prune is not None and prune.to_status == "pruned" and "harm e-value 25" in prune.reason
    assert "e-BH" in prune.reason
    # Harm evidence short of a prune demotes (reversible) at 1/doubt_alpha.
    doubted = decide(_entry(status="active"), _eval(p_beats=0.1, e_harm=11.0), policy, NOW)
    assert doubted is not None and (doubted.action, doubted.to_status) == ("demote", "demoted")
    assert "harm e-value 11.0 >= 10" in doubted.reason
    # Short of it (an entry without effect reaches 10 at most 10% of the time): no demotion yet.
    assert decide(_entry(status="active"), _eval(p_beats=0.1, e_harm=6.0), policy, NOW).to_status == "active"
    # Not enough holdout sessions: no move, only a new weight.
    few = decide(_entry(), _eval(n_holdout=2, s_holdout=1, e_help=50.0), policy, NOW)
    assert few is not None and few.action == "reweight" and few.to_status == "probation"
    # Past the probation budget without proof and leaning to harm: held out more, not demoted.
    budget = decide(_entry(), _eval(n_injected=120, n_holdout=40, p_beats=0.45), policy, NOW)
    assert budget is not None and budget.to_status == "probation" and budget.holdout == policy.doubt_holdout
    # Leaning to help, it keeps its exposure: a small benefit takes long to prove, and held out
    # half the time it would give up half of it meanwhile.
    leaning = decide(_entry(), _eval(n_injected=120, n_holdout=40, p_beats=0.6), policy, NOW)
    assert leaning is None or leaning.holdout == pytest.approx(0.2)
    # Active, but the current model's own sessions do not show the benefit: back to probation.
    stale = decide(_entry(status="active", holdout=0.1), _eval(e_help=40.0, n_model=35, p_beats_model=0.3),
                   policy, NOW)
    assert stale is not None and stale.to_status == "probation" and "current model" in stale.reason
    assert stale.holdout == pytest.approx(0.2)
    early = decide(_entry(status="active", holdout=0.1), _eval(n_model=10, p_beats_model=0.3), policy, NOW)
    assert early is None or early.to_status == "active"
    doubt = decide(_entry(), _eval(p_beats=0.2), policy, NOW)
    assert doubt is not None and doubt.holdout == pytest.approx(policy.doubt_holdout)
    assert decide(_entry(status="pruned"), _eval(e_harm=100.0), policy, NOW, prune=True) is None
    assert decide(_entry(status="candidate"), _eval(), policy, NOW) is None


def test_a_doubt_lasts_while_the_evidence_leans_to_harm_and_no_longer() -> None:
    """Holdout follows the evidence, not a ratchet: a helpful entry doubted by chance early
    would otherwise stay held out half the time and give up half its benefit for good."""
    policy = Policy()
    doubted = decide(_entry(), _eval(p_beats=0.2), policy, NOW)
    assert doubted is not None and doubted.holdout == pytest.approx(policy.doubt_holdout)
    held = _entry(holdout=policy.doubt_holdout)
    # Recovering but still leaning to harm: still held out more (no flapping at the bar).
    still = decide(held, _eval(p_beats=0.4), policy, NOW)
    assert still is None or still.holdout == pytest.approx(policy.doubt_holdout)
    # Back past doubt_release_prob: shown as a probation entry is.
    released = decide(held, _eval(p_beats=0.55), policy, NOW)
    assert released is not None and released.holdout == pytest.approx(0.2)
    # A version change's wider holdout is kept while that change is measured, doubt or not.
    changed = decide(held, _eval(p_beats=0.55, n_injected=6, n_holdout=4), policy, NOW, changed=True)
    assert changed is not None and changed.holdout == pytest.approx(policy.change_holdout)
    # Demoted entries stay held out at least half the time whatever their evidence.
    demoted = decide(_entry(status="demoted", holdout=0.5), _eval(p_beats=0.8), policy, NOW)
    assert demoted is None or demoted.holdout >= policy.demoted_holdout


def test_bank_rejections_count_earlier_moves_among_the_hypotheses() -> None:
    # Alone, 30 is short of K / alpha = 2 / 0.05 = 40; beside an earlier prune (k = 2: 20) it is enough.
    assert bank_rejections({"a": 30.0, "b": 1.0}, {}, 0.05) == set()
    assert bank_rejections({"a": 30.0}, {"old": 1e308}, 0.05) == {"a"}
    assert bank_rejections({"a": 30.0, **{f"n{i}": 1.0 for i in range(20)}}, {"old": 1e308}, 0.05) == set()
    assert "old" not in bank_rejections({"a": 1.0}, {"old": 1e308}, 0.05)


# -- version change and decay ------------------------------------------------------------------


def test_a_tool_version_change_sends_entries_back_to_probation_a_model_change_does_not() -> None:
    entries = [_entry("a", status="active", holdout=0.1), _entry("b", model="m2"), _entry("c", status="pruned"),
               _entry("d", tool_version="0.2"), _entry("e", model="")]
    moves = {d.entry_id: d for d in version_changes(entries, "0.2", Policy(change_holdout=0.5))}
    assert set(moves) == {"a", "b", "e"}  # d: learned under 0.2 already; c: pruned stays
    assert moves["a"].to_status == "probation" and moves["a"].holdout == 0.5 and moves["a"].tool_version == "0.2"
    assert moves["a"].reason == "learned under another version: tool version 0.1 -> 0.2"
    assert [d.entry_id for d in version_changes(entries, "0.1", Policy())] == ["d"]


def test_each_model_keeps_its_own_evidence() -> None:
    rng = np.random.default_rng(9)
    rows, models = [], []
    for k in range(600):
        model = k % 2  # alternating models; the entry helps under model 0 only
        injected = bool(rng.random() > 0.3)
        y = int(rng.random() < (0.8 if injected and model == 0 else 0.4))
        rows.append((0, injected, y, 0.3))
        models.append(model)
    table = _table(rows)
    table = ExposureTable(table.entry, table.injected, table.outcome, table.holdout, table.ts,
                          model=np.array(models), models=("m-a", "m-b"))
    [on_a] = evaluate_entries(["k"], table, Policy(), "m-a")
    [on_b] = evaluate_entries(["k"], table, Policy(), "m-b")
    assert on_a.n_model == on_b.n_model == 300
    assert on_a.p_beats_model > 0.99 and on_b.p_beats_model < 0.9
    assert on_a.e_help == on_b.e_help > 100  # the pooled e-process keeps model a's evidence
    # Active on both: model b's own sessions decide whether it stays active while b is in use.
    on_a_decision = decide(_entry(status="active", holdout=0.1), on_a, Policy(), NOW)
    assert on_a_decision is None or on_a_decision.to_status == "active"
    no_benefit = decide(_entry(status="active", holdout=0.1), replace(on_b, p_beats_model=0.4), Policy(), NOW)
    assert no_benefit is not None and no_benefit.to_status == "probation"
    # Back on probation, the other model's evidence does not promote it again at the next look
    # (the simulator saw entries go back and forth 22 times).
    again = decide(_entry(status="probation", holdout=0.2), replace(on_b, p_beats_model=0.4), Policy(), NOW)
    assert again is None or again.to_status == "probation"
    new_model = decide(_entry(status="probation", holdout=0.2), replace(on_b, n_model=5, p_beats_model=0.4),
                       Policy(), NOW)
    assert new_model is not None and new_model.to_status == "active"  # too few of its own sessions to say


def test_decay() -> None:
    policy = Policy(decay_days=30)
    old = _entry("old", last_retrieved_at=NOW - 45 * DAY)
    never = _entry("never", last_retrieved_at=None, created_at=NOW - 31 * DAY)
    fresh = _entry("fresh", last_retrieved_at=NOW - 2 * DAY)
    gone = _entry("gone", status="demoted", last_retrieved_at=NOW - 400 * DAY)
    moves = {d.entry_id: d for d in decay_decisions([old, never, fresh, gone], NOW, policy)}
    assert set(moves) == {"old", "never"}
    assert moves["old"].to_status == "demoted" and "45 days" in moves["old"].reason
    assert decay_factor(_entry(last_retrieved_at=NOW - 30 * DAY), NOW, policy) == pytest.approx(0.5)
    assert decay_factor(_entry(last_retrieved_at=NOW - 60 * DAY), NOW, policy) == pytest.approx(0.25)
    # Weight follows P(beats) times the decay factor.
    decision = decide(_entry(last_retrieved_at=NOW - 30 * DAY), _eval(n_holdout=2), policy, NOW)
    assert decision is not None and decision.weight == pytest.approx(0.97 * 0.5, abs=1e-4)


# -- demoted entries stay measured; a version change must be confirmed quickly --------------------


def test_a_demoted_entry_is_measured_and_can_come_back_or_be_pruned() -> None:
    policy = Policy()
    demoted = _entry(status="demoted", holdout=0.2, weight=0.4)
    # Inconclusive: stays demoted, held out at least half the time, ranked at half weight.
    quiet = decide(demoted, _eval(p_beats=0.6, n_injected=20, n_holdout=20), policy, NOW)
    assert quiet is not None and quiet.action == "reweight" and quiet.to_status == "demoted"
    assert quiet.holdout == policy.demoted_holdout and quiet.weight == pytest.approx(0.6 * policy.demoted_weight, abs=0.01)
    # It helps after all: back to probation, on the help e-process.
    back = decide(demoted, _eval(p_beats=0.95, n_injected=20, n_holdout=20, e_help=15.0), policy, NOW)
    assert back is not None and (back.action, back.to_status) == ("restore", "probation")
    # Harm established across the bank (e-BH): pruned.
    gone = decide(demoted, _eval(p_beats=0.05, e_harm=40.0), policy, NOW, prune=True)
    assert gone is not None and gone.to_status == "pruned"
    # Decay demotes a live entry only; a demoted one is not decayed again.
    assert decay_decisions([_entry(status="demoted", last_retrieved_at=NOW - 400 * DAY)], NOW, policy) == []


def test_after_a_version_change_an_entry_must_confirm_within_the_change_budget() -> None:
    policy = Policy(change_budget=30, probation_budget=150)
    doubtful = _eval(p_beats=0.7, n_injected=18, n_holdout=17)
    assert decide(_entry(), doubtful, policy, NOW) is None or decide(_entry(), doubtful, policy, NOW).to_status == "probation"
    stale = decide(_entry(), doubtful, policy, NOW, changed=True)
    assert stale is not None and stale.to_status == "demoted" and "since the version change" in stale.reason
    still_good = decide(_entry(), _eval(p_beats=0.97, n_injected=18, n_holdout=17, e_help=11.0), policy, NOW,
                        changed=True)
    assert still_good is not None and still_good.to_status == "active"


def test_an_entry_without_effect_among_helpful_ones_is_not_called_helpful() -> None:
    # Nine entries that help a lot and one that does nothing: shrinking each arm toward its
    # own population would lend the useless entry the others' lift.
    rng = np.random.default_rng(7)
    rates = [(0.9, 0.4)] * 9 + [(0.45, 0.45)]
    p_null = []
    for _ in range(20):
        table = _simulated(rng, rates, 30, h=0.5)
        p_null.append(evaluate_entries([f"k{i}" for i in range(10)], table, Policy())[-1].p_beats)
    assert sum(p >= Policy().promote_prob for p in p_null) <= 3
    assert 0.3 < float(np.mean(p_null)) < 0.7


def test_a_pruned_entry_taught_again_comes_back_to_be_measured_anew() -> None:
    from once.learn.evaluate import RELEARN_EPISODES, relearned

    moves = relearned({"k-again": RELEARN_EPISODES, "k-once": 1}, Policy())
    assert [(d.entry_id, d.action, d.from_status, d.to_status) for d in moves] == [
        ("k-again", "relearn", "pruned", "probation")]
    assert moves[0].holdout == 0.5 and "since it was pruned" in moves[0].reason
