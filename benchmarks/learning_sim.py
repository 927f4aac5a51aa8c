"""Proof that it learns: a simulated population of sessions through the real learning loop.

Sessions are drawn from recurring problem types. Each type has a lesson (the user's
correction once the agent got stuck); for `--harmful-fraction` of the types the lesson is a
bad workaround half of the time. A simulated agent gets stuck with the type's base probability, much less
often when the *injected text* holds the current right lesson for the session's type, and
more often when it holds a harmful one. Everything else is the real code: sessions are
recorded as events in a SQLite store, each prompt goes through retrieval and the holdout
draw (`learned_for_turn`), and `agent learn`'s pipeline (signals -> episodes -> extraction
-> merge -> admission -> outcomes -> evaluation -> pruning) runs every `--learn-every`
sessions. At `--change-at` the model changes and a third of the helpful lessons stop
working (the new model needs a different fix): their entries must be retired and new
lessons learned.

    python benchmarks/learning_sim.py --sessions 5000 --json
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from once.events import CommitMade, RunFinished, RunStarted, TestResult  # noqa: E402
from once.learn.embed import HashedNgramEmbedder  # noqa: E402
from once.learn.evaluate import Policy  # noqa: E402
from once.learn.inject import learned_for_turn  # noqa: E402
from once.learn.pipeline import LearnOptions, run_learn  # noqa: E402
from once.store.store import RunRecord, Store  # noqa: E402

T0 = 1_700_000_000.0
GAP = 3600.0  # one session an hour
REPO = "/sim/repo"
TOPICS = [
    ("pytest fixture", "conftest", "fixture 'db' not found", "declare the db fixture in conftest.py at the package root"),
    ("django migration", "migrations", "django.db.utils.OperationalError: no such table", "run makemigrations for the app before migrate"),
    ("numpy broadcasting", "arrays", "ValueError: operands could not be broadcast together", "reshape the weights with [:, None] before multiplying"),
    ("async http client", "aiohttp", "RuntimeError: Session is closed", "create the ClientSession inside the running event loop"),
    ("typescript build", "tsconfig", "TS2307: Cannot find module", "add the paths mapping to tsconfig compilerOptions"),
    ("docker image", "Dockerfile", "COPY failed: file not found in build context", "move the file under the build context directory"),
    ("sqlalchemy session", "orm", "DetachedInstanceError: Instance is not bound", "eager load the relationship with selectinload"),
    ("rust borrow", "cargo", "error[E0502]: cannot borrow as mutable", "clone the key before calling insert on the map"),
    ("pandas merge", "dataframes", "KeyError: 'customer_id'", "rename the column to customer_id before merging"),
    ("react state", "hooks", "Too many re-renders", "move the setState call into a useEffect with deps"),
    ("go modules", "gomod", "missing go.sum entry for module", "run go mod tidy after adding the import"),
    ("flask config", "app factory", "RuntimeError: Working outside of application context", "push an app context in the test fixture"),
    ("celery worker", "tasks", "NotRegistered: task not registered", "import the tasks module in the celery app include list"),
    ("mypy types", "typing", "error: Incompatible return value type", "return Optional and narrow with an explicit None check"),
    ("eslint config", "lint", "Parsing error: Unexpected token", "set parserOptions ecmaVersion to latest"),
    ("git hooks", "pre-commit", "pre-commit hook failed: black would reformat", "run black on the staged files before committing"),
]
HARMFUL = "just delete the failing test and skip the check with --no-verify"
NEW_FIXES = [
    "upgrade the plugin and use the new registry api instead",
    "switch to the builder pattern the new version requires",
    "wrap the call in the compatibility shim from the changelog",
    "pass strict=False explicitly since the default flipped",
    "use the async variant of the function now that sync was removed",
    "set the environment flag the new release reads at startup",
]
VARIANTS = ["{a} fails: {s}", "help, the {a} in {b} is broken with {s}", "fix {a} problem in {b}: {s}"]


@dataclass
class World:
    """Ground truth: each type's lesson text, whether it helps, and the agent's stuck chances."""

    types: int
    harmful: set[int]
    base: float = 0.5
    helped: float = 0.08
    harm: float = 0.35
    changed: set[int] = field(default_factory=set)
    fixes: dict[int, str] = field(default_factory=dict)

    def lesson(self, t: int) -> str:
        """The fix that works for type t now."""
        return self.fixes.get(t, TOPICS[t][3])

    def told(self, t: int, rng: random.Random) -> str:
        """What the user says resolved it: for harmful types, half the time a bad workaround."""
        return HARMFUL if t in self.harmful and rng.random() < 0.5 else self.lesson(t)

    def stuck_prob(self, t: int, injected: str) -> float:
        p = self.helped if self.lesson(t) in injected else self.base
        return min(0.95, p + self.harm) if HARMFUL in injected else p


def _run(store: Store, sid: str, run_id: str, prompt: str, t: float, model: str,
         steps: list[tuple[str, str]]) -> float:
    store.start_run(RunRecord(id=run_id, session_id=sid, repo=REPO, prompt=prompt, mode="agent", provider="sim",
                              model=model, started_at=t))
    store.append_event(RunStarted(run_id=run_id, ts=t, session_id=sid, repo=REPO, prompt=prompt, mode="agent",
                                  provider="sim", model=model))
    for kind, value in steps:
        t += 5
        if kind == "commit":
            store.append_event(CommitMade(run_id=run_id, ts=t, turn=1, sha=value, subject="agent: fix", files=[]))
        else:
            store.append_event(TestResult(run_id=run_id, ts=t, turn=1, check="pytest", command="pytest", passed=kind == "pass",
                                          passed_count=1, failed_count=int(kind == "fail"), duration_ms=1.0,
                                          signature=value, summary=""))
    t += 5
    store.append_event(RunFinished(run_id=run_id, ts=t, status="done", result="", turns=1, usage={}, cost_usd=0.0))
    store.finish_run(run_id, status="done", turns=1, usage={}, cost_usd=0.0, result="")
    return t + 30


def simulate_session(store: Store, world: World, i: int, t: int, t0: float, model: str, rng: random.Random,
                     embedder: HashedNgramEmbedder) -> dict:
    topic, where, signature, _ = TOPICS[t]
    prompt = rng.choice(VARIANTS).format(a=topic, b=where, s=signature)
    sid = store.create_session(REPO)
    run0 = f"r{i}-0"
    injection = learned_for_turn(store.conn, repo=REPO, session_id=sid, run_id=run0, prompt=prompt, embedder=embedder,
                                 now=t0)
    p = world.stuck_prob(t, injection.block)
    counterfactual = {}
    for exp in injection.exposures:  # the stuck chance had this entry's arm been the other one
        others = [e for e in injection.exposures if e.entry_id != exp.entry_id and e.arm == "injected"]
        text = " ".join(_knowledge(store, e.entry_id) for e in others)
        counterfactual[exp.entry_id] = (world.stuck_prob(t, text + " " + _knowledge(store, exp.entry_id)),
                                        world.stuck_prob(t, text), exp.arm)
    stuck = rng.random() < p
    clock = t0
    if not stuck:
        clock = _run(store, sid, run0, prompt, clock, model, [("commit", f"c{i}"), ("pass", "")])
    else:
        clock = _run(store, sid, run0, prompt, clock, model, [("fail", signature)])
        clock = _run(store, sid, f"r{i}-1", f"it's still failing with the same error: {signature}", clock, model,
                     [("fail", signature)])
        if rng.random() < 0.85:  # the user knows the fix; otherwise they give up
            clock = _run(store, sid, f"r{i}-2", f"no, {world.told(t, rng)}", clock, model,
                         [("commit", f"c{i}"), ("pass", "")])
            clock = _run(store, sid, f"r{i}-3", "thanks, that works now", clock, model, [])
    with store.conn:
        store.conn.execute("UPDATE sessions SET created_at = ?, updated_at = ? WHERE id = ?", (t0, clock, sid))
    return {"type": t, "stuck": stuck, "counterfactual": counterfactual}


_KNOWLEDGE: dict[str, str] = {}


def _knowledge(store: Store, entry_id: str) -> str:
    if entry_id not in _KNOWLEDGE:
        row = store.conn.execute("SELECT knowledge FROM knowledge WHERE id = ?", (entry_id,)).fetchone()
        _KNOWLEDGE[entry_id] = row[0] if row else ""
    return _KNOWLEDGE[entry_id]


def run(args: argparse.Namespace) -> dict:
    rng = random.Random(args.seed)
    types = min(args.problem_types, len(TOPICS))
    world = World(types, set(rng.sample(range(types), round(args.harmful_fraction * types))))
    helpful = [t for t in range(types) if t not in world.harmful]
    change_at = args.change_at if args.change_at is not None else args.sessions // 2
    embedder = HashedNgramEmbedder()
    policy = Policy()
    sessions: list[dict] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "sim.db") as store:
        model = "model-a"
        for i in range(args.sessions):
            now = T0 + i * GAP
            if i == change_at:
                model = "model-b"
                world.changed = set(rng.sample(helpful, max(1, round(len(helpful) / 3))))
                world.fixes = {t: NEW_FIXES[k % len(NEW_FIXES)] + f" for {TOPICS[t][0]}" for k, t in enumerate(sorted(world.changed))}
            sessions.append(simulate_session(store, world, i, rng.randrange(types), now, model, rng, embedder))
            if (i + 1) % args.learn_every == 0:
                run_learn(store.conn, LearnOptions(model=model, now=now + GAP / 2, policy=policy, embedder=embedder))
        elapsed = time.perf_counter() - started
        return summarize(store, world, sessions, change_at, args, elapsed, T0 + change_at * GAP)


def _entry_truth(store: Store, world: World) -> dict[str, str]:
    """What each entry really is: harmful, stale (an old fix of a changed type), helpful or other."""
    out = {}
    for entry_id, knowledge in store.conn.execute("SELECT id, knowledge FROM knowledge"):
        if HARMFUL in knowledge:
            out[entry_id] = "harmful"
        elif any(TOPICS[t][3] in knowledge for t in world.changed):
            out[entry_id] = "stale"
        elif any(world.lesson(t) in knowledge for t in range(world.types)):  # the current fix of its type
            out[entry_id] = "helpful"
        else:
            out[entry_id] = "other"
    return out


def summarize(store: Store, world: World, sessions: list[dict], change_at: int, args: argparse.Namespace,
              elapsed: float, change_ts: float) -> dict:
    window = args.window
    rates = [statistics.fmean(s["stuck"] for s in sessions[k:k + window]) for k in range(0, len(sessions), window)]
    before = rates[: max(1, change_at // window)]
    start = statistics.fmean(s["stuck"] for s in sessions[: args.learn_every])
    truth = _entry_truth(store, world)
    status = dict(store.conn.execute("SELECT id, status FROM knowledge").fetchall())
    pruned = {e for e, s in status.items() if s == "pruned"}
    harmful = {e for e, k in truth.items() if k == "harmful"}
    retire = {}
    for entry_id, ts in store.conn.execute("SELECT entry_id, MIN(ts) FROM knowledge_log WHERE ts >= ? AND"
                                           " to_status IN ('demoted', 'pruned') GROUP BY entry_id", (change_ts,)):
        if truth.get(entry_id) == "stale":
            retire[entry_id] = round((ts - change_ts) / GAP)
    stale = [e for e, k in truth.items() if k == "stale" and status[e] != "candidate"]
    coverage = _coverage(store, sessions, change_at)
    return {
        "sessions": len(sessions), "problem_types": world.types, "harmful_types": sorted(world.harmful),
        "changed_types": sorted(world.changed), "seconds": round(elapsed, 1),
        "stuck_rate_by_window": [round(r, 3) for r in rates], "window": window,
        # The start: the sessions before the first `agent learn` (nothing to inject yet).
        "stuck_start": round(start, 3), "stuck_without_learning": world.base, "stuck_before_change": round(statistics.fmean(before[-2:]), 3),
        "drop_before_change": round(1 - statistics.fmean(before[-2:]) / start, 3) if start else 0.0,
        "stuck_after_change": round(rates[len(before)], 3) if len(rates) > len(before) else None,
        "stuck_end": round(statistics.fmean(rates[-2:]), 3),
        "entries": {k: sum(1 for v in truth.values() if v == k) for k in ("helpful", "harmful", "stale", "other")},
        "status": {s: sum(1 for v in status.values() if v == s) for s in set(status.values())},
        "pruned": len(pruned), "pruned_harmful": len(pruned & harmful),
        "prune_precision": round(len(pruned & harmful) / len(pruned), 3) if pruned else None,
        "prune_recall": round(len(pruned & harmful) / len(harmful), 3) if harmful else None,
        "stale_entries": len(stale), "stale_retired": len(retire),
        "sessions_to_retire_stale": sorted(retire.values()),
        "interval_coverage": coverage,
    }


def _coverage(store: Store, sessions: list[dict], change_at: int) -> dict:
    """Share of entries whose final 90% interval holds the true lift over the same window."""
    from once.learn.pipe_evaluate import _load_entries, exposure_table
    from once.learn.evaluate import evaluate_entries

    entries = _load_entries(store.conn)
    if not entries:
        return {"entries": 0}
    table = exposure_table(store.conn, entries, {})
    evals = evaluate_entries([e.id for e in entries], table, Policy())
    windows = dict(store.conn.execute("SELECT entry_id, MAX(ts) FROM knowledge_log WHERE action = 'version_change'"
                                      " GROUP BY entry_id").fetchall())
    true: dict[str, list[float]] = {}
    for i, s in enumerate(sessions):
        for entry_id, (p_inj, p_hold, _) in s["counterfactual"].items():
            if T0 + i * GAP >= windows.get(entry_id, 0.0):
                true.setdefault(entry_id, []).append(p_hold - p_inj)  # success = not stuck
    hits, total, errors = 0, 0, []
    for ev in evals:
        if ev.n < 30 or ev.entry_id not in true:
            continue
        lift = statistics.fmean(true[ev.entry_id])
        total += 1
        hits += ev.lift_lo <= lift <= ev.lift_hi
        errors.append(abs(ev.lift - lift))
    return {"entries": total, "coverage_90": round(hits / total, 3) if total else None,
            "mean_abs_error": round(statistics.fmean(errors), 3) if errors else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=5000)
    parser.add_argument("--problem-types", type=int, default=16)
    parser.add_argument("--harmful-fraction", type=float, default=0.25)
    parser.add_argument("--change-at", type=int, default=None, help="session of the model change (default: midpoint)")
    parser.add_argument("--learn-every", type=int, default=50)
    parser.add_argument("--window", type=int, default=250, help="sessions per point of the stuck-rate curve")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for key, value in result.items():
        print(f"{key:28} {value}")


if __name__ == "__main__":
    main()
