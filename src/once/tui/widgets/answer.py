"""A streamed answer, rendered as Markdown.

Apart from the conversation module because Textual's Markdown widget (and its parser) is slow to
import and no answer is on screen at start: it loads with the first answer, after the first paint.

A model streams up to a few hundred deltas a second and each update of the Markdown (parse, blocks,
layout) costs milliseconds, more on a busy machine. So deltas wait in a buffer and reach the widget
at most once a frame, as one append: whatever the token rate, the display does a bounded amount of
work per frame, and when the machine is slow the appends get larger instead of falling behind.
`Markdown.append` parses only from the last top-level block on, so each append stays cheap.

Laying out a Markdown widget costs time in proportion to its blocks, and every append lays out the
view it goes to again. So a long answer is shown as a run of views: once a view holds `SPLIT_LINES`
lines, the conversation starts a new one at the next paragraph that cannot continue the last block
(see `split_at`), and a frame lays out only the short view at the end, whatever the answer's length.
"""

from __future__ import annotations

import asyncio
import re
import time

from textual import work
from textual.widgets import Markdown

FRAME = 1 / 30
"""The shortest time between two updates of an answer (seconds)."""
SPLIT_LINES = 40
"""Lines in a view after which a long answer may continue in a new view."""
BREAK = re.compile(r"\n\n(?=[^\s\-*+>|#0-9`~_<])")
"""A blank line, then text that cannot continue the block before it (indented code, a list item, a
quote, a table row, HTML) nor would space differently at the top of a view (a heading, a code fence,
a rule)."""
FENCE = re.compile(r"^ {0,3}(```|~~~)", re.MULTILINE)


class AnswerView(Markdown):
    DEFAULT_CSS = """
    AnswerView { margin: 0 0 0 2; padding: 0; background: transparent; }
    """

    def __init__(self, markdown: str = "") -> None:
        super().__init__(markdown)
        self.appends = 0
        """How many times streamed text updated the Markdown (one per flush, not per delta)."""
        self._pending: list[str] = []
        self._lines = markdown.count("\n")
        self._tail = markdown[-2:]
        self._streaming = False
        self._ready = asyncio.Event()

    def on_mount(self) -> None:
        # Markdown's own mount handler runs after this one and sets the initial text; appending
        # before it is done would be overwritten, so the stream waits for the message after it.
        self.call_later(self._ready.set)

    def write(self, delta: str) -> None:
        """Add streamed text; it is shown at the next frame, with whatever else arrived by then."""
        if not delta:
            return
        self._pending.append(delta)
        self._lines += delta.count("\n")
        self._tail = (self._tail + delta)[-2:]
        if not self._streaming:
            self._streaming = True
            self._stream()

    def split_at(self, text: str) -> int | None:
        """Where in `text`, about to be written, the answer may go on in a new view and render as it
        would in this one: once this view is long, after a blank line outside a code fence, before a
        paragraph that cannot belong to the block above it. None: write it all here."""
        if self._lines + text.count("\n") < SPLIT_LINES:
            return None
        for match in BREAK.finditer(self._tail + text):
            at = match.end() - len(self._tail)
            if self._lines + text.count("\n", 0, at) < SPLIT_LINES:
                continue
            if len(FENCE.findall(self.source + self.pending + text[:at])) % 2 == 0:
                return at
        return None

    @property
    def pending(self) -> str:
        """Text written but not shown yet."""
        return "".join(self._pending)

    @work(group="answer-stream")
    async def _stream(self) -> None:
        """Appends the buffered text, at most once a frame (and no sooner than the frame showing the last
        append was composed), until the buffer stays empty for a frame.

        A worker, so `app.workers.wait_for_complete()` also waits for the text to be shown."""
        await self._ready.wait()
        while self._pending:
            text = "".join(self._pending)
            self._pending.clear()
            started = time.monotonic()
            await self.append(text)  # appends are serialized: each parses from where the last stopped
            self.appends += 1
            await self.wait_for_refresh()  # one update per composed frame, however slow frames get
            await asyncio.sleep(max(started + FRAME - time.monotonic(), 0))
        self._streaming = False
