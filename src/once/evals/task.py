"""Eval tasks: a folder with `task.toml`, a starting repository and a check that decides success.

    <suite>/<task>/task.toml     prompt (or prompts), check, tags, [limits], [agent], [family]
    <suite>/<task>/repo/         the starting repository, copied fresh for every run
    <suite>/<task>/repo.bundle   ... or a git bundle (`[repo] bundle`, at `[repo] rev`)
    <suite>/<task>/hidden/       files copied over the repository only for the check

Loading is pure reading and validation: every problem is a `UsageError` naming the file and
the key, never a traceback.
"""

from __future__ import annotations

import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from once.errors import UsageError

TASK_FILE = "task.toml"
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
MODES = ("agent", "plan-then-execute")
BUILTIN = "builtin"
_TOP_KEYS = {"description", "prompt", "prompts", "check", "tags", "limits", "agent", "repo", "hidden", "family"}


@dataclass(frozen=True)
class Limits:
    turns: int = 12
    """Most model turns per prompt."""
    tokens: int | None = None
    """Input plus output tokens across the whole task; more is a failure of kind `tokens`."""
    time: float = 600.0
    """Seconds of wall time for the whole task (every prompt); more is a failure of kind `timeout`."""
    check_timeout: float = 120.0


@dataclass(frozen=True)
class Family:
    """A member of a task family for the learning experiment (see `once.evals.learning`)."""

    name: str
    order: int
    correction: str
    """What a user says after this member failed; it carries the fix the model did not know."""


@dataclass(frozen=True)
class Task:
    name: str
    folder: Path
    prompts: tuple[str, ...]
    check: str
    description: str = ""
    tags: tuple[str, ...] = ()
    limits: Limits = field(default_factory=Limits)
    allow: tuple[str, ...] = ()
    """Commands the agent may run without asking during this task (its policy.allow)."""
    mode: str = "agent"
    repo_dir: Path | None = None
    bundle: Path | None = None
    rev: str | None = None
    hidden: Path | None = None
    family: Family | None = None

    def check_command(self, python: str = sys.executable) -> str:
        """The check with `{python}` replaced by the running interpreter (quoted if needed)."""
        import shlex

        return self.check.replace("{python}", shlex.quote(python))


def load_task(folder: Path) -> Task:
    """Read and validate one task folder."""
    folder = Path(folder)
    path = folder / TASK_FILE
    if not path.is_file():
        raise UsageError(f"no {TASK_FILE} in {folder}", hint="A task is a folder with task.toml and repo/.")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path} is not valid TOML: {exc}") from None
    return parse_task(data, folder)


def parse_task(data: dict[str, Any], folder: Path) -> Task:
    where = str(folder / TASK_FILE)
    name = folder.name
    if not NAME_RE.match(name):
        raise UsageError(f"{folder}: a task folder's name must be lowercase letters, digits and hyphens")
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise UsageError(f"{where}: unknown key {unknown[0]!r}", hint=f"Known keys: {', '.join(sorted(_TOP_KEYS))}.")
    repo_dir, bundle, rev = _repo(data.get("repo", {}), folder, where)
    return Task(
        name=name, folder=folder, prompts=_prompts(data, where), check=_text(data, "check", where),
        description=_text(data, "description", where, required=False),
        tags=_strings(data.get("tags", []), "tags", where),
        limits=_limits(data.get("limits", {}), where),
        allow=_strings(_table(data, "agent", where).get("allow", []), "agent.allow", where),
        mode=_mode(_table(data, "agent", where), where),
        repo_dir=repo_dir, bundle=bundle, rev=rev, hidden=_hidden(data.get("hidden", {}), folder, where),
        family=_family(data.get("family"), where),
    )


def _text(data: dict[str, Any], key: str, where: str, *, required: bool = True) -> str:
    value = data.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"{where}: `{key}` must be a non-empty string")
    return value.strip()


