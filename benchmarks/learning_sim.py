"""Does it learn at realistic effect sizes? Simulated users through the real learning loop.

Each session has a problem type (`learning_world.py`: paraphrased prompts with partial error
signatures, effect sizes drawn per type from stated ranges, users who complain, follow up and
describe fixes in their own words, sometimes wrongly). Everything else is the real code: the
sessions are events in a SQLite store, every prompt goes through retrieval and the holdout
draw, and `agent learn`'s pipeline (signals -> episodes -> extraction -> admission -> outcomes
-> evaluation -> pruning) runs every `--learn-every` sessions. Some outcomes arrive only after
the next `agent learn` (`--late`). Models alternate (`--models`); at `--change-at` the first is
replaced by a new one under which a third of the helpful fixes stop working.

Whether an entry helps is ground truth: the problem and the fix its source sessions had,
never its text. The no-learning and oracle (the right entry always injected) stuck rates are
simulated with the same random draws as the real sessions, not assumed.

    python benchmarks/learning_sim.py --sessions 5000 --effect-help 0.15 --effect-harm 0.10 --json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from learning_world import (  # noqa: E402
    SUCCESS, Told, World, complaint_for, fix_phrasings, fix_said, make_types, neutral, prompt_for, real_turns,
)
from once.events import CommitMade, RunFinished, RunStarted, TestResult  # noqa: E402
from once.learn.embed import HashedNgramEmbedder  # noqa: E402
from once.learn.evaluate import Policy  # noqa: E402
from once.learn.inject import learned_for_turn  # noqa: E402
from once.learn.pipeline import LearnOptions, run_learn  # noqa: E402
from once.store.store import RunRecord, Store  # noqa: E402

T0 = 1_700_000_000.0
GAP = 3600.0  # one session an hour
REPO = "/sim/repo"
SALT_KEY = "holdout_salt"


@dataclass
class Outcome:
    index: int
    type: int
    model: str
    stuck: bool
    no_learning: bool
    oracle: bool


@dataclass
class User:
    """One install: its own store (and salt), sessions and the truth of what it was told."""

    store: Store
    rng: random.Random
    told: dict[str, Told] = field(default_factory=dict)
    outcomes: list[Outcome] = field(default_factory=list)
    pending: list[Callable[[float], None]] = field(default_factory=list)
    truth_cache: dict[tuple[str, str], Told | None] = field(default_factory=dict)


def entry_truth(user: User, entry_id: str) -> Told | None:
    """What an entry really is: the majority of its source sessions' truth (None: no episode source)."""
    row = user.store.conn.execute("SELECT sources FROM knowledge WHERE id = ?", (entry_id,)).fetchone()
    sources = row[0] if row else "[]"
    key = (entry_id, sources)
    if key not in user.truth_cache:
        refs = json.loads(sources)
        marks = ", ".join("?" for _ in refs)
        sessions = [r[0] for r in user.store.conn.execute(
            f"SELECT session_id FROM episodes WHERE ref IN ({marks})", refs)] if refs else []
        said = [user.told[s] for s in sessions if s in user.told]
        common = Counter((t.type, t.kind, t.fix_version) for t in said).most_common(1)
        user.truth_cache[key] = next(t for t in said if (t.type, t.kind, t.fix_version) == common[0][0]) \
            if common else None
    return user.truth_cache[key]


