"""A streamed answer, rendered as Markdown.

Apart from the conversation module because Textual's Markdown widget (and its parser) is slow to
import and no answer is on screen at start: it loads with the first answer, after the first paint.
"""

from __future__ import annotations

from textual.widgets import Markdown


class AnswerView(Markdown):
    DEFAULT_CSS = """
    AnswerView { margin: 0 0 0 2; padding: 0; background: transparent; }
    """
