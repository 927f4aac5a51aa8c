"""A commit's diff, syntax highlighted, in a modal screen (Escape or q closes it)."""

from __future__ import annotations

from rich.syntax import Syntax
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from once.vcs import GitRepo

DIFF_LIMIT = 200_000


def commit_diff(git: GitRepo, sha: str) -> str:
    """`git show` of the commit: message, stat and patch (no colour: Rich highlights it)."""
    text = git.text("show", "--no-color", "--stat", "--patch", "--format=commit %H%n%n%B", sha)
    return text if len(text) <= DIFF_LIMIT else text[:DIFF_LIMIT] + "\n… (diff cut here)\n"


class CommitScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    CommitScreen { align: center middle; }
    CommitScreen > Vertical { width: 95%; height: 90%; border: thick $success; background: $surface; }
    CommitScreen .title { text-style: bold; padding: 0 1; }
    CommitScreen VerticalScroll { height: 1fr; }
    """
    BINDINGS = [Binding("escape", "close", "Close"), Binding("q", "close", "Close", show=False)]

    def __init__(self, sha: str, diff: str) -> None:
        super().__init__()
        self.sha = sha
        self.diff = diff

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"commit {self.sha[:12]}   (esc closes)", classes="title", markup=False)
            with VerticalScroll():
                yield Static(Syntax(self.diff, "diff", theme="ansi_dark", word_wrap=False), id="diff")

    def action_close(self) -> None:
        self.dismiss(None)
