"""A resolved stuck episode (or a run insight) becomes a candidate knowledge entry.

With a small model, a prompt writes the entry; offline (or when the model's answer is
unusable) a deterministic template builds it from the failure signature, the user's
corrective words and the diff that resolved it. Either way the text is redacted, and the
entry is `global` only when nothing in it names this repository's files or the repository.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Sequence

from once import __version__
from once.learn.bank import KnowledgeEntry
from once.safety.redact import redact

SmallAsk = Callable[[str, str], str]
TITLE_CHARS = 80
_GENERIC_STEMS = frozenset("test tests main init index setup util utils config readme conftest app src lib".split())
_CONVENTIONAL_FILES = frozenset(
    "pyproject.toml setup.py setup.cfg requirements.txt conftest.py package.json package-lock.json tsconfig.json "
    "cargo.toml go.mod makefile dockerfile .gitignore tox.ini pytest.ini readme.md agents.md".split())
_FRAMEWORKS = {
    "pytest": "pytest", "unittest": "unittest", "django": "django", "flask": "flask", "fastapi": "fastapi",
    "numpy": "numpy", "pandas": "pandas", "jest": "jest", "vitest": "vitest", "react": "react",
    "typescript": "typescript", "npm": "npm", "cargo": "cargo", "rustc": "rust", "go test": "go",
    "mypy": "mypy", "ruff": "ruff", "eslint": "eslint", "sqlalchemy": "sqlalchemy", "docker": "docker",
}
_LANG_BY_EXT = {".py": "python", ".ts": "typescript", ".tsx": "typescript", ".js": "javascript",
                ".jsx": "javascript", ".rs": "rust", ".go": "go", ".java": "java", ".rb": "ruby",
                ".toml": "toml", ".json": "json", ".yaml": "yaml", ".yml": "yaml", ".md": "markdown"}
_ABS_PATH = re.compile(r"(?:^|\s)(?:/[\w.-]+){2,}|[A-Za-z]:\\")
_DIFF_FILE = re.compile(r"^\+\+\+ b/(.+)$", re.MULTILINE)

EXTRACT_SYSTEM = (
    "You turn a coding session where the user got stuck and then unstuck into one reusable lesson. "
    "Answer with a JSON object only: {\"title\": short, \"description\": the symptoms, error signature, "
    "framework and file kinds a future prompt would mention, \"knowledge\": the guidance that would have "
    "avoided the detour (imperative, under 600 characters), \"scope\": \"global\" if nothing in it is "
    "specific to this repository, else \"project\"}."
)


@dataclass(frozen=True)
class ExtractContext:
    """What the entry is learned under, and the change that resolved the episode."""

    repo: str
    model: str = ""
    tool_version: str = __version__
    diff: str = ""
    files: Sequence[str] = field(default_factory=tuple)


# A line with a complaint in it teaches only if what is left once the complaint is taken out
# says what should happen: "No, put the fixture in conftest.py", not "still the same error: X".
_TEACHING = re.compile(
    r"\b(use|put|add|call|import|move|rename|return|keep|make|set|pass|write|change|replace|remove|delete|"
    r"wrap|raise|catch|check|avoid|prefer|install|run|store|convert|round|sort|skip|need|needs|must|should|"
    r"instead|rather|always|never|don'?t|do not|has to|have to|only)\b", re.IGNORECASE)
_QUOTED_ERROR = re.compile(r"\b\w*(Error|Exception|Warning)\b.*", re.IGNORECASE)
_NOT_CONTENT = frozenset(
    "a an the it its s is are was were be been this that these those with to of in on at for and or but so "
    "still now again same just please fail fails failed failing broken error errors wrong work works working "
    "happens happening problem issue bug".split())
TEACHING_WORDS = 6
NO_ADVICE = "go straight to the fix below."
"""Content words left after the complaint that make a line an instruction without a cue word."""


def changed_files(diff: str, files: Sequence[str] = ()) -> list[str]:
    seen = list(dict.fromkeys([*files, *_DIFF_FILE.findall(diff)]))
    return [f for f in seen if f and f != "/dev/null"]


def added_lines(diff: str, limit: int = 4) -> list[str]:
    """The first meaningful lines the fix added (what the diff taught)."""
    out = []
    for line in diff.splitlines():
        if line.startswith("+") and not line.startswith("+++"):
            text = line[1:].strip()
            if len(text) > 3 and not text.startswith(("#", "//")):
                out.append(text[:120])
        if len(out) >= limit:
            break
    return out


def stack_of(texts: Sequence[str], files: Sequence[str]) -> list[str]:
    """Frameworks and languages the episode involves, for retrieval to match."""
    low = " ".join(texts).lower()
    found = [name for word, name in _FRAMEWORKS.items() if re.search(rf"\b{re.escape(word)}\b", low)]
    found += [_LANG_BY_EXT[PurePosixPath(f).suffix] for f in files if PurePosixPath(f).suffix in _LANG_BY_EXT]
    return list(dict.fromkeys(found))


def repo_terms(repo: str, files: Sequence[str]) -> set[str]:
    """Words that would tie a text to this repository: its name, its changed files' paths and names."""
    found = {PurePosixPath(repo).name.lower()} if len(PurePosixPath(repo).name) >= 3 else set()
    for path in files:
        p = PurePosixPath(path)
        if p.name.lower() in _CONVENTIONAL_FILES:  # every project of its kind has one
            found |= {path.lower()} if "/" in path else set()
            continue
        found |= {path.lower(), p.name.lower()}
        if len(p.stem) >= 4 and p.stem.lower() not in _GENERIC_STEMS:
            found.add(p.stem.lower())
    return {term for term in found if term}