def _strings(value: Any, key: str, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise UsageError(f"{where}: `{key}` must be a list of non-empty strings")
    return tuple(v.strip() for v in value)


def _table(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise UsageError(f"{where}: `{key}` must be a table ([{key}])")
    return value


def _prompts(data: dict[str, Any], where: str) -> tuple[str, ...]:
    if ("prompt" in data) == ("prompts" in data):
        raise UsageError(f"{where}: give `prompt` (one) or `prompts` (a conversation), exactly one of them")
    if "prompt" in data:
        return (_text(data, "prompt", where),)
    prompts = _strings(data["prompts"], "prompts", where)
    if not prompts:
        raise UsageError(f"{where}: `prompts` is empty")
    return prompts


def _limits(value: Any, where: str) -> Limits:
    if not isinstance(value, dict):
        raise UsageError(f"{where}: `limits` must be a table ([limits])")
    known = {"turns": int, "tokens": int, "time": (int, float), "check_timeout": (int, float)}
    for key, item in value.items():
        if key not in known:
            raise UsageError(f"{where}: unknown key `limits.{key}`", hint=f"Known: {', '.join(known)}.")
        if isinstance(item, bool) or not isinstance(item, known[key]) or item <= 0:
            raise UsageError(f"{where}: `limits.{key}` must be a positive number")
    return Limits(**{k: (float(v) if k in ("time", "check_timeout") else v) for k, v in value.items()})


def _mode(agent: dict[str, Any], where: str) -> str:
    unknown = sorted(set(agent) - {"allow", "mode"})
    if unknown:
        raise UsageError(f"{where}: unknown key `agent.{unknown[0]}`", hint="Known: allow, mode.")
    mode = agent.get("mode", "agent")
    if mode not in MODES:
        raise UsageError(f"{where}: `agent.mode` must be one of {', '.join(MODES)}")
    return mode


def _inside(folder: Path, relative: Any, key: str, where: str) -> Path:
    if not isinstance(relative, str) or not relative.strip():
        raise UsageError(f"{where}: `{key}` must be a path inside the task folder")
    path = (folder / relative).resolve()
    if not path.is_relative_to(folder.resolve()):
        raise UsageError(f"{where}: `{key}` = {relative!r} points outside the task folder")
    return path


def _repo(value: Any, folder: Path, where: str) -> tuple[Path | None, Path | None, str | None]:
    if not isinstance(value, dict):
        raise UsageError(f"{where}: `repo` must be a table ([repo])")
    unknown = sorted(set(value) - {"path", "bundle", "rev"})
    if unknown:
        raise UsageError(f"{where}: unknown key `repo.{unknown[0]}`", hint="Known: path, bundle, rev.")
    if "bundle" in value:
        if "path" in value:
            raise UsageError(f"{where}: `repo.path` and `repo.bundle` both give the starting repository")
        bundle = _inside(folder, value["bundle"], "repo.bundle", where)
        if not bundle.is_file():
            raise UsageError(f"{where}: the bundle {bundle} does not exist")
        rev = value.get("rev")
        if rev is not None and (not isinstance(rev, str) or not rev.strip()):
            raise UsageError(f"{where}: `repo.rev` must be a commit, branch or tag name")
        return None, bundle, rev
    repo = _inside(folder, value.get("path", "repo"), "repo.path", where)
    if not repo.is_dir():
        raise UsageError(f"{where}: the starting repository {repo} is not a folder",
                         hint="Put the files in repo/ beside task.toml, or name a bundle with [repo] bundle.")
    return repo, None, None


def _hidden(value: Any, folder: Path, where: str) -> Path | None:
    if not isinstance(value, dict):
        raise UsageError(f"{where}: `hidden` must be a table ([hidden])")
    if "path" not in value:
        default = folder / "hidden"
        return default if default.is_dir() else None
    hidden = _inside(folder, value["path"], "hidden.path", where)
    if not hidden.is_dir():
        raise UsageError(f"{where}: the hidden files folder {hidden} does not exist")
    return hidden


def _family(value: Any, where: str) -> Family | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise UsageError(f"{where}: `family` must be a table ([family])")
    name, order, correction = value.get("name"), value.get("order"), value.get("correction")
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise UsageError(f"{where}: `family.name` must be lowercase letters, digits and hyphens")
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise UsageError(f"{where}: `family.order` must be a whole number from 1")
    if not isinstance(correction, str) or not correction.strip():
        raise UsageError(f"{where}: `family.correction` must say what a user tells the agent after a failure")
    return Family(name, order, correction.strip())


def builtin_suite_dir() -> Path:
    return Path(__file__).resolve().parent / "suites" / BUILTIN


def suite_dir(suite: str | Path) -> Path:
    """`builtin`, another bundled suite's name, or a folder."""
    if str(suite) in bundled_suites():
        return Path(__file__).resolve().parent / "suites" / str(suite)
    path = Path(suite).expanduser()
    if not path.is_dir():
        names = ", ".join(bundled_suites())
        raise UsageError(f"no suite folder {path}", hint=f"Give a folder of tasks, or a bundled suite: {names}.")
    return path


def bundled_suites() -> list[str]:
    root = Path(__file__).resolve().parent / "suites"
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))) \
        if root.is_dir() else []


def load_suite(suite: str | Path, *, only: list[str] | None = None, tags: list[str] | None = None) -> list[Task]:
    """The tasks of a suite (a folder of task folders, or one task folder), filtered, by name."""
    root = suite_dir(suite)
    folders = [root] if (root / TASK_FILE).is_file() else sorted(
        p for p in root.iterdir() if p.is_dir() and (p / TASK_FILE).is_file())
    if not folders:
        raise UsageError(f"{root} holds no task (no */{TASK_FILE})")
    tasks = [load_task(folder) for folder in folders]
    if only:
        missing = sorted(set(only) - {t.name for t in tasks})
        if missing:
            raise UsageError(f"no task named {missing[0]!r} in {root}")
        tasks = [t for t in tasks if t.name in only]
    if tags:
        tasks = [t for t in tasks if set(tags) & set(t.tags)]
        if not tasks:
            raise UsageError(f"no task in {root} is tagged {' or '.join(tags)}")
    return tasks


def missing_tools(tasks: list[Task], python: str = sys.executable) -> list[str]:
    """What the checks of these tasks need and this machine lacks, said for a person."""
    import shutil
    import subprocess

    problems = []
    pytest_tasks = [t.name for t in tasks if "-m pytest" in t.check]
    if pytest_tasks:
        found = subprocess.run([python, "-c", "import pytest"], capture_output=True).returncode == 0
        if not found:
            problems.append(f"{len(pytest_tasks)} task checks run pytest, which {python} cannot import "
                            "(install it: python3 -m pip install pytest)")
    node_tasks = [t.name for t in tasks if t.check.lstrip().startswith("node ")]
    if node_tasks and shutil.which("node") is None:
        problems.append(f"{len(node_tasks)} task checks run node, which is not installed "
                        "(or leave them out with --tag python)")
    return problems
