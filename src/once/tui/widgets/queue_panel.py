"""The Queue tab: the repository's persisted prompt queue, with pause, reorder, edit, remove, repeat.

Every change goes through `PromptQueue` (the same calls `agent queue` makes), then the panel
redraws and posts `QueuePanel.Changed` so the app can update its status line or start an item.
Its keys need the list focused and a modifier (alt+p, alt+up...), so a prompt typed while the list
has the focus is never taken for them; removing asks first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, DataTable, Input, Static

from once.errors import OnceError

if TYPE_CHECKING:
    from once.queue.store import PromptQueue, QueueItem

STATUS_MARKS = {"queued": "·", "running": "▶", "done": "✓", "failed": "✗"}
BUTTONS = (("pause", "Pause"), ("up", "Up"), ("down", "Down"), ("top", "Top"), ("edit", "Edit"),
           ("remove", "Remove"), ("repeat", "Repeat"))


class QueuePanel(Vertical):
    DEFAULT_CSS = """
    QueuePanel { height: 1fr; }
    QueuePanel #queue-state { height: auto; text-style: bold; }
    QueuePanel DataTable { height: 1fr; }
    QueuePanel #queue-buttons { height: auto; }
    QueuePanel Button { min-width: 0; width: auto; height: 1; border: none; margin: 0 1 0 0; }
    QueuePanel #queue-input { display: none; }
    QueuePanel #queue-input.-asking { display: block; }
    QueuePanel #queue-message { height: auto; color: $error; }
    """
    BINDINGS = [
        Binding("alt+p", "toggle_pause", "Pause/resume"),
        Binding("alt+up", "move('up')", "Up"),
        Binding("alt+down", "move('down')", "Down"),
        Binding("alt+t", "move('top')", "Top"),
        Binding("alt+e", "edit", "Edit"),
        Binding("alt+x,delete", "remove", "Remove (asks first)"),
        Binding("alt+r", "repeat", "Repeat"),
        Binding("escape", "leave", "Back to the prompt", show=False),
    ]

    @dataclass
    class Changed(Message):
        """The queue changed (order, text, status, pause)."""

        panel: QueuePanel

    @dataclass
    class Done(Message):
        """The user is done with the panel (Escape): the prompt takes the keys again."""

        panel: QueuePanel

    @dataclass
    class OpenRun(Message):
        """Enter on an item that has run: show its run."""

        run_id: str

    def __init__(self, queue: PromptQueue | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.queue = queue
        self.asking: str | None = None
        """"edit" or "repeat" while the input line waits for an answer."""
        self._asking_id: str | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="queue-state", markup=False)
        table: DataTable[str] = DataTable(id="queue-table", cursor_type="row", zebra_stripes=True)
        table.add_columns("#", "status", "runs", "run", "prompt")
        yield table
        with Horizontal(id="queue-buttons"):
            for name, label in BUTTONS:
                yield Button(label, id=f"queue-{name}", compact=True)
        yield Input(id="queue-input")
        yield Static("", id="queue-message", markup=False)

    def on_mount(self) -> None:
        self._draw()

    # -- reading ----------------------------------------------------------------

    @property
    def items(self) -> list[QueueItem]:
        return self.queue.items() if self.queue is not None else []

    @property
    def selected_id(self) -> str | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return row_key.value

    def select(self, item_id: str) -> None:
        table = self.query_one(DataTable)
        table.move_cursor(row=table.get_row_index(item_id))

    def refresh_items(self) -> None:
        """Redraw from the database, keeping the cursor on the same item. Before the panel is composed
        (it is mounted after the app's first paint) there is nothing to redraw: its mount draws it."""
        if self.is_mounted:
            self._draw()

    def _draw(self) -> None:
        table = self.query_one(DataTable)
        keep = self.selected_id
        table.clear()
        items = self.items
        for item in sorted(items, key=lambda item: item.finished):  # what is still to run first, done below
            runs = f"{item.runs_done}/{item.repeat}" if item.repeat > 1 else ""
            text = " ".join(item.text.split())
            table.add_row(str(item.number), f"{STATUS_MARKS[item.status]} {item.status}", runs,
                          item.run_id or "-", text[:80], key=item.id)
        if keep is not None and any(item.id == keep for item in items):
            self.select(keep)
        queue_state = self.queue.state() if self.queue is not None else None
        paused = queue_state is not None and queue_state.paused
        pending = sum(1 for item in items if not item.finished)
        why = f" · {queue_state.reason}" if queue_state is not None and queue_state.reason else ""
        state = f"{'paused' if paused else 'running in order'}{why} · {pending} pending"
        self.query_one("#queue-state", Static).update(state if items else "The queue is empty. Prompts sent "
                                                      "while a run is going are queued here.")
        self.query_one("#queue-pause", Button).label = "Resume" if paused else "Pause"

    @property
    def message(self) -> str:
        return str(self.query_one("#queue-message", Static).content)

    # -- changing ---------------------------------------------------------------

    def _apply(self, change: Callable[[PromptQueue], object]) -> bool:
        """Make a change; a refused one (UsageError...) is shown under the list, never raised."""
        if self.queue is None:
            return False
        try:
            change(self.queue)
        except OnceError as exc:
            self.query_one("#queue-message", Static).update(exc.message)
            return False
        self.query_one("#queue-message", Static).update("")
        self.refresh_items()
        self.post_message(self.Changed(self))
        return True

    def action_toggle_pause(self) -> None:
        self._apply(lambda q: q.resume() if q.paused else q.pause())

    def action_move(self, where: str) -> None:
        item_id = self.selected_id
        if item_id is not None:
            self._apply(lambda q: q.move(item_id, where))

    def action_remove(self) -> None:
        """Asks first: a removed prompt is gone (it never ran, so nothing else has it)."""
        item_id = self.selected_id
        if item_id is None or self.queue is None:
            return
        from once.tui.widgets.dialogs import ConfirmScreen

        item = self.queue.get(item_id)
        text = " ".join(item.text.split())
        short = text if len(text) <= 60 else text[:59] + "…"

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._apply(lambda q: q.remove(item_id))
            else:
                self.post_message(self.Done(self))

        self.app.push_screen(ConfirmScreen(f"Remove #{item.number} from the queue?\n{short}"), callback=confirmed)

    def action_leave(self) -> None:
        if self.asking is not None:
            self._close_input()
        self.post_message(self.Done(self))

    def action_edit(self) -> None:
        self._ask("edit", lambda item: item.text)

    def action_repeat(self) -> None:
        self._ask("repeat", lambda item: str(item.repeat))

    def _ask(self, what: str, current: Callable[[QueueItem], str]) -> None:
        item_id = self.selected_id
        if item_id is None or self.queue is None:
            return
        field = self.query_one("#queue-input", Input)
        self.asking, self._asking_id = what, item_id
        field.placeholder = ("New prompt: Enter saves, Esc cancels" if what == "edit"
                             else "Run it how many times (1-50)? Enter saves, Esc cancels")
        field.value = current(self.queue.get(item_id))
        field.add_class("-asking")
        field.focus()

    def answer(self, value: str) -> bool:
        """Apply the edit or repeat count the input line asked for; False if it was refused."""
        what, item_id = self.asking, self._asking_id
        if what is None or item_id is None:
            return False
        if what == "edit":
            done = self._apply(lambda q: q.edit(item_id, value))
        else:
            done = self._apply(lambda q: q.set_repeat(item_id, _as_int(value)))
        if done:
            self._close_input()
        return done

    def _close_input(self) -> None:
        """Saved or cancelled: the line goes, and a refused answer's error with it."""
        self.asking = self._asking_id = None
        self.query_one("#queue-message", Static).update("")
        field = self.query_one("#queue-input", Input)
        field.remove_class("-asking")
        self.query_one(DataTable).focus()

    # -- events -----------------------------------------------------------------

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "queue-input":
            return
        event.stop()  # not a prompt for the agent
        self.answer(event.value)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        name = (event.button.id or "").removeprefix("queue-")
        event.stop()
        if name == "pause":
            self.action_toggle_pause()
        elif name in ("up", "down", "top"):
            self.action_move(name)
        elif name in ("edit", "remove", "repeat"):
            getattr(self, f"action_{name}")()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        item = next((i for i in self.items if i.id == event.row_key.value), None)
        if item is not None and item.run_id:
            self.post_message(self.OpenRun(item.run_id))


def _as_int(value: str) -> Any:
    """The typed number, or the text itself so the queue's check refuses it with its message."""
    text = value.strip()
    return int(text) if text.lstrip("-").isdigit() else text
