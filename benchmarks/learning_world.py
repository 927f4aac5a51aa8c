"""The simulated world of `learning_sim.py`: problem types, what users say, and ground truth.

Nothing here is shared with the code under test. Prompts are paraphrased from templates with
partial error signatures; users complain, follow up and describe fixes in their own words
(some of them taken from real user turns), sometimes wrongly; whether an injected entry
helps is decided from ground truth (the problem and the fix its source sessions had), never
by matching its text.

Effect sizes (stated): a type's right fix lowers its stuck chance by U(h/3, 4h/3) for
`--effect-help h`; a harmful workaround raises it by U(m/2, 3m/2) for `--effect-harm m`; a
null explanation changes nothing. The base stuck chance of a type is U(0.35, 0.65).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path

LIBS = ["pytest", "django", "numpy", "aiohttp", "typescript", "docker", "sqlalchemy", "cargo", "pandas", "react",
        "go modules", "flask", "celery", "mypy", "eslint", "pre-commit", "webpack", "poetry", "fastapi", "redis"]
AREAS = ["the api layer", "the importer", "the billing module", "the cli", "the worker", "the dashboard",
         "the auth service", "the test suite", "the build", "the scheduler"]
ERRORS = ["KeyError", "TypeError", "ImportError", "RuntimeError", "ValueError", "AttributeError", "OSError",
          "AssertionError", "TimeoutError", "ConnectionError"]
NOUNS = ["fixture", "migration", "session", "config", "lockfile", "cache key", "env var", "import path",
         "event loop", "schema", "entry point", "timeout", "retry policy", "index", "serializer", "plugin"]
VERBS = [("declare", "declare", "declaring"), ("move", "relocate", "moving"), ("pin", "lock", "pinning"),
         ("rename", "give a new name to", "renaming"), ("register", "add", "registering"),
         ("regenerate", "rebuild", "regenerating"), ("wrap", "enclose", "wrapping"), ("close", "shut", "closing")]
PLACES = ["in conftest.py", "at the package root", "before the first request", "in settings.py", "in pyproject.toml",
          "inside the app factory", "in the Dockerfile", "after the migration", "in the CI config", "in __init__.py"]
PROMPTS = ["{lib} fails: {sig}", "help, {lib} in {area} is broken with {err}", "getting {err} from {lib} in {area}",
           "fix the {noun} problem in {area}", "why does {lib} say {detail}?", "{area}: {sig}",
           "tests in {area} started failing after I touched the {noun}", "can you make {lib} work again in {area}"]
LEADS = ["no, ", "", "you need to ", "the fix is to ", "actually, ", "it works if you ", "please ", "nope: "]
COMPLAINTS = [
    "still failing", "same error again", "that didn't fix it", "it crashes now", "doesn't compile anymore",
    "that's not right", "nope, still broken", "the tests are still red", "now it fails differently",
    "hmm, no change", "still getting {err}", "{sig}", "it's worse now", "why is it still failing?",
    "did you even run it?", "same thing", "not fixed", "the error is back", "that broke something else",
    "it still does the same thing", "no luck", "still the same traceback", "{err} again", "that made no difference",
]
NEUTRAL = [
    "is it still supported on py3.8?", "return 0 when there are no items", "no need for a docstring",
    "also add a test for the empty case", "can you rename it to load_config", "now update the README",
    "what does the retry policy do here?", "make the log message shorter", "use f-strings there",
    "and the same for the worker", "keep the old name as an alias", "add type hints while you are at it",
]
SUCCESS = ["thanks, that works now", "great, fixed", "perfect", "ok good, that did it", "works now",
           "cool, moving on", "nice", "lgtm"]
HARMFUL = ["just delete the failing test", "skip the check with --no-verify", "catch the exception and pass",
           "comment out the assertion", "pin everything to the oldest versions"]
NULL = ["I restarted my editor and ran it again", "it was a flaky run, try again",
        "I cleared my terminal, go on", "the network was down earlier"]
FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "stuck_labels.jsonl"


def real_turns() -> tuple[list[str], list[str]]:
    """(complaints, other requests) typed by real users, from the labelled fixture."""
    if not FIXTURE.exists():
        return [], []
    rows = [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines() if line.strip()]
    return ([r["text"] for r in rows if r["complaint"]], [r["text"] for r in rows if not r["complaint"]])


@dataclass
class ProblemType:
    lib: str
    area: str
    noun: str
    error: str
    detail: str
    base: float
    help: float
    harm: float
    fixes: dict[int, list[str]] = field(default_factory=dict)
    """Fix version -> paraphrases of the right fix (version 1 after a model change, for changed types)."""

    @property
    def signature(self) -> str:
        return f"{self.error}: {self.detail}"


@dataclass(frozen=True)
class Told:
    """What a user said resolved a session: ground truth for the entries learned from it."""

    type: int
    kind: str  # right | harmful | null
    fix_version: int
    text: str


def make_types(count: int, rng: random.Random, effect_help: float, effect_harm: float) -> list[ProblemType]:
    types = []
    for t in range(count):
        lib, area, noun = LIBS[t % len(LIBS)], rng.choice(AREAS), rng.choice(NOUNS)
        detail = f"{noun} '{lib.split()[0]}_{t}' {rng.choice(['not found', 'is closed', 'has no attribute', 'mismatch'])}"
        types.append(ProblemType(lib, area, noun, rng.choice(ERRORS), detail, rng.uniform(0.35, 0.65),
                                 rng.uniform(effect_help / 3, 4 * effect_help / 3),
                                 rng.uniform(effect_harm / 2, 3 * effect_harm / 2), {0: fix_phrasings(rng, noun)}))
    return types


def fix_phrasings(rng: random.Random, noun: str) -> list[str]:
    """Three ways a user may say one fix."""
    verbs, place = rng.choice(VERBS), rng.choice(PLACES)
    return [f"{verbs[0]} the {noun} {place}", f"{verbs[1]} the {noun} {place}", f"try {verbs[2]} the {noun} {place}"]


@dataclass
class World:
    types: list[ProblemType]
    harmful: set[int]
    null_rate: float
    changed: set[int] = field(default_factory=set)
    """Types whose old fix stops working under the new model."""
    new_model: str = ""

    def fix_version(self, t: int, model: str) -> int:
        return 1 if t in self.changed and model == self.new_model else 0

    def told(self, t: int, model: str, rng: random.Random) -> Told:
        """What the user says resolved it: usually the right fix in their words, for harmful types
        half the time a bad workaround, sometimes an irrelevant explanation."""
        version = self.fix_version(t, model)
        roll = rng.random()
        if roll < self.null_rate:
            return Told(t, "null", version, rng.choice(NULL))
        if t in self.harmful and roll < self.null_rate + 0.5:
            return Told(t, "harmful", version, rng.choice(HARMFUL))
        return Told(t, "right", version, rng.choice(self.types[t].fixes[version]))

    def is_right(self, e: Told | None, t: int, model: str) -> bool:
        """The lesson gives the fix that works for type `t` under `model`."""
        return e is not None and e.type == t and e.kind == "right" and e.fix_version == self.fix_version(t, model)

    def is_harmful(self, e: Told | None, t: int) -> bool:
        return e is not None and e.type == t and e.kind == "harmful"

    def stuck_chance(self, t: int, model: str, injected: list[Told | None]) -> float:
        """The session's chance of getting stuck given the truth of the entries injected into it."""
        kind = self.types[t]
        p = kind.base
        if any(self.is_right(e, t, model) for e in injected):
            p -= kind.help
        if any(self.is_harmful(e, t) for e in injected):
            p += kind.harm
        return min(0.95, max(0.02, p))

    def oracle_chance(self, t: int) -> float:
        """The right entry always injected."""
        kind = self.types[t]
        return min(0.95, max(0.02, kind.base - kind.help))


def prompt_for(kind: ProblemType, rng: random.Random) -> str:
    return rng.choice(PROMPTS).format(lib=kind.lib, area=kind.area, noun=kind.noun, err=kind.error,
                                      detail=kind.detail, sig=kind.signature)


def complaint_for(kind: ProblemType, rng: random.Random, real: list[str]) -> str:
    if real and rng.random() < 0.25:
        return rng.choice(real)
    return rng.choice(COMPLAINTS).format(err=kind.error, sig=kind.signature)


def neutral(rng: random.Random, real: list[str]) -> str:
    return rng.choice(real) if real and rng.random() < 0.5 else rng.choice(NEUTRAL)


def fix_said(told: Told, rng: random.Random) -> str:
    return rng.choice(LEADS) + told.text
