"""The plan under review in the app: read `.once/plan.md`, save the user's edits, check it has steps."""

from __future__ import annotations

from pathlib import Path

from once.atomic import atomic_write_text
from once.errors import UsageError
from once.paths import project_dir

PLAN_NAME = "plan.md"


def plan_path(repo_root: Path) -> Path:
    return project_dir(repo_root) / PLAN_NAME


def load_plan(repo_root: Path) -> str:
    path = plan_path(repo_root)
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def check_plan(text: str) -> None:
    """A plan can be approved only with numbered steps (they drive the progress shown)."""
    if not text.strip():
        raise UsageError("the plan is empty", hint="Write a plan in Plan mode first (shift+tab, then a prompt).")
    from once.agent.plan import parse_steps  # lazily: it brings the agent's tools along

    if not parse_steps(text):
        raise UsageError("the plan has no numbered steps under '## Steps'",
                         hint="Add steps like '1. Add the flag to cli.py', then approve again.")


def save_plan(repo_root: Path, text: str) -> Path:
    path = plan_path(repo_root)
    atomic_write_text(path, text if text.endswith("\n") else text + "\n")
    return path


def approved_prompt(path: Path, repo_root: Path) -> str:
    """The same prompt `agent approve` gives the run."""
    try:
        shown = path.relative_to(repo_root)
    except ValueError:
        shown = path
    return f"Carry out the approved plan in {shown}."
