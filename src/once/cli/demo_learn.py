"""`agent demo`, act two: a recorded session gets stuck and is resolved, `agent learn` turns
it into a knowledge entry, and a later session shows the entry reaching the model.

Everything is real except the model's answers (cassettes): the check runs, the commits land,
the learning pipeline and the retrieval with its holdout draw are the ones `agent run` uses.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from once.events import Event, KnowledgeExposure, TestResult
from once.providers.base import ModelRequest, ModelResponse, TextCallback
from once.words import plural

STUCK_PROMPTS = (
    'add a Spanish greeting: greet(name, lang="es") should say ¡Hola, NAME!',
    "still failing, same error",
    ("No, the problem is the greeting itself: Spanish exclamations open with ¡ (an inverted mark), "
     "so it must be ¡Hola, not Hola. Fix greet.py."),
    "that works, thanks",
)
NEXT_PROMPT = 'add a Spanish farewell: farewell(name, lang="es") next to greet in greet.py'
MAX_TRIES = 4
"""Sessions to start when the holdout draw keeps the entry away (20% each on probation)."""

Say = Callable[[str], None]


@dataclass
class TurnView:
    """One user turn of the recorded session, as the demo shows it."""

    prompt: str
    status: str
    files: list[str]
    check: str
    """"passed", "failed" or "" (not run)."""
    failure: str = ""


@dataclass
class NextTry:
    """One session of the later task: which arm the draw chose, and what the model saw."""

    session_id: str
    exposures: list[dict[str, Any]]
    block: str
    check: str


@dataclass
class LearningDemo:
    turns: list[TurnView] = field(default_factory=list)
    stuck_session: str = ""
    learn: dict[str, Any] = field(default_factory=dict)
    entry: dict[str, Any] | None = None
    tries: list[NextTry] = field(default_factory=list)

    @property
    def injected(self) -> bool:
        return bool(self.tries) and bool(self.tries[-1].block)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "injected": self.injected}


class _Watch:
    """An event sink keeping what the demo prints: check results and knowledge exposures."""

    def __init__(self) -> None:
        self.checks: list[TestResult] = []
        self.exposures: list[KnowledgeExposure] = []

    def __call__(self, event: Event) -> None:
        if isinstance(event, TestResult):
            self.checks.append(event)
        elif isinstance(event, KnowledgeExposure):
            self.exposures.append(event)


def learned_block(request: ModelRequest) -> str:
    """The "Learned from earlier sessions" text of a request's first message ("" if absent)."""
    from once.learn.inject import BLOCK_HEADING

    for message in request.messages[:1]:
        content = message.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
        for block in blocks:
            text = str(block.get("text", "")) if isinstance(block, dict) else ""
            if text.startswith(BLOCK_HEADING):
                return text
    return ""


class ArmReplay:
    """Two recordings of the same task: one made with the entry in the prompt, one without.

    The first request decides which one plays, so a held-out session replays the model that
    did not see the lesson (and repeats the mistake), as a live model would."""

    name = "replay"

    def __init__(self, injected: Path, held_out: Path) -> None:
        self.paths = (injected, held_out)
        self.first: ModelRequest | None = None
        self.inner: Any = None

    def complete(self, request: ModelRequest, on_text: TextCallback | None = None) -> ModelResponse:
        from once.providers.replay import ReplayProvider

        if self.inner is None:
            self.first = request
            self.inner = ReplayProvider(self.paths[0] if learned_block(request) else self.paths[1])
        return self.inner.complete(request, on_text)


def _files() -> Path:
    from importlib.resources import files

    return Path(str(files("once.demo")))


def add_check(git: Any) -> None:
    """The user's part: a check for greetings, named in .once/config.toml, committed."""
    root, demo = Path(git.root), _files()
    shutil.copyfile(demo / "learning" / "check.py", root / "check.py")
    (root / ".once").mkdir(exist_ok=True)
    shutil.copyfile(demo / "learning" / "config.toml", root / ".once" / "config.toml")
    git.commit_paths(["check.py", ".once/config.toml"], "Add check.py, the project's check for greetings")


def _check_state(watch: _Watch) -> tuple[str, str]:
    if not watch.checks:
        return "", ""
    last = watch.checks[-1]
    if last.passed:
        return "passed", ""
    return "failed", last.summary.split("first error: ", 1)[-1].strip()[:200]


def run_act_two(git: Any, store: Any, settings_for: Callable[[], Any], say: Say) -> LearningDemo:
    """The stuck session, `agent learn`, then the later session (new ones while held out)."""
    demo = LearningDemo()
    add_check(git)
    say("The user adds check.py, a check the agent runs after every edit (.once/config.toml).\n")
    settings = settings_for()
    _stuck_session(git, store, settings, demo, say)
    _learn(store, settings, demo, say)
    if demo.entry is not None:
        _next_sessions(git, store, settings, demo, say)
    return demo


def _run(git: Any, store: Any, settings: Any, provider: Any, prompt: str, session_id: str | None,
         watch: _Watch) -> Any:
    from once.agent.runner import RunRequest, run_once

    # A throwaway repo and known recordings: the check may run without asking.
    request = RunRequest(prompt=prompt, session_id=session_id, sinks=[watch], permission_mode="full-auto")
    return run_once(request, repo=git, settings=settings, provider=provider, store=store)


