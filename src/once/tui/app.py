"""The Textual app: conversation, prompt input, side tabs, status line; runs happen in a thread worker.

Plan review lives in plan_flow.py and the actions on past work (rate, note, undo, sessions,
slash commands) in actions.py; this module starts runs and routes what they emit.
"""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import ModalScreen
from textual.widgets import TabbedContent, TabPane

from once.agent.approvals import Answer, Decision
from once.errors import OnceError, ProviderError
from once.tui import records
from once.tui.actions import Actions
from once.tui.allowances import Allowances
from once.tui.backend import Backend
from once.tui.commands import parse_slash
from once.tui.key_flow import KeyFlow
from once.tui.mentions import attach_mentions
from once.tui.messages import AgentEvent, AnswerSlot, ApprovalNeeded, RunEnded, TextDelta
from once.tui.plan_flow import PlanFlow
from once.tui.queue_flow import QueueFlow
from once.tui.widgets.approval import ApprovalPrompt
from once.tui.widgets.conversation import Conversation, Notice
from once.tui.widgets.details import DetailsPanel
from once.tui.prompt_history import PromptHistory, history_path
from once.tui.widgets.completion_menu import CompletionMenu
from once.tui.widgets.prompt_input import PromptInput
from once.tui.widgets.status_bar import StatusBar
from once.words import status_words

if TYPE_CHECKING:
    from once.events import ModelResponse
    from once.tui.adapter import RunAdapter
    from once.tui.widgets.learned import LearnedPanel

DIALOG_FREE_ACTIONS = ("toggle_mode", "rate", "undo", "sessions", "toggle_side", "scroll_conversation")


def resume_collection() -> None:
    """The launcher turns the garbage collector off for the start (see launch._open_app): on again, and
    what the start built, which lives as long as the app, is left out of every later collection."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


def error_text(exc: OnceError) -> str:
    """A run's error as the notice shows it: what happened, then what to do."""
    hint = f"\n{exc.hint}" if exc.hint else ""
    kind = "model provider error" if isinstance(exc, ProviderError) else "error"
    return f"{kind}: {exc.message}{hint}\nThe session is still open: fix it and send the prompt again."


