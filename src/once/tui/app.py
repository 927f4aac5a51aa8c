"""The Textual app: conversation, prompt input, Details panel, status line; runs in a thread worker."""

from __future__ import annotations

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Input, TabbedContent, TabPane

from once.agent.permissions import Answer, Decision
from once.errors import OnceError
from once.events import ErrorEvent, ModelResponse, RunStarted, ToolCall, ToolResult
from once.tui.adapter import RunAdapter
from once.tui.backend import Backend
from once.tui.messages import AgentEvent, ApprovalNeeded, RunEnded, TextDelta
from once.tui.widgets.approval import ApprovalScreen
from once.tui.widgets.conversation import Conversation
from once.tui.widgets.details import DetailsPanel
from once.tui.widgets.prompt_input import PromptInput
from once.tui.widgets.status_bar import StatusBar


class OnceApp(App[None]):
    TITLE = "once"
    CSS = """
    #main { height: 1fr; }
    #side { width: 40%; max-width: 60; border-left: solid $panel; }
    """
    BINDINGS = [Binding("escape", "cancel_run", "Cancel run")]

    def __init__(self, backend: Backend) -> None:
        super().__init__()
        self.backend = backend
        self.queue: list[str] = []
        """Prompts waiting for the current run to end (in memory for now)."""
        self.adapter: RunAdapter | None = None
        self.session_id: str | None = None
        self.finished: list[RunEnded] = []

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            yield Conversation(id="conversation")
            with TabbedContent(id="side"):
                with TabPane("Details", id="details-tab"):
                    yield DetailsPanel(id="details")
        yield StatusBar()
        yield PromptInput(id="prompt")

    def on_mount(self) -> None:
        status = self.query_one(StatusBar).status
        status.mode = self.backend.permission_mode
        status.model = self.backend.settings.model
        status.branch = self.backend.branch()
        self._refresh_status()
        self.query_one(PromptInput).focus()

    @property
    def running(self) -> bool:
        return self.adapter is not None

    def submit_prompt(self, text: str) -> None:
        """Start the prompt now, or queue it behind the running one."""
        text = text.strip()
        if not text:
            return
        if self.running:
            self.queue.append(text)
            self.query_one(Conversation).add_notice(f"queued: {text}")
            self._refresh_status()
        else:
            self._start(text)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if not isinstance(event.input, PromptInput):
            return
        event.stop()
        event.input.history.add(event.value)
        event.input.value = ""
        self.submit_prompt(event.value)

    def _start(self, prompt: str) -> None:
        self.adapter = RunAdapter(self.post_message)
        self.query_one(Conversation).add_prompt(prompt)
        self._refresh_status()
        self._run_in_thread(prompt, self.adapter)

    @work(thread=True, group="runs")
    def _run_in_thread(self, prompt: str, adapter: RunAdapter) -> None:
        """Blocking: the whole run happens here, never on the UI's event loop."""
        try:
            result = self.backend.run(prompt, sink=adapter, on_text=adapter.text, approver=adapter.approve,
                                      session_id=self.session_id)
        except OnceError as exc:
            hint = f"\n{exc.hint}" if exc.hint else ""
            self.post_message(RunEnded(prompt, None, f"{exc.message}{hint}"))
        except KeyboardInterrupt:
            self.post_message(RunEnded(prompt, None, "cancelled"))
        except Exception as exc:  # the session must stay usable whatever a run does
            self.post_message(RunEnded(prompt, None, f"{type(exc).__name__}: {exc}"))
        else:
            self.post_message(RunEnded(prompt, result))

    async def on_text_delta(self, message: TextDelta) -> None:
        await self.query_one(Conversation).add_text(message.text)

    def on_agent_event(self, message: AgentEvent) -> None:
        event = message.event
        conversation = self.query_one(Conversation)
        if isinstance(event, RunStarted):
            self.session_id = event.session_id
        elif isinstance(event, ToolCall):
            conversation.add_tool(event)
        elif isinstance(event, ToolResult):
            conversation.finish_tool(event)
        elif isinstance(event, ModelResponse):
            self._count_usage(event)
        elif isinstance(event, ErrorEvent):
            conversation.add_notice(f"error: {event.message}")
        self.query_one(DetailsPanel).add_event(event)

    def on_approval_needed(self, message: ApprovalNeeded) -> None:
        self.push_screen(ApprovalScreen(message.request), callback=message.reply.give)

    def on_run_ended(self, message: RunEnded) -> None:
        self.finished.append(message)
        self.adapter = None
        if isinstance(self.screen, ApprovalScreen):  # a cancelled run no longer waits for it
            self.screen.dismiss(Answer(Decision.reject, "the run ended"))
        conversation = self.query_one(Conversation)
        if message.error:
            conversation.add_notice(f"run stopped: {message.error}")
        elif message.result is not None and message.result.status != "done":
            conversation.add_notice(f"run {message.result.status}")
        self.query_one(StatusBar).status.branch = self.backend.branch()
        if self.queue:
            self._start(self.queue.pop(0))
        self._refresh_status()

    def action_cancel_run(self) -> None:
        if self.adapter is not None:
            self.adapter.cancel.set()
            self.query_one(Conversation).add_notice("cancelling…")

    def on_unmount(self) -> None:
        if self.adapter is not None:  # a worker waiting for an answer must not outlive the app
            self.adapter.cancel.set()

    def _count_usage(self, event: ModelResponse) -> None:
        status = self.query_one(StatusBar).status
        status.tokens += sum(v for k, v in event.usage.items() if k.endswith("tokens"))
        status.cost += event.cost_usd
        self._refresh_status()

    def _refresh_status(self) -> None:
        bar = self.query_one(StatusBar)
        bar.status.state = "running" if self.running else "idle"
        bar.status.queued = len(self.queue)
        bar.refresh_status()
