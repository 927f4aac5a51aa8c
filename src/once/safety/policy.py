"""The command policy: may `run_command` run this shell command without asking?

A command line is split into simple commands (`shell_split`) and each is judged on
its own: refused by a built-in rule (`command_rules`), refused by a `policy.deny`
rule, allowed by a `policy.allow` rule or a session approval, or else it needs
approval. The line runs without asking only if every part is allowed, and is refused
if any part is refused, so allowing `git status` never lets `git status && rm -rf x`
through. Pure: the only input about the world is the repository root.
"""

from __future__ import annotations

import fnmatch
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from once.config_schema import list_to_text

if TYPE_CHECKING:  # the shell parser and the built-in rules load with the first command judged
    from once.safety.command_rules import Finding
    from once.safety.shell_command import SimpleCommand

__all__ = ["Decision", "PartVerdict", "Policy", "Verdict", "evaluate", "explain", "rule_matches",
           "rules_for_approval"]

Decision = Literal["allow", "ask", "deny"]
Source = Literal["builtin", "deny-rule", "allow-rule", "session", "default"]
_GLOB = frozenset("*?[")


class _RuleSettings(Protocol):
    allow: tuple[str, ...]
    deny: tuple[str, ...]


def _normalize_rule(rule: str) -> str:
    """A rule written like a command, re-quoted the way command texts are."""
    try:
        return shlex.join(shlex.split(rule))
    except ValueError:
        return " ".join(rule.split())


def rule_matches(rule: str, text: str) -> bool:
    """A glob (`pytest*`) matches the whole text; otherwise the rule's words must start it
    (`npm test` matches `npm test -- -x`, not `npm testing`)."""
    rule = " ".join(rule.split())
    if not rule:
        return False
    if _GLOB & set(rule):
        return fnmatch.fnmatchcase(text, rule)
    prefix = _normalize_rule(rule)
    return text == prefix or text.startswith(prefix + " ")


@dataclass
class Policy:
    """Configured rules plus this session's "allow always" approvals (exact commands only)."""

    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    session_allow: set[str] = field(default_factory=set)

    @classmethod
    def from_settings(cls, settings: _RuleSettings) -> Policy:
        """From `Settings.policy` (the `[policy]` table)."""
        return cls(tuple(settings.allow), tuple(settings.deny))

    def allow_always(self, part_text: str) -> None:
        """Allow one simple command, exactly as written, for the rest of the session.

        Takes a text from `rules_for_approval`; a compound line is refused with
        ValueError, so approving `a && b` can never become a rule for `b`.
        """
        from once.safety.shell_split import is_single_command, split_command

        text = part_text.strip()
        if not text or not is_single_command(text):
            raise ValueError(f"not one simple command: {part_text!r}; approve each part on its own")
        self.session_allow.add(text)
        parts = split_command(text)
        if len(parts) == 1 and not parts[0].wrappers:
            self.session_allow.add(parts[0].full_text)  # `git  status` approves `git status`

    def denied_by(self, part: SimpleCommand) -> str | None:
        """The first deny rule matching the command, with or without wrappers or program path."""
        texts = {part.text, part.full_text}
        if part.argv and part.program != part.argv[0]:
            texts.add(shlex.join((part.program, *part.argv[1:])))
        return next((rule for rule in self.deny if any(rule_matches(rule, text) for text in texts)), None)

    def allowed_by(self, part: SimpleCommand) -> tuple[Source, str] | None:
        if part.full_text in self.session_allow:
            return "session", part.full_text
        rule = next((rule for rule in self.allow if rule_matches(rule, part.text)), None)
        return ("allow-rule", rule) if rule is not None else None


@dataclass(frozen=True)
class PartVerdict:
    """The judgement of one simple command."""

    part: SimpleCommand
    decision: Decision
    reason: str
    source: Source
    rule: str | None = None
    """The policy rule that decided, or the name of the built-in rule."""
    firm: bool = False
    """An "ask" that needs a person every time: no rule, session approval or mode skips it."""

    @property
    def text(self) -> str:
        return self.part.full_text


@dataclass
class Verdict:
    """The judgement of a whole command line."""

    command: str
    decision: Decision
    reasons: list[str]
    parts: list[PartVerdict]

    @property
    def needs_human(self) -> bool:
        """True when some part must be approved by a person (sudo, unparseable input)."""
        return any(part.decision == "ask" and part.firm for part in self.parts)

    def without_asking(self, unanswered: Literal["allow", "deny"]) -> Literal["allow", "deny"]:
        """The outcome when nobody can be asked: `unanswered` says what a plain "ask" becomes
        ("allow" in full-auto, "deny" headless); firm asks and denials are always refused."""
        if self.decision == "deny" or self.needs_human:
            return "deny"
        return "allow" if self.decision == "allow" else unanswered