def is_repo_specific(texts: Sequence[str], terms: set[str]) -> bool:
    for text in texts:
        low = text.lower()
        if _ABS_PATH.search(text):
            return True
        if any(re.search(rf"(?<![\w.-]){re.escape(term)}(?![\w-])", low) for term in terms):
            return True
    return False


def shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _first_sentence(text: str) -> str:
    return re.split(r"(?<=[.!?])\s", " ".join(text.split()), maxsplit=1)[0]


def instructive(corrective: str) -> str:
    """The user's corrective lines that teach something: a bare complaint ("still failing, same
    error") says the agent was stuck, not what it should have known, so it is left out; a short
    correction ("No, put the fixture in conftest.py") says what should happen, so it stays."""
    return "\n".join(line.strip() for line in corrective.splitlines() if line.strip() and not _bare_complaint(line))


def _bare_complaint(line: str) -> bool:
    from once.learn.phrases import COMPLAINT

    if not any(pattern.search(line) for pattern in COMPLAINT):
        return False
    rest = line
    for pattern in COMPLAINT:
        rest = pattern.sub(" ", rest)
    rest = _QUOTED_ERROR.sub(" ", rest)
    words = [w for w in re.findall(r"\w+", rest.lower()) if w not in _NOT_CONTENT]
    return not words or (len(words) < TEACHING_WORDS and not _TEACHING.search(rest))


def template_from_episode(episode: Any, ctx: ExtractContext) -> KnowledgeEntry:
    """The offline entry: symptoms and signature to match, the correction and the fix to inject."""
    signature = (getattr(episode, "failure_signature", "") or "").strip()
    corrective = instructive((getattr(episode, "corrective_text", "") or "").strip())
    opening = (getattr(episode, "opening_prompt", "") or "").strip()
    prompts = [p for p in getattr(episode, "prompts", []) or [] if p and p != opening]
    files = changed_files(ctx.diff, ctx.files)
    core = [signature, corrective, opening, *prompts]
    scope = "project" if is_repo_specific(core, repo_terms(ctx.repo, files)) else "global"
    stack = stack_of([*core, ctx.diff], files)
    kinds = sorted({PurePosixPath(f).suffix for f in files if PurePosixPath(f).suffix})
    description = "\n".join(line for line in (
        f"Symptoms: {shorten(opening, 300)}" if opening else "",
        *(f"Also asked: {shorten(p, 200)}" for p in prompts[:2]),
        f"Error: {shorten(signature, 300)}" if signature else "",
        f"Stack: {', '.join(stack)}" if stack else "",
        f"File kinds: {', '.join(kinds)}" if kinds else "",
    ) if line)
    when = f"When you see `{shorten(signature, 160)}`" if signature else f"When asked to {shorten(opening, 160)}"
    advice = [f"{when}: {corrective}" if corrective else f"{when}: {NO_ADVICE}"]
    if files and scope == "project":
        advice.append(f"The change that resolved it touched {', '.join(files[:5])}.")
    lines = added_lines(ctx.diff)
    if lines and scope == "project":
        advice.append("It added: " + " | ".join(lines))
    title_source = signature or _first_sentence(corrective) or opening or "Lesson from an earlier session"
    return _entry(title_source, description or when, "\n".join(advice), scope, "episode",
                  [getattr(episode, "ref", "")], ctx)


def template_from_insight(insight: Any, ctx: ExtractContext) -> KnowledgeEntry:
    """A run where a check failed and was then fixed: the signature and what fixed it."""
    signature = (getattr(insight, "failure_signature", "") or "").strip()
    fix = (getattr(insight, "fix_summary", "") or "").strip()
    prompt = (getattr(insight, "prompt", "") or "").strip()
    files = changed_files(ctx.diff, list(getattr(insight, "files", []) or []))
    core = [signature, fix, prompt]
    scope = "project" if is_repo_specific(core, repo_terms(ctx.repo, files)) else "global"
    stack = stack_of([*core, ctx.diff], files)
    description = "\n".join(line for line in (
        f"Error: {shorten(signature, 300)}" if signature else "",
        f"Task: {shorten(prompt, 300)}" if prompt else "",
        f"Stack: {', '.join(stack)}" if stack else "",
    ) if line)
    knowledge = f"When checks fail with `{shorten(signature, 160)}`: {fix or 'see the earlier fix.'}"
    if files and scope == "project":
        knowledge += f"\nThe fix touched {', '.join(files[:5])}."
    return _entry(signature or prompt, description or knowledge, knowledge, scope, "insight",
                  [getattr(insight, "ref", "")], ctx)


