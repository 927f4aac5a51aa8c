"""The conversation: prompts, streamed Markdown answers, one compact line per tool call.

Once it overflows, it stays scrolled to the bottom as content arrives (Textual's anchor, applied by
the layout itself: no extra scroll and frame per update) until the user scrolls up; scrolling back to
the bottom follows again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.containers import VerticalScroll
from textual.widget import AwaitMount, Widget
from textual.widgets import Collapsible, Static

from once.tui.widgets.approval import ApprovalPrompt

if TYPE_CHECKING:  # the events load with the first run (or session shown), after the first paint
    from once.tui.sessions import Shown
    from once.events import ToolCall, ToolResult
    from once.agent.approvals import ApprovalRequest
    from once.tui.widgets.answer import AnswerView

SUBJECT_KEYS = ("path", "command", "pattern", "query", "name")
RESULT_LIMIT = 4000


def tool_subject(name: str, tool_input: dict[str, Any]) -> str:
    """The one thing a tool call is about, for its compact line (a path, a command...)."""
    for key in SUBJECT_KEYS:
        value = tool_input.get(key)
        if isinstance(value, str) and value:
            return value.splitlines()[0][:80]
    return ""


def tool_title(name: str, tool_input: dict[str, Any]) -> str:
    return f"{name} {tool_subject(name, tool_input)}".rstrip()


class UserPrompt(Static):
    DEFAULT_CSS = """
    UserPrompt { color: $text-accent; text-style: bold; margin: 1 0 0 0; }
    """


class Notice(Static):
    DEFAULT_CSS = """
    Notice { color: $text-warning; margin: 0 0 0 2; }
    """


def __getattr__(name: str) -> Any:
    """`AnswerView` is still importable from here, loaded only when asked for."""
    if name == "AnswerView":
        from once.tui.widgets.answer import AnswerView

        return AnswerView
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _answer_view(text: str = "") -> AnswerView:
    from once.tui.widgets.answer import AnswerView

    return AnswerView(text)


class ToolLine(Collapsible):
    """`▸ read_file cli.py`; expands to the input and, once known, the result."""

    DEFAULT_CSS = """
    ToolLine { border: none; padding: 0; margin: 0 0 0 2; background: transparent; }
    ToolLine > Contents { padding: 0 0 0 2; }
    ToolLine .tool-body { color: $text-muted; }
    """

    def __init__(self, call: ToolCall) -> None:
        self.call = call
        self.body = Static(self._body_text(None), classes="tool-body", markup=False)
        super().__init__(self.body, title=tool_title(call.name, call.input), collapsed=True,
                         collapsed_symbol="▸", expanded_symbol="▾")
        self.result: ToolResult | None = None

    def set_result(self, result: ToolResult, duration_ms: float | None = None) -> None:
        """`duration_ms`: when known; a stored session's tool calls may have none."""
        self.result = result
        mark = " ✗" if result.is_error else ""
        took = "" if duration_ms is None else f" ({duration_ms:.0f} ms)"
        self.title = f"{tool_title(self.call.name, self.call.input)}{mark}{took}"
        self.body.update(self._body_text(result))

    def _body_text(self, result: ToolResult | None) -> str:
        import json  # tool calls come with the first run, after the first paint

        shown = json.dumps(self.call.input, indent=2, ensure_ascii=False)
        if result is None:
            return f"input:\n{shown}\n\n(running)"
        return f"input:\n{shown}\n\nresult:\n{result.output[:RESULT_LIMIT]}"


class Conversation(VerticalScroll, can_focus=False):
    DEFAULT_CSS = """
    Conversation { height: 1fr; padding: 0 1; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tools: dict[str, ToolLine] = {}
        self.answer: AnswerView | None = None

    def watch_virtual_size(self) -> None:
        self.call_later(self._anchor_if_overflowing)  # once the layout has set the container's size too

    def on_resize(self) -> None:
        self._anchor_if_overflowing()

    def _anchor_if_overflowing(self) -> None:
        # Anchored, content shorter than the view would sit at its bottom: anchor only while it overflows.
        overflows = self.max_scroll_y > 0
        if overflows != self.is_anchored:
            self.anchor(overflows)

    def add_prompt(self, text: str) -> None:
        self.answer = None
        self._add(UserPrompt(f"› {text}", markup=False))
        self.scroll_end(animate=False)  # the user just sent it: follow the new answer again

    def add_notice(self, text: str) -> None:
        self._add(Notice(text, markup=False))

    def add_text(self, text: str) -> None:
        """Streamed text, into the current answer (shown at the next frame; see AnswerView)."""
        while text:
            if self.answer is None:
                self.answer = _answer_view()
                self._add(self.answer)
            at = self.answer.split_at(text)
            if at is None:
                self.answer.write(text)
                return
            self.answer.write(text[:at])
            self.answer, text = None, text[at:]  # a long answer goes on in a new view: frames lay out the last one only

    def end_answer(self) -> None:
        """A model response ended: the next one's text is an answer of its own, not joined to this."""
        self.answer = None

    def add_tool(self, call: ToolCall) -> None:
        self.answer = None  # text after a tool call starts a new block below it
        line = ToolLine(call)
        self.tools[call.tool_use_id] = line
        self._add(line)

    def add_approval(self, request: ApprovalRequest) -> ApprovalPrompt:
        """The question, below its tool line, with the focus; shown from its end (where the keys are)."""
        self.answer = None
        prompt = ApprovalPrompt(request)
        self._add(prompt)
        prompt.focus(scroll_visible=False)
        self.scroll_end(animate=False)
        return prompt

    def finish_tool(self, result: ToolResult) -> None:
        line = self.tools.get(result.tool_use_id)
        if line is not None:
            line.set_result(result, result.duration_ms)

    def clear(self) -> None:
        """Everything but an approval still waiting (the run waits for its answer)."""
        self.tools.clear()
        self.answer = None
        self.anchor(False)
        self.remove_children([child for child in self.children
                              if not (isinstance(child, ApprovalPrompt) and child.pending)])

    def show_items(self, items: list[Shown], durations: dict[str, float] | None = None) -> None:
        """An earlier conversation, as it was (answers whole, tool calls with their results, and their
        durations where `durations` has them)."""
        from once.events import ToolCall, ToolResult

        for item in items:
            if item.kind == "prompt":
                self.add_prompt(item.text)
            elif item.kind == "text":
                self._add(_answer_view(item.text))
            elif item.kind == "tool":
                call = ToolCall(run_id="", turn=0, tool_use_id=item.tool_use_id, name=item.name,
                                input=item.input or {})
                self.add_tool(call)
                if item.result is not None:
                    result = ToolResult(run_id="", turn=0, tool_use_id=item.tool_use_id, name=item.name,
                                        is_error=item.is_error, output=item.result, duration_ms=0)
                    self.tools[item.tool_use_id].set_result(result, (durations or {}).get(item.tool_use_id))

    def _add(self, widget: Widget) -> AwaitMount:
        return self.mount(widget)  # in place at once, so order is kept while an answer's text is still pending
