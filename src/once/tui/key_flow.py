"""The app's keys that are about the app itself: focus, quitting, scrolling, the side panel.

A mixin of OnceApp. Focus is never a trap: a printable key typed anywhere but an editor (or a
pending approval, which takes y / a / n) goes to the prompt, and the prompt gets the focus back
whenever the main screen does (after a dialog), unless an approval is waiting: that comes first.
ctrl+c cancels a running turn; a second ctrl+c within QUIT_WINDOW seconds, or one on an idle,
empty prompt, quits.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from textual import events
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import Input, TabbedContent, TextArea

from once.tui.widgets.approval import ApprovalPrompt
from once.tui.widgets.conversation import Conversation
from once.tui.widgets.prompt_input import PromptInput

if TYPE_CHECKING:
    from once.tui.app import OnceApp

QUIT_WINDOW = 2.0
"""Seconds within which a second ctrl+c quits."""
NARROW = 100
"""Below this many columns the side panel starts hidden."""
MODIFIERS = ("ctrl+", "alt+", "meta+", "super+", "hyper+")


class MainScreen(Screen[None]):
    """The app's own screen: whenever it is back on top (a dialog closed), the prompt has the focus."""

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        focus_input(self)


def focus_input(screen: Screen[object]) -> None:
    """The pending approval if there is one (the run waits for it), else the prompt."""
    waiting: list[Widget] = [approval for approval in screen.query(ApprovalPrompt) if approval.pending]
    for widget in waiting[-1:] or list(screen.query(PromptInput)):
        widget.focus(scroll_visible=False)


def typed_text(event: events.Key) -> str | None:
    """The character a key types (not a shortcut with ctrl or alt), else None."""
    if not event.is_printable or event.key.startswith(MODIFIERS):
        return None
    return event.character


class KeyFlow:
    _last_ctrl_c: float
    _side_chosen: bool

    def init_keys(self: OnceApp) -> None:
        self._last_ctrl_c = float("-inf")
        self._side_chosen = False
        """The user toggled the side panel: the width no longer decides."""

    def get_default_screen(self: OnceApp) -> Screen[None]:
        return MainScreen(id="_default")

    @property
    def prompt_input(self: OnceApp) -> PromptInput:
        return self.query_one(PromptInput)

    def focus_prompt(self: OnceApp) -> None:
        if not isinstance(self.screen, ModalScreen):
            focus_input(self.screen)

    async def on_event(self: OnceApp, event: events.Event) -> None:
        if isinstance(event, events.Key) and self._typed_elsewhere(event):
            return
        await super().on_event(event)  # type: ignore[misc]

    def _typed_elsewhere(self: OnceApp, event: events.Key) -> bool:
        """A character typed outside any editor goes to the prompt (never a panel's shortcut)."""
        text = typed_text(event)
        takes_keys = isinstance(self.focused, (Input, TextArea, ApprovalPrompt))
        if text is None or isinstance(self.screen, ModalScreen) or takes_keys:
            return False
        prompt = self.prompt_input
        prompt.focus()
        prompt.insert(text)
        return True

    def action_interrupt(self: OnceApp) -> None:
        """ctrl+c: cancel the running turn; twice within QUIT_WINDOW s, or on an idle empty prompt, quit."""
        now = time.monotonic()
        again = now - self._last_ctrl_c < QUIT_WINDOW
        self._last_ctrl_c = now
        if again or (not self.running and not self.prompt_input.text):
            self.exit()
        elif self.running:
            self.action_cancel_run()
            self.query_one(Conversation).add_notice("ctrl+c again within 2 s quits")
        else:
            self.prompt_input.value = ""
            self.notify("ctrl+c again within 2 s quits", timeout=QUIT_WINDOW)

    def action_toggle_side(self: OnceApp) -> None:
        self._side_chosen = True
        side = self.query_one("#side", TabbedContent)
        side.display = not side.display

    def show_side(self: OnceApp, tab: str) -> None:
        """Bring a tab of the side panel up (shown again if it was hidden)."""
        side = self.query_one("#side", TabbedContent)
        side.display = True
        side.active = tab

    def on_resize(self: OnceApp, event: events.Resize) -> None:
        self.fit_side(event.size.width)

    def fit_side(self: OnceApp, width: int) -> None:
        """Unless the user chose, the side panel shows on a wide enough terminal only."""
        if not self._side_chosen:
            for side in self.query("#side").results(TabbedContent):
                side.display = width >= NARROW

    def action_scroll_conversation(self: OnceApp, where: str) -> None:
        view = self.query_one(Conversation)
        if where == "page_up":
            view.scroll_page_up(animate=False)
        elif where == "page_down":
            view.scroll_page_down(animate=False)
        elif where == "home":
            view.scroll_home(animate=False)
        else:
            view.scroll_end(animate=False)
