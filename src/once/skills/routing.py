"""Which skills a prompt needs, and the prompt text that lists or loads them.

A body loads when the prompt names a skill with `/name`, or when the router picks it:
the small model when there is one, else a deterministic lexical matcher (replay,
offline), so the same prompt always loads the same skills without a model.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from once.errors import OnceError, ProviderError
from once.lazyre import LazyPattern
from once.skills.discovery import Skill

if TYPE_CHECKING:  # no import of the agent layer at run time: agent/ imports this module
    from once.agent.small import SmallAsk

DEFAULT_LOAD_LINE = ("You (or the user, by writing /<name>) can load a skill's full instructions "
                     "when its description fits the task.")
ROUTER_SYSTEM = (
    "You choose which skills (playbooks of instructions) would help a coding agent with a task. "
    "Answer with only a JSON array of skill names, best first, at most {limit}. "
    "Answer [] when none clearly applies. Use only names from the list."
)
PROMPT_CHARS = 4000  # the router needs the gist of the task, not a pasted log

# `/name` at a word start: not inside a path ("src/python-tests/x"), not "/name/..." or "/name.py".
_EXPLICIT = re.compile(r"(?<![\w/.\-])/([a-z0-9]+(?:-[a-z0-9]+)*)(?![\w/\-]|\.\w)", re.IGNORECASE)

NAME_WEIGHT = 2.0
DESCRIPTION_WEIGHT = 1.0
MIN_SCORE = 3.0  # about one distinctive name word plus one description word
RELATIVE_CUT = 0.5  # a second pick must score at least half the first

_STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before being
below between both but by can could did do does doing done down during each either else even ever
every few for from further get gets getting got had has have having he her here him his how i if in
into is it its itself just let like ll made make makes may me might more most must my need needs no
nor not now of off on once one only or other our out over own per please same she should so some
such than that the their them then there these they this those through to too two under until up
us use used uses using very via want wants was way we were what when where whether which while who
whom why will with within without would yet you your
code file files project repo repository thing things something new change changes changed
""".split())
_ALIASES = {"configuration": "config", "configure": "config", "configs": "config", "settings": "config",
            "credential": "secret", "credentials": "secret", "apikey": "key", "unittest": "test",
            "failure": "fail", "failures": "fail", "broken": "fail", "bug": "debug", "bugs": "debug"}
# A prompt word also stands for the broader word that skill names use ("commit" -> git).
_RELATED = {"commit": "git", "branch": "git", "rebas": "git", "merg": "git", "gitignor": "git", "stash": "git",
            "pytest": "test", "traceback": "debug", "exception": "debug", "crash": "debug",
            "install": "dependency", "upgrad": "dependency", "packag": "dependency", "library": "dependency",
            "requirement": "dependency", "pip": "dependency", "npm": "dependency",
            "password": "secret", "token": "secret", "env": "config", "environment": "config"}


@dataclass(frozen=True)
class Routing:
    """The skills to load and how they were chosen (for the run's events)."""

    skills: list[Skill]
    explicit: list[Skill] = field(default_factory=list)
    method: str = "none"  # "none" | "small_model" | "lexical"
    note: str | None = None  # why the small model's answer was not used


def skills_prompt(skills: list[Skill], how_to_load: str = DEFAULT_LOAD_LINE) -> str:
    """The base-prompt block: names and descriptions only; "" when there are none."""
    if not skills:
        return ""
    lines = ["## Skills", how_to_load]
    lines += [f"- {skill.name}: {' '.join(skill.description.split())}" for skill in skills]
    return "\n".join(lines)


def explicit_skills(prompt: str, skills: list[Skill]) -> list[Skill]:
    """The skills named as `/name` in the prompt, in the order they appear."""
    by_name = {skill.name: skill for skill in skills}
    picked: list[Skill] = []
    for match in _EXPLICIT.finditer(prompt):
        skill = by_name.get(match.group(1).lower())
        if skill is not None and skill not in picked:
            picked.append(skill)
    return picked


def route(prompt: str, skills: list[Skill], small: SmallAsk | None, limit: int = 2) -> Routing:
    """Explicit `/name` skills first, then at most `limit` picked by the small model or the matcher."""
    explicit = explicit_skills(prompt, skills)
    candidates = [skill for skill in skills if skill not in explicit]
    if not candidates or limit <= 0:
        return Routing(skills=explicit, explicit=explicit)
    if small is None:
        return Routing(explicit + match_lexical(prompt, candidates, limit), explicit, "lexical")
    try:
        answer = small(router_system(limit), router_question(prompt, candidates))
    except ProviderError as exc:
        note = f"the small model failed ({exc.message}); used the lexical matcher"
        return Routing(explicit + match_lexical(prompt, candidates, limit), explicit, "lexical", note)
    names = parse_router_answer(answer, [skill.name for skill in candidates])
    if names is None:
        note = "the small model's answer was not a JSON list of skill names; used the lexical matcher"
        return Routing(explicit + match_lexical(prompt, candidates, limit), explicit, "lexical", note)
    by_name = {skill.name: skill for skill in candidates}
    return Routing(explicit + [by_name[name] for name in names[:limit]], explicit, "small_model")


