"""The app's Plan flow: the mode key, a written plan into the Plan tab, approve / reject / $EDITOR.

A mixin of OnceApp, kept apart so the app module stays about running prompts.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from typing import TYPE_CHECKING

from textual.widgets import TextArea

from once.errors import OnceError
from once.tui import records
from once.tui.plan_file import (
    approved_prompt,
    check_plan,
    load_plan,
    plan_path,
    save_plan,
)
from once.tui.widgets.conversation import Conversation

if TYPE_CHECKING:
    from once.tui.widgets.plan_panel import PlanPanel
    from once.agent.result import RunResult
    from once.tui.app import OnceApp

PLAN_TAB = "plan-tab"
MODE_CYCLE = ("plan", "ask", "auto-edit")


class PlanFlow:
    def set_mode(self: OnceApp, mode: str) -> None:
        self.backend.mode = mode
        self.allowances.forget()  # "allow always" lasts until the mode changes
        if mode == "plan":
            label = "Plan: prompts write a plan to review"
        else:
            label = f"Agent ({self.backend.permission_mode}): prompts edit and commit"
        self.query_one(Conversation).add_notice(f"mode: {label}")
        self._refresh_status()

    def mode_cycle(self: OnceApp) -> list[str]:
        """What shift+tab steps through; full-auto only when the app was started with it."""
        return [*MODE_CYCLE, "full-auto"] if self.full_auto else list(MODE_CYCLE)

    def action_toggle_mode(self: OnceApp) -> None:
        """shift+tab: Plan -> ask -> auto-edit (-> full-auto) -> Plan."""
        cycle = self.mode_cycle()
        now = "plan" if self.backend.mode == "plan" else self.backend.permission_mode
        following = cycle[(cycle.index(now) + 1) % len(cycle)] if now in cycle else cycle[0]
        if following != "plan":
            self.backend.permission_mode = following
        self.set_mode("plan" if following == "plan" else "agent")

    @property
    def plan_panel(self: OnceApp) -> PlanPanel:
        from once.tui.widgets.plan_panel import PlanPanel  # mounted after the first paint, loaded then

        return self.query_one(PlanPanel)

    def show_plan(self: OnceApp, result: RunResult) -> None:
        """A plan-mode run wrote `.once/plan.md`: put it up for review in the Plan tab."""
        text = load_plan(self.backend.repo.root)
        self.plan_panel.show_plan(text, result.run_id)
        self.show_side(PLAN_TAB)
        self.query_one(Conversation).add_notice(
            f"plan written to {result.plan_path}: edit it in the Plan tab, then Approve or Reject")

    def on_plan_panel_approve(self: OnceApp, message: PlanPanel.Approve) -> None:
        self.focus_prompt()  # the next prompt typed goes to the prompt, not to the button
        if self.running:
            self.query_one(Conversation).add_notice("wait for the current run to end (or Esc) before approving")
            return
        panel = self.plan_panel
        root = self.backend.repo.root
        try:
            check_plan(message.text)
            path = save_plan(root, message.text)
            if panel.run_id:
                records.append(self.backend.db, records.plan_decision(
                    panel.run_id, "approved", path=str(path.relative_to(root))))
        except OnceError as exc:
            self.show_error(exc)
            return
        panel.set_pending(False)
        self.backend.mode = "agent"
        self._start(approved_prompt(path, root), plan_text=message.text)

    def on_plan_panel_reject(self: OnceApp, message: PlanPanel.Reject) -> None:
        from once.tui.widgets.dialogs import ReasonScreen  # the dialogs load when one opens, not at start

        self.push_screen(ReasonScreen("Reject this plan. Why? (optional, it helps next time)"),
                         callback=self._plan_rejected)

    def _plan_rejected(self: OnceApp, reason: str | None) -> None:
        if reason is None:
            return  # the dialog was cancelled: the plan still waits for a decision
        panel = self.plan_panel
        if panel.run_id:
            try:
                where = str(plan_path(self.backend.repo.root).relative_to(self.backend.repo.root))
                records.append(self.backend.db, records.plan_decision(panel.run_id, "rejected", reason, path=where))
            except OnceError as exc:
                self.show_error(exc)
                return
        panel.set_pending(False)
        why = f": {reason}" if reason else ""
        self.query_one(Conversation).add_notice(f"plan rejected{why}")

    def on_plan_panel_edit_externally(self: OnceApp, message: PlanPanel.EditExternally) -> None:
        root = self.backend.repo.root
        path = save_plan(root, message.text)
        editor = shlex.split(os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi")
        try:
            with self.suspend():
                subprocess.run([*editor, str(path)], check=False)
        except Exception as exc:  # no terminal to hand over (SuspendNotSupported), or no such editor
            self.query_one(Conversation).add_notice(f"cannot open $EDITOR here ({type(exc).__name__}): edit the "
                                                    f"plan in the Plan tab, or in {plan_path(root)}")
            return
        self.plan_panel.query_one(TextArea).load_text(load_plan(root))
        self.focus_prompt()