def _run(store: Store, sid: str, run_id: str, prompt: str, t: float, model: str, steps: list[tuple[str, str]],
         finish: bool = True) -> tuple[float, Callable[[float], None]]:
    """One run (a user turn); returns the clock after it and how to finish it (now or later)."""
    store.start_run(RunRecord(id=run_id, session_id=sid, repo=REPO, prompt=prompt, mode="agent", provider="sim",
                              model=model, started_at=t))
    store.append_event(RunStarted(run_id=run_id, ts=t, session_id=sid, repo=REPO, prompt=prompt, mode="agent",
                                  provider="sim", model=model))
    for kind, value in steps:
        t += 5
        if kind == "commit":
            store.append_event(CommitMade(run_id=run_id, ts=t, turn=1, sha=value, subject="agent: fix", files=[]))
        else:
            store.append_event(TestResult(run_id=run_id, ts=t, turn=1, check="pytest", command="pytest",
                                          passed=kind == "pass", passed_count=1, failed_count=int(kind == "fail"),
                                          duration_ms=1.0, signature=value, summary=""))

    def done(at: float) -> None:
        store.append_event(RunFinished(run_id=run_id, ts=at, status="done", result="", turns=1, usage={},
                                       cost_usd=0.0))
        store.finish_run(run_id, status="done", turns=1, usage={}, cost_usd=0.0, result="")
        with store.conn:
            store.conn.execute("UPDATE sessions SET updated_at = ? WHERE id = ?", (at, sid))

    if finish:
        done(t + 5)
    return t + 35, done


def simulate_session(user: User, world: World, i: int, t: int, now: float, model: str, args: argparse.Namespace,
                     real: tuple[list[str], list[str]], retrieve: bool = True) -> str:
    """One session through retrieval (unless `retrieve` is off) and the user's turns; its id."""
    rng, store, kind = user.rng, user.store, world.types[t]
    prompt = prompt_for(kind, rng)
    sid = store.create_session(REPO)
    with store.conn:
        store.conn.execute("UPDATE sessions SET created_at = ?, updated_at = ? WHERE id = ?", (now, now, sid))
    exposures = learned_for_turn(store.conn, repo=REPO, session_id=sid, run_id=f"r{i}-0", prompt=prompt,
                                 embedder=EMBEDDER, now=now).exposures if retrieve else []
    injected = [entry_truth(user, e.entry_id) for e in exposures if e.arm == "injected"]
    u = rng.random()  # one draw: the session, and what it would have been without learning or with the oracle
    stuck = u < world.stuck_chance(t, model, injected)
    user.outcomes.append(Outcome(i, t, model, stuck, u < kind.base, u < world.oracle_chance(t)))
    late = rng.random() < args.late
    turns: list[tuple[str, list[tuple[str, str]]]]
    if not stuck:
        turns = [(prompt, [("commit", f"c{i}"), ("pass", "")])]
        if rng.random() < 0.3:
            turns.append((neutral(rng, real[1]), [("commit", f"c{i}b"), ("pass", "")]))
    else:
        turns = [(prompt, [("fail", kind.signature)]), (complaint_for(kind, rng, real[0]), [("fail", kind.signature)])]
        if rng.random() < 0.85:  # the user knows (or believes they know) the fix; otherwise gives up
            told = world.told(t, model, rng)
            user.told[sid] = told
            turns.append((fix_said(told, rng), [("commit", f"c{i}"), ("pass", "")]))
            if rng.random() < 0.7:
                turns.append((rng.choice(SUCCESS), []))
    clock = now
    for k, (text, steps) in enumerate(turns):
        last = k == len(turns) - 1
        clock, finish = _run(store, sid, f"r{i}-{k}", text, clock, model, steps, finish=not (last and late))
        if last and late:
            user.pending.append(finish)
    return sid


EMBEDDER = HashedNgramEmbedder()


@contextlib.contextmanager
def seeded_ids(seed: int) -> Iterator[None]:
    """Ids (sessions, runs, entries) from the seed instead of the clock and `secrets`: the arm
    draw hashes them, so the same seed must give the same ids to reproduce a run exactly."""
    import itertools
    import types

    from once import ids

    saved = ids.time, ids.secrets
    ticks, bits = itertools.count(1_700_000_000_000), random.Random(seed ^ 0x5EED)
    ids.time = types.SimpleNamespace(time_ns=lambda: next(ticks) * 1_000_000)  # type: ignore[assignment]
    ids.secrets = types.SimpleNamespace(randbits=bits.getrandbits)  # type: ignore[assignment]
    try:
        yield
    finally:
        ids.time, ids.secrets = saved