def route_skills(prompt: str, skills: list[Skill], small: SmallAsk | None, limit: int = 2) -> list[Skill]:
    return route(prompt, skills, small, limit).skills


def router_system(limit: int) -> str:
    return ROUTER_SYSTEM.format(limit=limit)


def router_question(prompt: str, skills: list[Skill]) -> str:
    listing = "\n".join(f"- {skill.name}: {' '.join(skill.description.split())}" for skill in skills)
    task = prompt if len(prompt) <= PROMPT_CHARS else prompt[:PROMPT_CHARS] + " [...]"
    return f"Skills:\n{listing}\n\nTask:\n{task}"


def parse_router_answer(text: str, names: list[str]) -> list[str] | None:
    """The known names in the model's JSON list (deduplicated, in order), or None when the
    answer is unusable: no JSON list, non-string items, or only names that do not exist."""
    data = _first_json(text)
    if isinstance(data, dict):
        data = data.get("skills")
    if not isinstance(data, list) or not all(isinstance(item, str) for item in data):
        return None
    known = set(names)
    kept: list[str] = []
    for item in data:
        name = item.strip().lstrip("/")
        if name in known and name not in kept:
            kept.append(name)
    return None if data and not kept else kept


def _first_json(text: str) -> object:
    text = text.strip()
    for opener, closer in (("[", "]"), ("{", "}")):
        start, end = text.find(opener), text.rfind(closer)
        if start != -1 and end > start:
            try:
                return json.loads(text[start:end + 1])
            except ValueError:
                continue
    return None


def match_lexical(prompt: str, skills: list[Skill], limit: int = 2) -> list[Skill]:
    """The skills whose name and description share enough distinctive words with the prompt.

    Score: for each distinct prompt term, its IDF across the skills times 2 when it is
    in the skill's name, 1 when only in the description. Below MIN_SCORE, or below half
    the best score, a skill is not picked, so an unrelated prompt matches nothing.
    """
    terms = set(terms_of(prompt))
    terms |= {_RELATED[term] for term in terms if term in _RELATED}
    if not terms or not skills or limit <= 0:
        return []
    fields = [(set(terms_of(skill.name)), set(terms_of(skill.description))) for skill in skills]
    df: dict[str, int] = {}
    for name_terms, description_terms in fields:
        for term in name_terms | description_terms:
            df[term] = df.get(term, 0) + 1
    scored: list[tuple[float, str, Skill]] = []
    for skill, (name_terms, description_terms) in zip(skills, fields):
        score = 0.0
        for term in terms:
            weight = NAME_WEIGHT if term in name_terms else DESCRIPTION_WEIGHT if term in description_terms else 0
            if weight:
                score += weight * math.log(1 + len(skills) / df[term])
        if score >= MIN_SCORE:
            scored.append((score, skill.name, skill))
    scored.sort(key=lambda item: (-item[0], item[1]))
    if not scored:
        return []
    floor = scored[0][0] * RELATIVE_CUT
    return [skill for score, _, skill in scored[:limit] if score >= floor]


_WORD = LazyPattern(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[A-Z]+")


def terms_of(text: str) -> list[str]:
    """Lowercase stems of the words of `text`: identifiers split (parse_args, parseArgs),
    stopwords and one-letter words dropped."""
    words = _WORD.findall(text)
    out: list[str] = []
    for word in words:
        word = _ALIASES.get(word.lower(), word.lower())
        if len(word) < 2 or word in _STOPWORDS:
            continue
        out.append(_ALIASES.get(stem(word), stem(word)))
    return out


def stem(word: str) -> str:
    """A light suffix stripper: tests/testing/tested -> test, fixes -> fix, files/file -> fil."""
    if word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("es") and word[-3:-2] in ("x", "s", "z") or word.endswith(("ches", "shes")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        word = word[:-1]
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[:-len(suffix)]
            if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]  # committ -> commit, debugg -> debug
            break
    return word[:-1] if word.endswith("e") and len(word) > 3 else word


def render_skill_bodies(skills: list[Skill]) -> str:
    """The loaded skills for the prompt, each under a heading with its name and file."""
    sections: list[str] = []
    for skill in skills:
        try:
            body = skill.body()
        except OnceError as exc:
            body = f"(this skill could not be read: {exc.message})"
        sections.append(f"## Skill: {skill.name} ({skill.path})\n\n{body.strip()}")
    return "\n\n".join(sections)
