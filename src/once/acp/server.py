"""The ACP agent: initialize, sessions, modes, prompts and cancel, over the SDK's connection."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import acp
from acp import RequestError
from acp.helpers import update_available_commands
from acp.schema import (
    AgentCapabilities, AvailableCommand, ClientCapabilities, Implementation, InitializeResponse, LoadSessionResponse,
    NewSessionResponse, PromptCapabilities, PromptResponse, SetSessionModeResponse,
)

from once import __version__
from once.acp.bridge import LoopBridge
from once.acp.prompt_text import prompt_text
from once.acp.sessions import AcpSession, available_modes, initial_mode, mode_state, open_session
from once.acp.turn import Turn, run_turn
from once.agent.cancel import Cancellation
from once.cli.run_options import RunOptions
from once.errors import OnceError

APPROVE = "approve"
COMMANDS = [AvailableCommand(name=APPROVE, description="Carry out the plan in .once/plan.md, step by step.")]


def request_error(exc: OnceError) -> RequestError:
    """once's errors as JSON-RPC errors: the message and the hint, as the CLI prints them."""
    return RequestError(-32603, exc.message, {"hint": exc.hint} if exc.hint else None)


class OnceAgent:
    """Implements the SDK's `Agent` protocol; every run goes through `run_once`."""

    def __init__(self, options: RunOptions, models: Any) -> None:
        self.options = options
        self.models = models
        self.conn: Any = None
        self.client = ClientCapabilities()
        self.sessions: dict[str, AcpSession] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._live: set[Cancellation] = set()

    def on_connect(self, conn: Any) -> None:
        self.conn = conn

    async def initialize(self, protocol_version: int, client_capabilities: ClientCapabilities | None = None,
                         client_info: Any = None, **kwargs: Any) -> InitializeResponse:
        self.client = client_capabilities or ClientCapabilities()
        return InitializeResponse(
            protocol_version=min(protocol_version, acp.PROTOCOL_VERSION),
            agent_capabilities=AgentCapabilities(
                load_session=True, prompt_capabilities=PromptCapabilities(embedded_context=True)),
            agent_info=Implementation(name="once", title="once", version=__version__))

    async def new_session(self, cwd: str, mcp_servers: Any = None, **kwargs: Any) -> NewSessionResponse:
        session = await asyncio.to_thread(self._open, cwd, None)
        self._after_answer(session.id, [update_available_commands(COMMANDS)])
        return NewSessionResponse(session_id=session.id, modes=self._modes(session))

    async def load_session(self, cwd: str, session_id: str, mcp_servers: Any = None,
                           **kwargs: Any) -> LoadSessionResponse:
        session = await asyncio.to_thread(self._open, cwd, session_id)
        for update in await asyncio.to_thread(self._history, session):
            await self.conn.session_update(session_id=session.id, update=update)
        self._after_answer(session.id, [update_available_commands(COMMANDS)])
        return LoadSessionResponse(modes=self._modes(session))

    async def set_session_mode(self, session_id: str, mode_id: str, **kwargs: Any) -> SetSessionModeResponse:
        session = self._session(session_id)
        modes = available_modes(self._full_auto(session))
        if mode_id not in modes:
            raise RequestError.invalid_params({"modeId": mode_id, "modes": list(modes)})
        session.mode = mode_id  # the next turn runs in it; a running turn keeps its own
        return SetSessionModeResponse()

    async def prompt(self, session_id: str, prompt: list[Any], **kwargs: Any) -> PromptResponse:
        session = self._session(session_id)
        if session.running:
            raise RequestError.invalid_request({"details": "this session is still answering the last prompt"})
        text = prompt_text(prompt)
        if not text.strip():
            raise RequestError.invalid_params({"details": "the prompt is empty"})
        try:
            turn = self._turn(session, text)
        except OnceError as exc:
            raise request_error(exc) from None
        session.cancellation = Cancellation()
        try:
            stop = await asyncio.to_thread(self._run, turn, session.cancellation)
        except OnceError as exc:
            raise request_error(exc) from None
        finally:
            session.cancellation = None
        return PromptResponse(stop_reason=stop)

    def _run(self, turn: Turn, cancellation: Cancellation) -> str:
        """In the worker thread; the turn stays cancellable until it has really ended."""
        self._live.add(cancellation)
        try:
            return run_turn(turn, cancellation)
        finally:
            self._live.discard(cancellation)

    async def cancel(self, session_id: str, **kwargs: Any) -> None:
        session = self.sessions.get(session_id)
        if session is not None and session.cancellation is not None:
            session.cancellation.set()

    def cancel_all(self) -> None:
        """The client went away: every turn still running stops as if cancelled."""
        for cancellation in list(self._live):
            cancellation.set()

    def _turn(self, session: AcpSession, text: str) -> Turn:
        plan_text = None
        if text.strip() == f"/{APPROVE}":
            from once.cli.plan_cmd import approved_plan_prompt, read_plan

            path = Path(".once") / "plan.md"
            plan_text = read_plan(session.repo.root / path)
            text = approved_plan_prompt(path)
        return Turn(session=session, prompt=text, plan_text=plan_text, conn=self.conn,
                    bridge=LoopBridge(asyncio.get_running_loop()), models=self.models, db=self.options.db,
                    client_reads=bool(self.client.fs and self.client.fs.read_text_file),
                    client_writes=bool(self.client.fs and self.client.fs.write_text_file))

    def _open(self, cwd: str, session_id: str | None) -> AcpSession:
        """The repository at `cwd` and once's session in it: a new one, or the stored one to load."""
        try:
            session = open_session(cwd, session_id, self.options)
        except OnceError as exc:
            raise request_error(exc) from None
        session.mode = initial_mode(session.settings.permission_mode)
        self.sessions[session.id] = session
        return session

    def _history(self, session: AcpSession) -> list[Any]:
        from once.acp.history import replayed
        from once.conversation import load_session

        messages, prompts = load_session(self.options.db, session.id)
        return replayed(session.repo.root, messages, prompts)

    def _session(self, session_id: str) -> AcpSession:
        session = self.sessions.get(session_id)
        if session is None:
            raise RequestError.invalid_params({"sessionId": session_id, "details": "no such session; load it first"})
        return session

    def _modes(self, session: AcpSession) -> Any:
        return mode_state(session.mode, self._full_auto(session))

    @staticmethod
    def _full_auto(session: AcpSession) -> bool:
        """Offered only when the flag or the config chose it: a click in the editor never grants it."""
        return session.settings.permission_mode == "full-auto"

    def _after_answer(self, session_id: str, updates: list[Any]) -> None:
        """Send updates right after the response: a client learns of a session from the response."""
        async def send() -> None:
            for update in updates:
                await self.conn.session_update(session_id=session_id, update=update)

        task = asyncio.get_running_loop().create_task(send())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

