"""What the app needs to start a run, with no Textual in it: repo, settings, provider, database.

The provider is built once per session so a replay cassette keeps its position across prompts, and
lazily, at the first prompt: a missing API key is then a notice in the app, not a refusal to open.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from once.agent.approvals import PERMISSION_MODES, Approver
from once.config import Settings, load_settings
from once.errors import UsageError
from once.vcs import GitRepo

if TYPE_CHECKING:  # the store and the providers load at the first prompt, after the first paint
    from once.agent.result import RunResult
    from once.agent.small import SmallAsk
    from once.events import EventSink
    from once.providers.base import Provider, TextCallback

TUI_DEFAULT_MODE = "ask"


@dataclass
class Backend:
    repo: GitRepo
    settings: Settings
    provider: Provider | None
    db: Path | None = None
    permission_mode: str = TUI_DEFAULT_MODE
    """How edits and commands are approved in Agent mode."""
    mode: str = "agent"
    """"agent" or "plan" (the next prompt writes a plan; read-only end to end)."""
    make_provider: Callable[[], Provider] | None = None
    """Builds the provider when `provider` is None (it may raise, e.g. no API key)."""
    make_small: Callable[[], SmallAsk | None] | None = None
    """Builds the small-model role at the first prompt (None: offline, as a replay without --replay-small)."""
    _small: tuple[SmallAsk | None] | None = None

    def branch(self) -> str:
        return self.repo.branch() or "(detached)"

    def skill_names(self) -> list[str]:
        from once.paths import config_dir
        from once.skills.discovery import discover_skills

        return [skill.name for skill in discover_skills(self.repo.root, config_dir())[0]]

    def run(self, prompt: str, *, sink: EventSink, on_text: TextCallback, approver: Approver,
            session_id: str | None, plan_text: str | None = None,
            cancel: threading.Event | None = None, attachments: str = "") -> RunResult:
        """One prompt (or an approved plan, in Agent mode), run to the end in the calling thread.

        `cancel`, once set, stops a running command at once (the sink stops the loop itself)."""
        from once.agent.runner import RunRequest, run_once  # the whole agent loads at the first prompt, not at start
        from once.store import open_store

        mode = "agent" if plan_text is not None else self.mode
        permission = "plan" if mode == "plan" else self.permission_mode
        request = RunRequest(prompt=prompt, mode=mode, sinks=[sink], on_text=on_text, approver=approver,
                             permission_mode=permission, session_id=session_id, plan_text=plan_text,
                             cancel=cancel, attachments=attachments, small=self.ensure_small())
        provider = self.ensure_provider()
        with open_store(str(self.db) if self.db else None) as store:
            return run_once(request, repo=self.repo, settings=self.settings, provider=provider, store=store)

    def ensure_provider(self) -> Provider:
        if self.provider is None:
            if self.make_provider is None:
                raise UsageError("no model provider is configured", hint="Pass --provider or --replay.")
            self.provider = self.make_provider()
        return self.provider

    def ensure_small(self) -> SmallAsk | None:
        if self._small is None:
            self._small = (self.make_small() if self.make_small is not None else None,)
        return self._small[0]


def build_backend(repo: Path, *, db: Path | None = None, replay: Path | None = None, model: str | None = None,
                  provider: str | None = None, permission_mode: str | None = None,
                  flags: dict[str, object] | None = None, replay_small: Path | None = None,
                  record: Path | None = None) -> Backend:
    """`flags`: the settings the command line overrides, as `agent run` takes them (--base-url, --small-model...)."""
    if permission_mode is not None and permission_mode not in PERMISSION_MODES:
        raise UsageError(f"unknown permission mode '{permission_mode}'",
                         hint=f"Use one of {', '.join(PERMISSION_MODES)}.")
    git = GitRepo.open(repo)
    given = {"provider": "replay" if replay is not None else provider, "model": model, **(flags or {})}
    settings = load_settings(git.root, flags=given)
    # A configured base_url is the openai server's; the anthropic API moves only when asked on the command line.
    flag_url = given.get("base_url")
    server = settings.base_url if settings.provider == "openai" else (str(flag_url) if flag_url else None)

    def provider_now() -> Provider:
        from once.providers import make_provider

        return make_provider(settings.provider, replay=replay, record=record, base_url=server,
                             timeout=settings.request_timeout)

    permission = permission_mode or settings.permission_mode or TUI_DEFAULT_MODE
    backend = Backend(repo=git, settings=settings, provider=None, db=db, make_provider=provider_now,
                      make_small=lambda: _small_model(settings, replay, replay_small, server))
    if permission == "plan":  # `--permission-mode plan` starts in Plan mode; Agent mode then asks
        backend.mode = "plan"
    else:
        backend.permission_mode = permission
    return backend


def _small_model(settings: Settings, replay: Path | None, replay_small: Path | None,
                 server: str | None) -> SmallAsk | None:
    """The small-model role as `agent run` builds it: its own cassette under a replay, else the same backend."""
    from once.agent.small import small_ask
    from once.providers import make_provider

    if replay is not None:
        if replay_small is None:
            return None  # offline: every small-model caller takes its deterministic path
        return small_ask(make_provider("replay", replay=replay_small), settings.small_model, prices=settings.prices)
    if settings.provider == "openai" and settings.sources.get("small_model") == "default":
        return None  # a local server runs one model; a second prompt prefix would evict its prompt cache
    backend = make_provider(settings.provider, base_url=server, timeout=settings.request_timeout)
    return small_ask(backend, settings.small_model, prices=settings.prices)