def _entry(title: str, description: str, knowledge: str, scope: str, kind: str, sources: list[str],
           ctx: ExtractContext) -> KnowledgeEntry:
    return KnowledgeEntry(
        title=redact(shorten(title, TITLE_CHARS)), description=redact(description), knowledge=redact(knowledge),
        scope=scope, kind=kind, repo=None if scope == "global" else ctx.repo, status="candidate",
        sources=[s for s in sources if s], model=ctx.model, tool_version=ctx.tool_version,
    )


def extract_entry(item: Any, ctx: ExtractContext, small: SmallAsk | None = None) -> KnowledgeEntry:
    """An episode or an insight (told apart by `fix_summary`) -> a candidate entry."""
    is_insight = hasattr(item, "fix_summary")
    template = template_from_insight(item, ctx) if is_insight else template_from_episode(item, ctx)
    if small is None:
        return template
    try:
        answer = small(EXTRACT_SYSTEM, _question(item, ctx, template))
    except Exception:  # the model is an improvement, never a requirement
        return template
    return from_model_answer(answer, template, ctx)


def _question(item: Any, ctx: ExtractContext, template: KnowledgeEntry) -> str:
    facts = {key: getattr(item, key) for key in ("opening_prompt", "prompts", "failure_signature",
                                                   "corrective_text", "fix_summary", "prompt")
             if getattr(item, key, None)}
    facts["diff"] = ctx.diff[:4000]
    return redact(json.dumps(facts, ensure_ascii=False, indent=1, default=str)) + (
        f"\n\nA draft from a template, to improve:\n{template.title}\n{template.description}\n{template.knowledge}")


def from_model_answer(answer: str, template: KnowledgeEntry, ctx: ExtractContext) -> KnowledgeEntry:
    """The model's JSON lesson, checked; anything unusable falls back to the template."""
    match = re.search(r"\{.*\}", answer, re.DOTALL)
    try:
        data = json.loads(match.group(0)) if match else None
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) and data[k].strip()
                                             for k in ("title", "description", "knowledge")):
        return template
    scope = "global" if data.get("scope") == "global" else "project"
    files = changed_files(ctx.diff, ctx.files)
    if scope == "global" and is_repo_specific([data["title"], data["description"], data["knowledge"]],
                                              repo_terms(ctx.repo, files)):
        scope = "project"  # the model's word is not enough: a named file ties it to this repository
    return _entry(data["title"], data["description"], data["knowledge"], scope, template.kind,
                  template.sources, ctx)


MERGE_SYSTEM = (
    "Two lessons a coding agent learned describe the same problem. Write the one general lesson that "
    "covers both, keeping every concrete symptom, error signature and fix that applies. Answer with a "
    "JSON object only: {\"title\": short, \"description\": the symptoms a future prompt would mention, "
    "\"knowledge\": the guidance (imperative, under 600 characters)}."
)


def generalize(small: SmallAsk, kept: KnowledgeEntry, joining: KnowledgeEntry) -> KnowledgeEntry | None:
    """The model's merge of a near-duplicate into the entry it joins: `kept` with a generalized
    title, description and knowledge (its id, status, scope and evidence stay); None when the
    model is unreachable or its answer unusable, and the merge keeps `kept`'s text."""
    question = json.dumps({"lesson_1": {k: getattr(kept, k) for k in ("title", "description", "knowledge")},
                           "lesson_2": {k: getattr(joining, k) for k in ("title", "description", "knowledge")}},
                          ensure_ascii=False, indent=1)
    try:
        answer = small(MERGE_SYSTEM, question)
    except Exception:  # the model is an improvement, never a requirement
        return None
    match = re.search(r"\{.*\}", answer, re.DOTALL)
    try:
        data = json.loads(match.group(0)) if match else None
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) and data[k].strip()
                                             for k in ("title", "description", "knowledge")):
        return None
    return replace(kept, title=shorten(data["title"].strip(), 120), description=data["description"].strip(),
                   knowledge=data["knowledge"].strip())


def resolving_diff(repo_root: str, shas: Sequence[str], limit: int = 20_000) -> str:
    """The diff of the commits that resolved an episode ("" when git cannot show them)."""
    import subprocess

    from once.vcs.repo import git_env

    parts: list[str] = []
    for sha in shas:
        try:
            shown = subprocess.run(["git", "show", "--format=", "--no-color", "--no-ext-diff", "--no-textconv", sha],
                                   cwd=repo_root, capture_output=True, text=True, timeout=20, check=False,
                                   env=git_env(root=Path(repo_root)))
        except (OSError, subprocess.SubprocessError):
            continue
        if shown.returncode == 0:
            parts.append(shown.stdout)
    return "".join(parts)[:limit]
