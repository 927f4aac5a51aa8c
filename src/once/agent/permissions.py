"""Permission modes: who decides whether an edit or a command may happen.

    plan        read-only: no edit, no command
    ask         every edit and every command not allowed by policy needs approval
    auto-edit   edits happen; commands not allowed by policy need approval, unless the
                sandbox confines them (writes only in the repository, no network): then
                they run in it unasked
    full-auto   nothing asks; commands still obey the policy's denials

An MCP server's tool annotated read-only is allowed in every mode (like read_file); any other
asks like a command does (plan mode refuses it, full-auto allows it), unless a `policy.allow`
rule names it (`mcp__NAME__TOOL`, globs allowed); a `policy.deny` rule refuses it in every mode.

Headless runs have nobody to ask, so their approver rejects and says how to allow.
Secrets are refused in every mode. The decisions are events.
"""

from __future__ import annotations

import time
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Protocol

from once.agent.approvals import (  # noqa: F401  (re-exported: the gate's vocabulary)
    HEADLESS_DEFAULT,
    PERMISSION_MODES,
    Answer,
    ApprovalRequest,
    Approver,
    Decision,
)
from once.agent.recorder import Recorder
from once.events import PermissionDecision, SecretBlocked
from once.safety.paths import Refused
from once.safety.policy import Policy, Verdict, evaluate, explain, rules_for_approval
from once.safety.sandbox import SandboxState
from once.safety.secrets import find_secrets

def headless_approver(request: ApprovalRequest) -> Answer:
    return Answer(Decision.reject, "nobody to ask in a headless run")


class IgnoredPaths(Protocol):
    def ignored_paths(self, paths: list[str]) -> list[str]: ...


