"""The app's actions on what already happened: rate, note, undo, show a commit, sessions, slash commands.

A mixin of OnceApp: keys and slash commands land here and call the same functions the CLI uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from once.errors import OnceError
from once.tui import records
from once.tui.commands import Slash, help_text
from once.tui.messages import ShowCommit
from once.tui.widgets.conversation import Conversation
from once.tui.widgets.details import DetailsPanel
from once.tui.widgets.status_bar import StatusBar
from once.words import cost_text, plural

if TYPE_CHECKING:
    from once.tui.app import OnceApp

QUEUE_TAB = "queue-tab"


class Actions:
    def show_error(self: OnceApp, exc: OnceError) -> None:
        hint = f" — {exc.hint}" if exc.hint else ""
        self.query_one(Conversation).add_notice(f"error: {exc.message}{hint}")

    def _reacted_run(self: OnceApp) -> str:
        """The run a rating or note is about: the app's last run, else the session's or repo's latest."""
        if self.run_id:
            return self.run_id
        return records.last_run_id(self.backend.db, str(self.backend.repo.root), self.session_id)

    def action_rate(self: OnceApp, rating: str, comment: str = "") -> None:
        try:
            run_id = self._reacted_run()
            records.append(self.backend.db, records.feedback(run_id, rating, comment, self.backend.settings.model))
        except OnceError as exc:
            self.show_error(exc)
            return
        word = "good" if rating == "up" else "bad"
        self.query_one(Conversation).add_notice(f"rated the last response {word}" + (f": {comment}" if comment else ""))

    def add_note(self: OnceApp, text: str) -> None:
        try:
            records.append(self.backend.db, records.note(self._reacted_run(), text))
        except OnceError as exc:
            self.show_error(exc)
            return
        self.query_one(Conversation).add_notice(f"noted for next time: {text.strip()}")

    def action_undo(self: OnceApp, reason: str = "") -> None:
        if self.running:
            self.query_one(Conversation).add_notice("a run is going: wait for it to end (or Esc) before undoing")
            return

        from once.tui.widgets.dialogs import ConfirmScreen  # the dialogs load when one opens, not at start

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._undo_now(reason)

        self.push_screen(ConfirmScreen("Undo the agent's last commit? Its files go back to how they were."),
                         callback=confirmed)

    def _undo_now(self: OnceApp, reason: str) -> None:
        try:
            result = records.undo_last_commit(self.backend.repo, self.backend.db, reason)
        except OnceError as exc:
            self.show_error(exc)
            return
        verb = "reverted" if result.method == "revert" else "removed"
        files = f"; files restored: {', '.join(result.files)}" if result.files else ""
        self.query_one(Conversation).add_notice(
            f"undo: {verb} {', '.join(sha[:8] for sha in result.shas)}{files}")
        self._refresh_status()

    def on_show_commit(self: OnceApp, message: ShowCommit) -> None:
        self.show_commit(message.sha)

    def show_commit(self: OnceApp, sha: str) -> None:
        from once.tui.widgets.commit_view import CommitScreen, commit_diff  # with pygments: only when asked

        try:
            diff = commit_diff(self.backend.repo, sha)
        except OnceError as exc:
            self.show_error(exc)
            return
        self.push_screen(CommitScreen(sha, diff))

    def action_sessions(self: OnceApp) -> None:
        from once.tui.sessions import list_summaries
        from once.tui.widgets.session_picker import SessionPicker

        summaries = list_summaries(self.backend.db, str(self.backend.repo.root))
        self.push_screen(SessionPicker(summaries), callback=self._session_picked)

    def _session_picked(self: OnceApp, session_id: str | None) -> None:
        if session_id is not None:
            self.open_session(session_id)

    def open_session(self: OnceApp, session_id: str) -> None:
        """Show a stored session's conversation; the next prompt continues it."""
        from once.tui.sessions import conversation, load_past, load_session  # stored sessions: not at start

        if self.running:
            self.query_one(Conversation).add_notice("a run is going: switch sessions when it has ended")
            return
        messages, prompts = load_session(self.backend.db, session_id)
        past = load_past(self.backend.db, session_id)
        view = self.query_one(Conversation)
        view.clear()
        view.show_items(conversation(messages, prompts), past.durations)
        view.add_notice(f"continuing session {session_id} ({plural(len(prompts), 'earlier prompt')})")
        details = self.query_one(DetailsPanel)
        details.clear()
        for event in past.events:
            details.add_event(event)
        status = self.query_one(StatusBar).status
        status.tokens, status.cost = past.tokens, past.cost  # this session's own totals, not the last one's
        self.session_id = session_id
        self.run_id = None
        self._refresh_status()

    def run_slash(self: OnceApp, slash: Slash) -> None:
        """Every slash command but /<skill-name>, which is a prompt for the run."""
        notice = self.query_one(Conversation).add_notice
        name, arg = slash.name, slash.arg
        if slash.kind == "unknown":
            notice(f"unknown command /{name}: /help lists the commands and skills")
        elif name in ("plan", "agent"):
            self.set_mode(name)
        elif name == "undo":
            self.action_undo(arg)
        elif name in ("good", "bad"):
            self.action_rate("up" if name == "good" else "down", arg)
        elif name == "note":
            self.add_note(arg)
        elif name == "sessions":
            self.action_sessions()
        elif name == "diff":
            self.show_commit(self.last_commit or "HEAD")
        else:
            self._run_info_command(name, arg)

    def _run_info_command(self: OnceApp, name: str, arg: str) -> None:
        notice = self.query_one(Conversation).add_notice
        status = self.query_one(StatusBar).status
        if name == "help":
            notice(help_text(self.skills))
        elif name == "cost":
            notice(f"this session: {plural(status.tokens, 'token')}, {cost_text(status.cost)}")
        elif name == "model":
            if arg:
                self.backend.settings.model = arg
                status.model = arg
                self._refresh_status()
            notice(f"model: {self.backend.settings.model}")
        elif name == "skills":
            self.skills = self.backend.skill_names()
            notice("skills: " + (", ".join(f"/{s}" for s in self.skills) or "none found"))
        elif name == "clear":
            self.query_one(Conversation).clear()
            self.query_one(DetailsPanel).clear()
            self.session_id, self.run_id = None, None
            status.tokens, status.cost = 0, 0.0
            self._refresh_status()
            notice("cleared: the next prompt starts a new session")
        elif name == "queue":
            self.show_side(QUEUE_TAB)
            self._queue_changed()  # `agent queue add` in another terminal may have added to it