def _judge(part: SimpleCommand, findings: list[Finding], policy: Policy) -> PartVerdict:
    denial = next((found for found in findings if found.decision == "deny"), None)
    if denial is not None:
        return PartVerdict(part, "deny", f"{denial.rule}: {denial.detail}", "builtin", denial.rule)
    rule = policy.denied_by(part)
    if rule is not None:
        return PartVerdict(part, "deny", f"matches `{rule}` in policy.deny", "deny-rule", rule)
    question = next((found for found in findings if found.decision == "ask" and found.firm), None)
    if question is not None:
        return PartVerdict(part, "ask", f"{question.rule}: {question.detail}", "builtin", question.rule, firm=True)
    soft = next((found for found in findings if found.decision == "ask"), None)
    if soft is not None and part.full_text not in policy.session_allow:
        # Not what an allow rule meant (a person's approval of this exact line is).
        return PartVerdict(part, "ask", f"{soft.rule}: {soft.detail}", "builtin", soft.rule)
    allowed = policy.allowed_by(part)
    if allowed is not None:
        source, rule = allowed
        why = "approved for this session" if source == "session" else f"matches `{rule}` in policy.allow"
        return PartVerdict(part, "allow", why, source, rule)
    return PartVerdict(part, "ask", "no policy.allow rule matches it", "default")


def evaluate(command: str, policy: Policy, repo_root: Path, *, home: Path | None = None) -> Verdict:
    """Judge `command` as run_command would run it, in `repo_root`.

    `home` lets `~/...` paths be placed; without it they count as outside the repository.
    """
    from once.safety.command_paths import PathWalk
    from once.safety.command_rules import LineState, check
    from once.safety.shell_split import split_command

    state = LineState(PathWalk.start(str(repo_root), str(home) if home else None))
    parts = []
    for part in split_command(command):
        findings = check(part, state)
        if part.sets_variables_only and not findings:
            continue  # `X=1` runs nothing; the variable is remembered for the commands after it
        parts.append(_judge(part, findings, policy))
    if any(part.decision == "deny" for part in parts):
        decision: Decision = "deny"
    elif all(part.decision == "allow" for part in parts):
        decision = "allow"  # also when nothing runs (a comment, `X=1`)
    else:
        decision = "ask"
    return Verdict(command, decision, [f"`{part.text}`: {part.reason}" for part in parts], parts)


def rules_for_approval(verdict: Verdict) -> list[str]:
    """One exact rule per part that is not allowed yet and may be approved, for `allow_always`."""
    rules: list[str] = []
    for part in verdict.parts:
        if part.decision == "ask" and not part.firm and part.text not in rules:
            rules.append(part.text)
    return rules


def explain(verdict: Verdict, policy: Policy | None = None) -> str:
    """Why a command was not run, part by part, and what the user can do about it."""
    blocked = [part for part in verdict.parts if part.decision != "allow"]
    if not blocked:
        return f"`{verdict.command.strip()}` is allowed by the command policy."
    lines = ["The command was not run."]
    for part in blocked:
        lines.append(f"- `{part.text}`: {_part_advice(part)}")
    plain = [part.part.text for part in blocked if part.decision == "ask" and not part.firm]
    if plain:
        known = policy.allow if policy else ()
        rules = [*known, *(rule for rule in dict.fromkeys(plain) if rule not in known)]
        how = ("To let such commands run without asking, the user can run: "
               f"agent config set policy.allow {shlex.quote(list_to_text(rules))}")
        if len(plain) == len(blocked):
            how += " (or use --permission-mode full-auto, where every command outside policy.deny runs unasked)"
        lines.append(how + ".")
    if any(part.source == "builtin" and part.decision == "deny" for part in blocked):
        lines.append("Built-in rules cannot be allowed, not even with --permission-mode full-auto; "
                     "find another way, or ask the user to run it themselves.")
    return "\n".join(lines)


def _part_advice(part: PartVerdict) -> str:
    if part.decision == "deny" and part.source == "builtin":
        return f"refused by a built-in rule ({part.reason})."
    if part.decision == "deny":
        return (f"refused: it {part.reason}. The user can lift that by removing `{part.rule}` from "
                "policy.deny (`agent config list` shows which file sets it).")
    if part.firm:
        return f"needs the user's approval each time ({part.reason}); no rule or mode can allow it."
    return "needs approval: no policy.allow rule matches it."
