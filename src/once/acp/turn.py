"""One `session/prompt`: the same run as `agent run`, in a worker thread, its events streamed.

The run is `run_once` with the client as its approver, its reader and writer of files (when
it offers `fs/read_text_file` and `fs/write_text_file`) and its audience; a `session/cancel`
sets the turn's cancellation, which stops the run the way the app's Escape does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from once.acp.bridge import ClientCallFailed, LoopBridge
from once.acp.files import ClientFiles, ClientWrites
from once.acp.permissions import ClientApprover
from once.acp.sessions import AcpSession, run_modes
from once.acp.updates import Update, UpdateMapper, closing_text, plan_update
from once.agent.cancel import Cancellation
from once.agent.plan import parse_steps
from once.agent.result import RunResult
from once.events import Cancelled, Event

STOP_REASONS = {"max_turns": "max_turn_requests"}
"""once's run statuses that have an ACP stop reason of their own; the rest end the turn."""


@dataclass
class Turn:
    session: AcpSession
    prompt: str
    plan_text: str | None
    conn: Any
    """The SDK's connection to the client."""
    bridge: LoopBridge
    models: Any
    """The provider and small model, shared by every turn of the server (see server.Models)."""
    db: Path | None
    client_reads: bool
    """The client offers fs/read_text_file."""
    client_writes: bool
    """The client offers fs/write_text_file."""


class TurnStream:
    """The run's sink, text callback and approver, all speaking to the client."""

    def __init__(self, turn: Turn, cancellation: Cancellation) -> None:
        self.turn = turn
        self.cancellation = cancellation
        steps = parse_steps(turn.plan_text) if turn.plan_text else None
        self.mapper = UpdateMapper(turn.session.repo.root, steps)

    def send(self, updates: list[Update]) -> None:
        for update in updates:
            try:
                self.turn.bridge.call(self.turn.conn.session_update(session_id=self.turn.session.id, update=update))
            except ClientCallFailed:
                self.cancellation.set()  # nobody is listening: stop at the next safe point

    def event(self, event: Event) -> None:
        self.send(self.mapper.event(event))
        self.cancellation.at_event(event)

    def text(self, delta: str) -> None:
        self.cancellation.stop_if_cancelled()
        self.send(self.mapper.text(delta))

    def approver(self) -> ClientApprover:
        sid = self.turn.session.id
        return ClientApprover(
            self.turn.bridge, lambda tool_call, options: self.turn.conn.request_permission(
                session_id=sid, tool_call=tool_call, options=options),
            self.turn.session.repo.root, self.cancellation.event, lambda: self.mapper.tool_call_id)

    def reader(self) -> ClientFiles | None:
        if not self.turn.client_reads:
            return None
        sid = self.turn.session.id
        return ClientFiles(self.turn.bridge, lambda path: self.turn.conn.read_text_file(session_id=sid, path=path))

    def writer(self) -> ClientWrites | None:
        if not self.turn.client_writes:
            return None
        sid = self.turn.session.id
        return ClientWrites(self.turn.bridge, lambda path, text: self.turn.conn.write_text_file(
            session_id=sid, path=path, content=text))


def run_turn(turn: Turn, cancellation: Cancellation) -> str:
    """Run the prompt to its end; the ACP stop reason. Blocking: call it in a worker thread."""
    from once.agent.runner import RunRequest, run_once
    from once.store import open_store

    session = turn.session
    stream = TurnStream(turn, cancellation)
    mode, permission = run_modes(session.mode, executing_plan=turn.plan_text is not None)
    request = RunRequest(
        prompt=turn.prompt, session_id=session.id, mode=mode, plan_text=turn.plan_text, sinks=[stream.event],
        on_text=stream.text, small=turn.models.small(session.settings), permission_mode=permission,
        approver=stream.approver(), cancel=cancellation.event, file_reader=stream.reader(),
        file_writer=stream.writer())
    stream.send(stream.mapper.plan_started())
    provider = turn.models.provider(session.settings)
    with open_store(str(turn.db) if turn.db else None) as store:
        try:
            result = run_once(request, repo=session.repo, settings=session.settings, provider=provider, store=store)
        except KeyboardInterrupt:  # cancelled before the loop could catch it (still preparing)
            return "cancelled"
        if cancellation.is_set():
            store.append_event(Cancelled(run_id=result.run_id, reason="user"))  # as the app records Escape
    stream.send(_closing(stream.mapper, result))
    session.plan_ready = result.plan_path is not None
    return "cancelled" if cancellation.is_set() else STOP_REASONS.get(result.status, "end_turn")


def _closing(mapper: UpdateMapper, result: RunResult) -> list[Update]:
    """What the client has not seen yet: the plan as entries, or the checks' report and the status."""
    from acp import update_agent_message_text

    if result.plan_path is not None:
        note = f"\n\nThe plan is in {result.plan_path}. Send /approve to carry it out.\n"
        return [plan_update(parse_steps(result.result), {}), update_agent_message_text(note)]
    extra = closing_text(result.result, mapper.last_text)
    if result.status not in ("done", "interrupted"):
        extra = f"{extra}\n\nThe run ended: {result.status}.".strip()
    return [update_agent_message_text(f"\n\n{extra}\n")] if extra else []
