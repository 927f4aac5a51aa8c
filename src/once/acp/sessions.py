"""ACP sessions are once's sessions: the same id, the same stored conversation, in one repository.

A session also carries its mode (plan, ask, auto-edit) and the cancellation of the turn it is
running, if any.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from acp.schema import SessionMode, SessionModeState

from once.agent.cancel import Cancellation
from once.vcs import GitRepo

MODES = {
    "ask": ("Ask", "Every edit, and every command the policy does not allow, asks first."),
    "auto-edit": ("Auto-edit", "Edits land and are committed; commands the policy does not allow ask first, "
                  "unless the sandbox confines them."),
    "plan": ("Plan", "Read only: explore and write a plan to .once/plan.md; /approve carries it out."),
}
FULL_AUTO = ("Full auto", "Nothing asks; the policy's denials still hold.")
DEFAULT_MODE = "ask"
"""An editor has someone to ask, as the app does."""


@dataclass
class AcpSession:
    id: str
    repo: GitRepo
    settings: Any
    mode: str
    cancellation: Cancellation | None = None
    """The running turn's, None between turns."""
    plan_ready: bool = field(default=False)
    """The last turn wrote .once/plan.md in plan mode."""

    @property
    def running(self) -> bool:
        return self.cancellation is not None


def open_session(cwd: str, session_id: str | None, options: Any) -> AcpSession:
    """The repository at `cwd` with the run's settings, and once's session in it: a new one, or
    the stored one `session_id` names (which must belong to that repository)."""
    from once.cli.executor import check_model
    from once.config import load_settings
    from once.errors import UsageError
    from once.store import open_store

    repo = GitRepo.open(Path(cwd))
    settings = load_settings(repo.root, flags=options.flags())
    check_model(settings)
    with open_store(str(options.db) if options.db else None) as store:
        if session_id is None:
            return AcpSession(store.create_session(str(repo.root)), repo, settings, DEFAULT_MODE)
        stored = store.get_session(session_id)
    if stored is None:
        raise UsageError(f"no session '{session_id}'", hint="List them with `agent sessions`.")
    if Path(stored["repo"]) != repo.root:
        raise UsageError(f"session '{session_id}' belongs to {stored['repo']}, not {repo.root}",
                         hint="Open that folder in the editor to load it.")
    return AcpSession(stored["id"], repo, settings, DEFAULT_MODE)


def available_modes(full_auto: bool) -> dict[str, tuple[str, str]]:
    return {**MODES, "full-auto": FULL_AUTO} if full_auto else dict(MODES)


def mode_state(current: str, full_auto: bool) -> SessionModeState:
    modes = available_modes(full_auto)
    return SessionModeState(current_mode_id=current, available_modes=[
        SessionMode(id=mode_id, name=name, description=description) for mode_id, (name, description) in modes.items()])


def initial_mode(configured: str | None) -> str:
    return configured if configured in MODES or configured == "full-auto" else DEFAULT_MODE


def run_modes(mode: str, executing_plan: bool) -> tuple[str, str]:
    """(run mode, permission mode) for a turn in this session mode."""
    if mode == "plan" and not executing_plan:
        return "plan", "plan"
    return "agent", DEFAULT_MODE if mode == "plan" else mode