class OnceApp(Actions, PlanFlow, QueueFlow, KeyFlow, App[None]):
    TITLE = "once"
    CSS = """
    #main { height: 1fr; }
    #side { width: 40%; max-width: 70; border-left: solid $panel; }
    """
    BINDINGS = [
        Binding("escape", "cancel_run", "Cancel run"),
        Binding("ctrl+c", "interrupt", "Cancel / quit", priority=True),
        Binding("shift+tab", "toggle_mode", "Mode", priority=True),
        Binding("ctrl+backslash,f2", "toggle_side", "Side panel", priority=True),
        Binding("pageup", "scroll_conversation('page_up')", show=False, priority=True),
        Binding("pagedown", "scroll_conversation('page_down')", show=False, priority=True),
        Binding("ctrl+home", "scroll_conversation('home')", show=False, priority=True),
        Binding("ctrl+end", "scroll_conversation('end')", show=False, priority=True),
        Binding("ctrl+g", "rate('up')", "Good"),
        Binding("ctrl+b", "rate('down')", "Bad"),
        Binding("ctrl+z", "undo", "Undo"),
        Binding("ctrl+o", "sessions", "Sessions"),
    ]

    def __init__(self, backend: Backend, *, continue_session: bool = False) -> None:
        super().__init__()
        self.backend = backend
        self.continue_session = continue_session
        self.init_queue()  # the repository's persisted prompt queue, opened on mount
        self.adapter: RunAdapter | None = None
        self.session_id: str | None = None
        self.run_id: str | None = None
        """The latest run of this app (what /good, /bad and /note are about)."""
        self.last_commit: str | None = None
        self.cancelling = False
        self.finished: list[RunEnded] = []
        self.error_notice: tuple[str, Notice] | None = None
        """The run's last error notice: the error that ends a run replaces it with its hint, never twice."""
        self.skills: list[str] = []
        self.files: list[str] | None = None
        """The repository's files for `@path` completion, listed at the first `@`."""
        self.allowances = Allowances()
        """What the user allowed always: until the app quits or the mode changes."""
        self.approval: tuple[ApprovalPrompt, AnswerSlot] | None = None
        """The approval the run waits for, and where its answer goes."""
        self.full_auto = backend.permission_mode == "full-auto"
        """Started with full-auto: only then does shift+tab offer it."""
        self.init_keys()

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            yield Conversation(id="conversation")
            with TabbedContent(id="side"):
                with TabPane("Details", id="details-tab"):
                    yield DetailsPanel(id="details")
                # Hidden behind their tabs at first: filled after the first paint (mount_hidden_widgets)
                yield TabPane("Plan", id="plan-tab")
                yield TabPane("Learned", id="learned-tab")
                yield TabPane("Queue", id="queue-tab")
        yield StatusBar()
        # The completion menu (hidden until `/` or `@`) goes above the prompt after the first paint
        yield PromptInput(skills=lambda: self.skills, files=self.repo_files, id="prompt",
                          history=PromptHistory())  # its file is named and read after the first paint

    def on_mount(self) -> None:
        self.query_one(StatusBar).status.model = self.backend.settings.model
        self._refresh_status()
        self.fit_side(self.size.width)
        self.query_one(PromptInput).focus()
        # What the first frame does not need (git, skill folders, the database) waits until it is on screen;
        # headless (under test) there is no screen to hurry, so it happens now and in a fixed order.
        if self.is_headless:
            self._after_first_paint()
        else:
            self.call_after_refresh(self._after_first_paint)

    def _after_first_paint(self) -> None:
        resume_collection()
        self.mount_hidden_widgets()
        self.query_one(StatusBar).status.branch = self.backend.branch()
        self.skills = self.backend.skill_names()
        history = self.query_one(PromptInput).prompt_history
        history.path = history_path(str(self.backend.repo.root))
        history.load()
        self.start_queue_watch()
        self._refresh_status()
        if self.continue_session:
            self.open_latest_session()

    def mount_hidden_widgets(self) -> None:
        """What the first frame does not show: the contents of the side tabs it shows only the titles of,
        and the completion menu. Their widgets (and modules) come now."""
        from once.tui.widgets.learned import LearnedPanel
        from once.tui.widgets.plan_panel import PlanPanel
        from once.tui.widgets.queue_panel import QueuePanel

        self.query_one("#plan-tab", TabPane).mount(PlanPanel(id="plan"))
        self.query_one("#learned-tab", TabPane).mount(LearnedPanel(id="learned"))
        self.query_one("#queue-tab", TabPane).mount(QueuePanel(self.open_queue(), id="queue"))
        prompt = self.query_one(PromptInput)
        prompt.menu = CompletionMenu(id="completions")
        self.mount(prompt.menu, before=prompt)

    @property
    def learned_panel(self) -> LearnedPanel:
        from once.tui.widgets.learned import LearnedPanel

        return self.query_one(LearnedPanel)

    def open_latest_session(self) -> None:
        from once.store import open_store

        with open_store(str(self.backend.db) if self.backend.db else None) as store:
            latest = store.latest_session(str(self.backend.repo.root))
        if latest is None:
            self.query_one(Conversation).add_notice("no earlier session in this repository: starting a new one")
        else:
            self.open_session(latest)

    @property
    def running(self) -> bool:
        return self.adapter is not None

    def repo_files(self) -> list[str]:
        if self.files is None:
            from once.tools.listing import repo_files

            self.files = repo_files(self.backend.repo.root)
        return self.files

    def submit_prompt(self, text: str, shown: str | None = None) -> None:
        """Run a slash command now; start a prompt now, or queue it behind the running one."""
        text = text.strip()
        if not text:
            return
        slash = parse_slash(text, self.skills)
        if slash is not None and slash.kind != "skill":  # /<skill-name> goes to the run, which loads it
            self.run_slash(slash)
        elif self.running:
            self.queue_prompt(text)
        else:
            self._start(text, shown=shown)

    def on_prompt_input_submitted(self, event: PromptInput.Submitted) -> None:
        event.stop()
        self.submit_prompt(event.text, event.shown.strip())
        if self.approval is not None:  # typed while an approval waited: its keys are live again
            self.focus_prompt()

    def _start(self, prompt: str, plan_text: str | None = None, shown: str | None = None) -> None:
        """Start a run; `shown` is the prompt as typed (a long paste collapsed), `@path` files go with it."""
        from once.tui.adapter import RunAdapter  # with the events it relays: loaded at the first run

        attached = attach_mentions(self.backend.repo.root, prompt)
        self.adapter = RunAdapter(self.post_message)
        conversation = self.query_one(Conversation)
        conversation.add_prompt(shown or prompt)
        if attached.files:
            conversation.add_notice(f"attached: {', '.join(attached.files)}")
        self._refresh_status()
        self._run_in_thread(prompt, self.adapter, plan_text, attached.block)

    @work(thread=True, group="runs")
    def _run_in_thread(self, prompt: str, adapter: RunAdapter, plan_text: str | None = None,
                       attachments: str = "") -> None:
        """Blocking: the whole run happens here, never on the UI's event loop. `attachments`: the
        `@path` files, which the model receives beside the prompt."""
        try:
            result = self.backend.run(prompt, sink=adapter, on_text=adapter.text,
                                      approver=self.allowances.wrap(adapter.approve),
                                      session_id=self.session_id, plan_text=plan_text, cancel=adapter.cancel,
                                      attachments=attachments)
        except OnceError as exc:
            self.post_message(RunEnded(prompt, None, error_text(exc), exc))
        except KeyboardInterrupt:
            self.post_message(RunEnded(prompt, None, "run stopped: cancelled"))
        except Exception as exc:  # the session must stay usable whatever a run does
            self.post_message(RunEnded(prompt, None, f"run stopped: {type(exc).__name__}: {exc}"))
        else:
            self.post_message(RunEnded(prompt, result))

    def on_text_delta(self, message: TextDelta) -> None:
        self.query_one(Conversation).add_text(message.take())

    def on_agent_event(self, message: AgentEvent) -> None:
        from once.events import CommitMade, ErrorEvent, ModelResponse, PlanStep, RunStarted, ToolCall, ToolResult

        event = message.event
        conversation = self.query_one(Conversation)
        if isinstance(event, RunStarted):
            self.session_id, self.run_id = event.session_id, event.run_id
        elif isinstance(event, ToolCall):
            conversation.add_tool(event)
        elif isinstance(event, ToolResult):
            conversation.finish_tool(event)
        elif isinstance(event, ModelResponse):
            self._count_usage(event)
            conversation.end_answer()
        elif isinstance(event, ErrorEvent):
            conversation.add_notice(f"error: {event.message}")
            self.error_notice = (event.message, conversation.query(Notice).last())
        elif isinstance(event, PlanStep):
            self.plan_panel.step(event)
        elif isinstance(event, CommitMade) and event.kind == "agent":
            self.last_commit = event.sha
        self.query_one(DetailsPanel).add_event(event)
        self.learned_panel.add_event(event)

    def on_approval_needed(self, message: ApprovalNeeded) -> None:
        self.approval = (self.query_one(Conversation).add_approval(message.request), message.reply)

    @on(ApprovalPrompt.Answered)
    def approval_answered(self, message: ApprovalPrompt.Answered) -> None:
        if self.approval is not None and self.approval[0] is message.prompt:
            self.approval[1].give(message.answer)
            self.approval = None
        self.focus_prompt()

    def _withdraw_approval(self) -> None:
        """The run ended (cancelled) while an approval waited: it says so, and nobody waits for it now."""
        if self.approval is None:
            return
        (prompt, slot), self.approval = self.approval, None
        ended = Answer(Decision.reject, "the run was cancelled")
        slot.give(ended)
        prompt.close(ended, "✗ not answered: the run was cancelled")
        self.focus_prompt()

    def on_run_ended(self, message: RunEnded) -> None:
        self.finished.append(message)
        self.adapter = None
        cancelled, self.cancelling = self.cancelling, False
        self._withdraw_approval()
        conversation = self.query_one(Conversation)
        result = message.result
        if cancelled:
            self._record_cancel(result.run_id if result else self.run_id)
        shown, self.error_notice = self.error_notice, None
        if message.error:
            if shown is not None and message.exc is not None and shown[0] == message.exc.message:
                shown[1].remove()  # the event said it first; the full notice (what to do) takes its place
            conversation.add_notice(message.error)
        elif result is not None and result.plan_path:
            self.show_plan(result)
        elif result is not None and result.status != "done":
            conversation.add_notice(f"run ended: {status_words(result.status)}")
        self.query_one(StatusBar).status.branch = self.backend.branch()
        self.queue_run_ended(message, cancelled)  # the next queued item starts (not after a cancel)
        self._refresh_status()

    def _record_cancel(self, run_id: str | None) -> None:
        if run_id is None:
            return
        event = records.cancelled(run_id)
        try:
            records.append(self.backend.db, event)
        except OnceError as exc:
            self.show_error(exc)
        self.query_one(DetailsPanel).add_event(event)

    def action_cancel_run(self) -> None:
        if self.adapter is not None:
            self.cancelling = True
            self.adapter.cancel.set()
            self.query_one(Conversation).add_notice("cancelling…")
        else:
            self.stop_queue_retry()  # esc also ends a wait to try an overloaded item again

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The app's own keys stay out of dialogs (shift+tab moves focus there)."""
        return not (action in DIALOG_FREE_ACTIONS and isinstance(self.screen, ModalScreen))

    def on_unmount(self) -> None:
        if self.adapter is not None:  # a worker waiting for an answer must not outlive the app
            self.adapter.cancel.set()
        self.close_queue()  # an item this app was running goes back to the queue

    def _count_usage(self, event: ModelResponse) -> None:
        status = self.query_one(StatusBar).status
        status.tokens += sum(v for k, v in event.usage.items() if k.endswith("tokens"))
        status.cost += event.cost_usd
        self._refresh_status()

    def _refresh_status(self) -> None:
        bar = self.query_one(StatusBar)
        plan = self.backend.mode == "plan"
        bar.status.mode = "Plan" if plan else f"Agent ({self.backend.permission_mode})"
        bar.status.state = "running" if self.running else "idle"
        bar.status.queued = self.queued_count()
        bar.refresh_status()
