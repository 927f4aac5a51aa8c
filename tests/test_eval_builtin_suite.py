"""The builtin eval suite: every task is well formed, unsolved at the start, and solvable.

For each task folder under src/once/evals/suites/builtin, the check must FAIL on the starting
repository (with hidden/ overlaid) and PASS once the reference solution/ is copied over it.
Everything runs on copies in a temporary directory; the suite itself is never written to.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

SUITE = Path(__file__).resolve().parents[1] / "src" / "once" / "evals" / "suites" / "builtin"
TASKS = sorted(p for p in SUITE.iterdir() if p.is_dir()) if SUITE.is_dir() else []
KINDS = {
    "add-function", "fix-test", "rename", "convention", "traceback", "plan-then-execute", "readme-tests",
    "create-file", "multi-prompt", "edit-middle",
}
LANGUAGES = {"python", "javascript"}
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", "node_modules")


def _load(task: Path) -> dict:
    with (task / "task.toml").open("rb") as fh:
        return tomllib.load(fh)


def _needs_node(spec: dict) -> bool:
    return "javascript" in spec.get("tags", [])


def _workdir(task: Path, dest: Path, *, solved: bool) -> Path:
    work = dest / ("solved" if solved else "start") / task.name
    shutil.copytree(task / "repo", work, ignore=IGNORED)
    layers = (["solution"] if solved else []) + ["hidden"]
    for layer in layers:
        if (task / layer).is_dir():
            shutil.copytree(task / layer, work, dirs_exist_ok=True, ignore=IGNORED)
    return work


def _run_check(spec: dict, cwd: Path) -> subprocess.CompletedProcess[str]:
    command = spec["check"].replace("{python}", f'"{sys.executable}"')
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_") and k != "PYTHONPATH"}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    # The checks use no pytest plugin; skipping the installed ones (hypothesis, ...) saves ~1 s a run.
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return subprocess.run(command, shell=True, cwd=cwd, env=env, capture_output=True, text=True, timeout=180)  # a loaded disk stalls


def test_suite_has_enough_tasks() -> None:
    assert (SUITE / "suite.toml").is_file()
    specs = [_load(task) for task in TASKS]
    assert len(specs) >= 25
    assert sum("javascript" in spec["tags"] for spec in specs) >= 6
    assert sum("python" in spec["tags"] for spec in specs) >= 15
    kinds_seen = [kind for spec in specs for kind in spec["tags"] if kind in KINDS]
    for kind in KINDS:
        assert kinds_seen.count(kind) >= 2, f"only {kinds_seen.count(kind)} task(s) of kind {kind}"


def test_suite_folder_is_clean() -> None:
    """No caches or bytecode in the suite: the harness and these tests work on copies."""
    strays = [p for p in SUITE.rglob("*") if p.name in {"__pycache__", ".pytest_cache", "node_modules", ".git"}
              or p.suffix == ".pyc"]
    assert strays == []


@pytest.mark.parametrize("task", TASKS, ids=[t.name for t in TASKS])
def test_task_is_well_formed(task: Path) -> None:
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", task.name)
    spec = _load(task)
    assert isinstance(spec.get("description"), str) and spec["description"]
    prompts = spec.get("prompts", [spec.get("prompt")])
    assert ("prompt" in spec) != ("prompts" in spec), "exactly one of prompt / prompts"
    assert prompts and all(isinstance(p, str) and p.strip() for p in prompts)
    if "multi-prompt" in spec["tags"]:
        assert len(prompts) >= 2
    assert isinstance(spec.get("check"), str) and spec["check"]
    tags = spec.get("tags")
    assert isinstance(tags, list)
    assert len(LANGUAGES & set(tags)) == 1
    assert KINDS & set(tags)
    assert task.name.startswith({"python": "py-", "javascript": "js-"}[(LANGUAGES & set(tags)).pop()])
    assert (task / "repo").is_dir() and any((task / "repo").iterdir())
    assert (task / "solution").is_dir() and any((task / "solution").iterdir())
    # The harness substitutes the running interpreter; a bare python would pick whatever is on PATH.
    assert not re.search(r"(?<![{\w])python3?\b", spec["check"]), spec["check"]
    if "python" in tags and "pytest" in spec["check"]:
        assert "-p no:cacheprovider" in spec["check"]
        # The sample repo carries its own pytest config, so no enclosing project's config is picked up.
        assert (task / "repo" / "pyproject.toml").is_file()
    if "javascript" in tags:
        assert spec["check"].startswith("node ")
    assert spec["limits"]["turns"] == 12 and spec["limits"]["time"] == 300
    if "plan-then-execute" in tags:
        assert spec["agent"]["mode"] == "plan-then-execute"
    else:
        assert spec.get("agent", {}).get("mode", "agent") == "agent"
    assert "python*" in spec["agent"]["allow"] and "node*" in spec["agent"]["allow"]
    for path in (task / "repo").rglob("*"):
        if path.is_file():
            assert len(path.read_text(encoding="utf-8").splitlines()) < 80, path


@pytest.mark.parametrize("task", TASKS, ids=[t.name for t in TASKS])
def test_check_fails_before_and_passes_with_solution(task: Path, tmp_path: Path) -> None:
    spec = _load(task)
    if _needs_node(spec) and shutil.which("node") is None:
        pytest.skip("node is not installed")
    start = _run_check(spec, _workdir(task, tmp_path, solved=False))
    assert start.returncode != 0, f"check passes on the unsolved repo:\n{start.stdout}\n{start.stderr}"
    solved = _run_check(spec, _workdir(task, tmp_path, solved=True))
    assert solved.returncode == 0, f"check fails with the reference solution:\n{solved.stdout}\n{solved.stderr}"


def test_the_project_loader_reads_every_task() -> None:
    from once.evals.task import load_suite

    tasks = load_suite("builtin")
    assert sorted(t.name for t in tasks) == [t.name for t in TASKS]
    assert {t.mode for t in tasks} == {"agent", "plan-then-execute"}


LEARNING = SUITE.parent / "learning"
FAMILY_TASKS = sorted(p for p in LEARNING.iterdir() if p.is_dir()) if LEARNING.is_dir() else []


@pytest.mark.parametrize("task", FAMILY_TASKS, ids=[t.name for t in FAMILY_TASKS])
def test_a_family_members_check_fails_before_and_passes_with_its_solution(task: Path, tmp_path: Path) -> None:
    spec = _load(task)
    start = _run_check(spec, _workdir(task, tmp_path, solved=False))
    assert start.returncode != 0, f"check passes on the unsolved repo:\n{start.stdout}\n{start.stderr}"
    solved = _run_check(spec, _workdir(task, tmp_path, solved=True))
    assert solved.returncode == 0, f"check fails with the reference solution:\n{solved.stdout}\n{solved.stderr}"
    # The trap is in no file the agent starts with: only the correction (or a learned entry) says it.
    rule = {"cents": "int number of cents", "log": "never prints", "changes": "every change adds a line"}
    said = rule[spec["family"]["name"]]
    assert said in spec["family"]["correction"]
    seen = "\n".join(p.read_text() for p in (task / "repo").rglob("*") if p.is_file())
    assert said not in seen


def test_the_learning_suite_has_three_families_of_three() -> None:
    from once.evals.learning import families_of
    from once.evals.task import load_suite

    families = families_of(load_suite("learning"))
    assert sorted(families) == ["cents", "changes", "log"]
    assert all([t.family.order for t in members] == [1, 2, 3] for members in families.values())