class PermissionGate:
    """Decides each edit and command by the mode, the policy, secrets and the approver."""

    def __init__(self, mode: str, policy: Policy, approver: Approver, repo_root: Path, repo: IgnoredPaths,
                 recorder: Recorder, sandbox: SandboxState | None = None) -> None:
        self.mode = mode
        self.sandbox = sandbox or SandboxState(False, False, "sandbox = off")
        self.policy = policy
        self.approver = approver
        self.repo_root = repo_root
        self.repo = repo
        self.recorder = recorder
        self.always_edit = False
        self.always_tools: set[str] = set()
        self.waited = 0.0
        """Seconds spent waiting for the approver: a tool's duration leaves them out."""

    def check_edit(self, path: str, old: bytes | None, new: bytes) -> None:
        """Raise `Refused` (with a message for the model) unless this edit may land."""
        self._refuse_new_secrets(path, old, new)
        if self.mode == "plan":
            self._record("edit", path, "deny", "plan mode is read-only")
            raise Refused("Plan mode is read-only: no file can be changed. Describe the change in the plan instead.")
        if self.mode in ("auto-edit", "full-auto") or self.always_edit:
            return
        answer = self._ask(ApprovalRequest("edit", path, _diff(path, old, new)))
        self._record("edit", path, answer.decision.value, answer.reason)
        if answer.decision is Decision.reject:
            raise Refused(_rejected("edit", path, answer.reason))
        if answer.decision is Decision.allow_always:
            self.always_edit = True

    def check_command(self, command: str) -> str | None:
        """None when the command may run, else the refusal the model should see."""
        if self.mode == "plan":
            self._record("command", command, "deny", "plan mode is read-only")
            return "Plan mode is read-only: commands cannot run. Describe what to run in the plan instead."
        verdict = evaluate(command, self.policy, self.repo_root, home=Path.home())
        if verdict.decision == "deny":
            self._record("command", command, "deny", "; ".join(verdict.reasons))
            return explain(verdict, self.policy)
        if verdict.decision == "allow":
            self._record("command", command, "allow", "policy")
            return None
        if self.mode == "full-auto" and verdict.without_asking("allow") == "allow":
            self._record("command", command, "allow", "full-auto")
            return None
        if self.mode == "auto-edit" and self.sandbox.confines and verdict.without_asking("allow") == "allow":
            self._record("command", command, "allow", "sandbox")
            return None
        rules = tuple(rules_for_approval(verdict))
        answer = self._ask(ApprovalRequest("command", command, explain(verdict, self.policy), rules,
                                           asks_each_time=verdict.needs_human))
        self._record("command", command, answer.decision.value, answer.reason)
        if answer.decision is Decision.reject:
            return "\n".join(filter(None, [_rejected("command", command, answer.reason),
                                            explain(verdict, self.policy), self._sandbox_advice(verdict)]))
        if answer.decision is Decision.allow_always:
            for rule in rules:
                self.policy.allow_always(rule)
        return None

    def check_detected(self, command: str) -> str | None:
        """A check the project defines and the agent left alone: it runs without a rule (the
        project chose it), but through the same gate as any command: denials, deny rules and
        what needs a person every time still hold, and the decision is logged."""
        verdict = evaluate(command, self.policy, self.repo_root, home=Path.home())
        if verdict.decision == "deny" or verdict.needs_human:
            return self.check_command(command)
        self._record("command", command, "allow", "detected check")
        return None

    def check_tool(self, name: str, read_only: bool, detail: str) -> str | None:
        """An MCP tool call: None when it may run, else the refusal the model should see."""
        if _tool_rule(name, self.policy.deny):
            self._record("tool", name, "deny", "policy.deny")
            return f"Refused by a policy.deny rule: {name} may not be called."
        if read_only:
            self._record("tool", name, "allow", "read-only")
            return None
        if self.mode == "plan":
            self._record("tool", name, "deny", "plan mode is read-only")
            return "Plan mode is read-only: only tools marked read-only can be called. Describe the call in the plan."
        if name in self.always_tools or _tool_rule(name, self.policy.allow):
            self._record("tool", name, "allow", "policy")
            return None
        if self.mode == "full-auto":
            self._record("tool", name, "allow", "full-auto")
            return None
        answer = self._ask(ApprovalRequest("tool", name, detail, (name,)))
        self._record("tool", name, answer.decision.value, answer.reason)
        if answer.decision is Decision.reject:
            return _rejected("tool", name, answer.reason)
        if answer.decision is Decision.allow_always:
            self.always_tools.add(name)
        return None

    def check_server(self, name: str, detail: str) -> Decision:
        """A repository's MCP server nobody trusted yet: may it start? (The caller remembers "allow always".)"""
        answer = self._ask(ApprovalRequest("mcp_server", name, detail))
        self._record("mcp_server", name, answer.decision.value, answer.reason)
        return answer.decision

    def _ask(self, request: ApprovalRequest) -> Answer:
        started = time.perf_counter()
        try:
            return self.approver(request)
        finally:
            self.waited += time.perf_counter() - started

    def _sandbox_advice(self, verdict: Verdict) -> str:
        """How auto-edit would have run it: in the sandbox, which is not in force here."""
        if self.mode != "auto-edit" or verdict.needs_human:
            return ""
        if self.sandbox.active and self.sandbox.network:
            why = "sandbox_network = true lets commands reach the network"
        else:
            why = f"the sandbox is not in force: {self.sandbox.why_not}"
        return (f"In auto-edit, commands run unasked inside the sandbox (no network, writes only in the "
                f"repository); {why}.")

    def _refuse_new_secrets(self, path: str, old: bytes | None, new: bytes) -> None:
        # Allowlist comments count for nothing: the model could write one beside its secret.
        before = {f.secret for f in find_secrets(old.decode("utf-8", "replace"), honor_markers=False)} if old else set()
        added = [f for f in find_secrets(new.decode("utf-8", "replace"), honor_markers=False) if f.secret not in before]
        if not added or self.repo.ignored_paths([path]):
            return
        kinds = sorted({f.kind for f in added})
        self.recorder.emit(SecretBlocked(run_id=self.recorder.run_id, path=path, kinds=kinds,
                                         lines=sorted({f.line for f in added})))
        raise Refused(
            f"Refused: this edit would write a secret ({', '.join(kinds)}) into {path}, which git tracks. "
            "Read it from an environment variable instead (e.g. os.environ[\"API_KEY\"]), or keep it in a "
            "gitignored .env file; use a placeholder like \"<API_KEY>\" in examples.")

    def _record(self, kind: str, subject: str, decision: str, reason: str) -> None:
        self.recorder.emit(PermissionDecision(run_id=self.recorder.run_id, kind=kind, subject=subject[:500],
                                              decision=decision, mode=self.mode, reason=reason))


def _tool_rule(name: str, rules: tuple[str, ...]) -> bool:
    return any(rule.startswith("mcp__") and fnmatchcase(name, rule) for rule in rules)


def _rejected(kind: str, subject: str, reason: str) -> str:
    why = f" ({reason})" if reason else ""
    how = {
        "command": "Allow it with --permission-mode full-auto or a policy rule (agent config set policy.allow ...).",
        "tool": ("Allow it with --permission-mode full-auto or a policy rule "
                 f"(agent config set policy.allow {subject})."),
    }.get(kind, "Run with --permission-mode auto-edit to let edits land without asking.")
    return f"The user did not approve this {kind}{why}: {subject[:200]}. {how}"


def _diff(path: str, old: bytes | None, new: bytes) -> str:
    import difflib  # only an edit someone is asked about needs its diff

    before = old.decode("utf-8", "replace").splitlines(keepends=True) if old else []
    after = new.decode("utf-8", "replace").splitlines(keepends=True)
    return "".join(difflib.unified_diff(before, after, f"a/{path}", f"b/{path}"))