def _stuck_session(git: Any, store: Any, settings: Any, demo: LearningDemo, say: Say) -> None:
    from once.providers.replay import ReplayProvider

    provider = ReplayProvider(_files() / "learn_stuck.json")  # one recording, played across the turns
    say("Session 1 (recorded): the agent gets stuck, then the user unsticks it.")
    for prompt in STUCK_PROMPTS:
        watch = _Watch()
        result = _run(git, store, settings, provider, prompt, demo.stuck_session or None, watch)
        demo.stuck_session = result.session_id
        check, failure = _check_state(watch)
        turn = TurnView(prompt, result.status, result.files_changed, check, failure)
        same = bool(failure) and any(t.failure == failure for t in demo.turns)
        demo.turns.append(turn)
        say(f"  you   > {prompt}")
        say(f"  agent > {_describe(turn, result.result, same)}")


def _describe(turn: TurnView, answer: str, same: bool = False) -> str:
    if not turn.files:
        return (answer.strip().splitlines() or ["(no answer)"])[0]
    edited = f"edits {', '.join(turn.files)}"
    if turn.check == "passed":
        return f"{edited}; the check passes"
    if turn.check == "failed":
        return f"{edited}; the check fails " + ("with the same error again" if same else f"with: {turn.failure}")
    return edited


def _learn(store: Any, settings: Any, demo: LearningDemo, say: Say) -> None:
    from once.learn.bank import Bank
    from once.learn.pipeline import LearnOptions, run_learn

    report = run_learn(store.conn, LearnOptions(model=settings.model))
    demo.learn = {"sessions": report.sessions, "signals": report.signals, "episodes": report.episodes,
                  "resolved": report.resolved, "added": [asdict(line) for line in report.added],
                  "not_admitted": [asdict(line) for line in report.not_admitted]}
    say(f"\n$ agent learn   # {plural(report.sessions, 'session')}, {plural(report.signals, 'signal')}, "
        f"{plural(report.episodes, 'stuck episode')}, {report.resolved} resolved")
    if not report.added:
        reasons = "; ".join(line.detail for line in report.not_admitted) or "no resolved episode"
        say(f"  No entry was admitted ({reasons}).")
        return
    entry = Bank(store.conn).get(report.added[0].entry_id)
    if entry is None:
        return
    demo.entry = {"id": entry.id, "title": entry.title, "description": entry.description,
                  "knowledge": entry.knowledge, "status": entry.status, "holdout": entry.holdout}
    say(f"  New entry {entry.id}, status {entry.status}:")
    say(f"    title:       {entry.title}")
    say(_indented("description: ", entry.description))
    say(_indented("knowledge:   ", entry.knowledge))


def _indented(label: str, text: str) -> str:
    lines = text.strip().splitlines() or [""]
    pad = " " * (4 + len(label))
    return f"    {label}{lines[0]}" + "".join(f"\n{pad}{line}" for line in lines[1:])


def _next_sessions(git: Any, store: Any, settings: Any, demo: LearningDemo, say: Say) -> None:
    demo_dir = _files()
    say("\nSession 2 (recorded), later: a similar task.")
    say(f"  you   > {NEXT_PROMPT}")
    start = git.head_sha()
    for attempt in range(1, MAX_TRIES + 1):
        if attempt > 1:  # each new session starts from the same code, not from the held-out one's commit
            git.text("reset", "-q", "--hard", start)
        provider, watch = ArmReplay(demo_dir / "learn_next.json", demo_dir / "learn_holdout.json"), _Watch()
        result = _run(git, store, settings, provider, NEXT_PROMPT, None, watch)
        block = learned_block(provider.first) if provider.first is not None else ""
        check, failure = _check_state(watch)
        exposures = [{"entry_id": e.entry_id, "title": e.title, "arm": e.arm, "score": e.score, "status": e.status}
                     for e in watch.exposures]
        demo.tries.append(NextTry(result.session_id, exposures, block, check))
        if not exposures:
            say("  The entry was not retrieved for this prompt, so nothing was injected.")
            return
        if block:
            held_out = f"{demo.entry['holdout']:.0%}" if demo.entry else "some"
            say(f"  The entry was retrieved (score {exposures[0]['score']:.2f}) and this session drew the injected arm "
                f"({held_out} of sessions are held out on probation).")
            say("  The model's first request held:")
            say("\n".join(f"    | {line}".rstrip() for line in block.splitlines()))
            turn = TurnView(NEXT_PROMPT, result.status, result.files_changed, check, failure)
            say(f"  agent > {_describe(turn, result.result)}")
            return
        outcome = f"the check {check or 'did not run'}" + (f": {failure}" if failure else "")
        say(f"  This session was held out to measure the entry (the model did not see it; {outcome}).")
        if attempt < MAX_TRIES:
            say("  Starting another session (a new draw).")
    say(f"  All {MAX_TRIES} sessions drew the holdout arm; run `agent demo` again to see an injection.")


def explain(db: str | None, say: Say) -> None:
    """The closing lines: what the holdout measures, and where to look next (when the demo's
    files are kept)."""
    say("\nThe holdout keeps an entry away from a random share of the sessions it matches; comparing how those\n"
        "sessions go with the injected ones measures whether the entry really helps (see `agent learn`).")
    if db is not None:
        say(f"Explore: agent knowledge list --db {db}   |   agent learn --db {db}")
