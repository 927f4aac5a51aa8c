"""What the app needs to start a run, with no Textual in it: repo, settings, provider, database.

The provider is built once per session so a replay cassette keeps its position across prompts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from once.agent.permissions import PERMISSION_MODES, Approver
from once.agent.result import RunResult
from once.agent.runner import RunRequest, run_once
from once.config import Settings, load_settings
from once.errors import UsageError
from once.events import EventSink
from once.providers import make_provider
from once.providers.base import Provider, TextCallback
from once.store import open_store
from once.vcs import GitRepo

TUI_DEFAULT_MODE = "ask"


@dataclass
class Backend:
    repo: GitRepo
    settings: Settings
    provider: Provider
    db: Path | None = None
    permission_mode: str = TUI_DEFAULT_MODE

    def branch(self) -> str:
        return self.repo.branch() or "(detached)"

    def run(self, prompt: str, *, sink: EventSink, on_text: TextCallback, approver: Approver,
            session_id: str | None) -> RunResult:
        """One prompt, run to the end in the calling thread (the app's worker)."""
        mode = "plan" if self.permission_mode == "plan" else "agent"  # plan mode is read-only end to end
        request = RunRequest(prompt=prompt, mode=mode, sinks=[sink], on_text=on_text, approver=approver,
                             permission_mode=self.permission_mode, session_id=session_id)
        with open_store(str(self.db) if self.db else None) as store:
            return run_once(request, repo=self.repo, settings=self.settings, provider=self.provider, store=store)


def build_backend(repo: Path, *, db: Path | None = None, replay: Path | None = None, model: str | None = None,
                  provider: str | None = None, permission_mode: str | None = None) -> Backend:
    if permission_mode is not None and permission_mode not in PERMISSION_MODES:
        raise UsageError(f"unknown permission mode '{permission_mode}'",
                         hint=f"Use one of {', '.join(PERMISSION_MODES)}.")
    git = GitRepo.open(repo)
    flags = {"provider": "replay" if replay is not None else provider, "model": model}
    settings = load_settings(git.root, flags=flags)
    server = settings.base_url if settings.provider == "openai" else None
    llm = make_provider(settings.provider, replay=replay, base_url=server, timeout=settings.request_timeout)
    mode = permission_mode or settings.permission_mode or TUI_DEFAULT_MODE
    return Backend(repo=git, settings=settings, provider=llm, db=db, permission_mode=mode)