def run(args: argparse.Namespace) -> dict:
    with seeded_ids(args.seed):
        return _simulate(args)


def _simulate(args: argparse.Namespace) -> dict:
    rng = random.Random(args.seed)
    world = World(make_types(args.problem_types, rng, args.effect_help, args.effect_harm),
                  set(rng.sample(range(args.problem_types), round(args.harmful_fraction * args.problem_types))),
                  args.null_fraction)
    helpful_types = [t for t in range(args.problem_types) if t not in world.harmful]
    change_at = args.change_at if args.change_at is not None else args.sessions // 2
    models = [f"model-{k}" for k in range(args.models)]
    real = real_turns()
    policy = Policy()
    started = time.perf_counter()
    users: list[User] = []
    with tempfile.TemporaryDirectory() as tmp:
        for number in range(args.users):
            store = Store(Path(tmp) / f"user-{number}.db")
            with store.conn:  # a seeded salt: the same seed draws the same arms
                store.conn.execute("INSERT OR REPLACE INTO learn_meta (key, value) VALUES (?, ?)",
                                   (SALT_KEY, f"{args.seed:08x}{number:08x}"))
            users.append(User(store, random.Random(rng.random())))
        for i in range(args.sessions):
            now = T0 + i * GAP
            if i == change_at and change_at < args.sessions:
                world.new_model = "model-new"
                models[0] = world.new_model
                world.changed = set(rng.sample(helpful_types, max(1, round(len(helpful_types) / 3))))
                for t in sorted(world.changed):
                    world.types[t].fixes[1] = fix_phrasings(rng, world.types[t].noun + " config")
            user = users[i % args.users]
            simulate_session(user, world, i, user.rng.randrange(args.problem_types), now,
                             models[(i // args.users) % len(models)], args, real)
            if (i + 1) % (args.learn_every * args.users) == 0:
                learn_at = now + GAP / 2
                for each in users:
                    run_learn(each.store.conn, LearnOptions(model=models[(i // args.users) % len(models)], now=learn_at,
                                                            policy=policy, embedder=EMBEDDER))
                    for finish in each.pending:  # outcomes that arrive after this `agent learn`
                        finish(learn_at + 1)
                    each.pending.clear()
        elapsed = time.perf_counter() - started
        result = summarize(users, world, args, change_at, elapsed)
        for user in users:
            user.store.close()
    return result


def _rate(items: list[bool]) -> float | None:
    return round(statistics.fmean(items), 4) if items else None


def summarize(users: list[User], world: World, args: argparse.Namespace, change_at: int, elapsed: float) -> dict:
    outcomes = sorted((o for u in users for o in u.outcomes), key=lambda o: o.index)
    first, last = outcomes[: args.window], outcomes[-args.window:]
    truth: Counter[str] = Counter()
    moved: Counter[tuple[str, str]] = Counter()
    first_prune: list[int] = []
    actions: Counter[str] = Counter()
    for user in users:
        for entry_id, status in user.store.conn.execute("SELECT id, status FROM knowledge WHERE status != 'candidate'"):
            kind = _kind(entry_truth(user, entry_id), world)
            truth[kind] += 1
            moved[(kind, status)] += 1
        for entry_id, action in user.store.conn.execute("SELECT entry_id, action FROM knowledge_log"
                                                        " WHERE action NOT IN ('created', 'merged')"):
            actions[f"{_kind(entry_truth(user, entry_id), world)}/{action}"] += 1
        row = user.store.conn.execute("SELECT MIN(ts) FROM knowledge_log WHERE action = 'prune'").fetchone()
        if row[0] is not None:
            first_prune.append(round((row[0] - T0) / GAP))
    pruned = sum(n for (kind, status), n in moved.items() if status == "pruned")
    harmful_pruned = moved[("harmful", "pruned")]
    no_learning, oracle, final = (_rate([o.no_learning for o in last]), _rate([o.oracle for o in last]),
                                  _rate([o.stuck for o in last]))
    gap = (no_learning or 0) - (oracle or 0)
    return {
        "sessions": len(outcomes), "users": args.users, "models": args.models, "problem_types": args.problem_types,
        "seed": args.seed, "seconds": round(elapsed, 1), "window": args.window,
        "stuck_rate_first": _rate([o.stuck for o in first]),
        "stuck_rate_last": final,
        "stuck_rate_no_learning": no_learning,
        "stuck_rate_oracle": oracle,
        "reduction_share_of_oracle": round(((no_learning or 0) - (final or 0)) / gap, 3) if gap > 0 else None,
        "stuck_rate_all": _rate([o.stuck for o in outcomes]),
        "stuck_rate_no_learning_all": _rate([o.no_learning for o in outcomes]),
        "entries": dict(truth),
        "status_by_truth": {f"{kind}/{status}": n for (kind, status), n in sorted(moved.items())},
        "moves_by_truth": dict(sorted(actions.items())),
        "harmful_pruned_precision": round(harmful_pruned / pruned, 3) if pruned else None,
        "harmful_pruned_recall": round(harmful_pruned / truth["harmful"], 3) if truth["harmful"] else None,
        "helpful_demoted_fraction": _share(moved, truth, "helpful", ("demoted", "pruned")),
        "null_pruned_fraction": _share(moved, truth, "null", ("pruned",)),
        "stale_active_at_end": moved[("stale", "active")],
        "sessions_to_first_prune": min(first_prune) if first_prune else None,
        "change_at": change_at if change_at < args.sessions else None,
    }


def _kind(told: Told | None, world: World) -> str:
    if told is None:
        return "other"
    if told.kind != "right":
        return told.kind
    return "stale" if told.type in world.changed and told.fix_version == 0 else "helpful"


def _share(moved: Counter[tuple[str, str]], truth: Counter[str], kind: str, statuses: tuple[str, ...]) -> float | None:
    return round(sum(moved[(kind, s)] for s in statuses) / truth[kind], 3) if truth[kind] else None


def parser() -> argparse.ArgumentParser:
    out = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    out.add_argument("--sessions", type=int, default=5000)
    out.add_argument("--problem-types", type=int, default=16)
    out.add_argument("--harmful-fraction", type=float, default=0.25, help="types whose users give a bad workaround half the time")
    out.add_argument("--null-fraction", type=float, default=0.1, help="share of fixes told that are irrelevant")
    out.add_argument("--effect-help", type=float, default=0.15, help="mean drop of the stuck chance from the right entry")
    out.add_argument("--effect-harm", type=float, default=0.10, help="mean rise of the stuck chance from a harmful entry")
    out.add_argument("--change-at", type=int, default=None, help="session of the model change (default: midpoint)")
    out.add_argument("--users", type=int, default=1, help="installs, each with its own store and salt")
    out.add_argument("--models", type=int, default=1, help="models used in turn")
    out.add_argument("--late", type=float, default=0.2, help="share of sessions whose outcome arrives after the next learn")
    out.add_argument("--learn-every", type=int, default=50, help="sessions (per user) between two `agent learn`")
    out.add_argument("--window", type=int, default=500, help="sessions of the first and last stuck rates")
    out.add_argument("--seed", type=int, default=1)
    out.add_argument("--json", action="store_true")
    return out


def main() -> None:
    args = parser().parse_args()
    for name in ("sessions", "problem_types", "users", "models", "learn_every", "window"):
        if getattr(args, name) < 1:
            parser().error(f"--{name.replace('_', '-')} must be at least 1")
    result = run(args)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for key, value in result.items():
        print(f"{key:28} {value}")


if __name__ == "__main__":
    main()
