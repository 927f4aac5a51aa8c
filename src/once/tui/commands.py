"""Slash commands of the app: what exists, how a line parses, what completes. Pure, no Textual."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

COMMANDS: dict[str, str] = {
    "plan": "switch to Plan mode: the next prompt writes a plan to review",
    "agent": "switch to Agent mode: prompts edit and commit",
    "undo": "take back the agent's last commit (asks first)",
    "queue": "show the prompt queue",
    "skills": "list the skills; /<skill-name> PROMPT uses one",
    "model": "show the model, or /model NAME to switch",
    "cost": "tokens and cost of this session",
    "clear": "clear the conversation and start a new session",
    "sessions": "pick an earlier session to continue",
    "diff": "show the diff of the last agent commit",
    "good": "rate the last response as good",
    "bad": "rate the last response as bad: /bad [what was wrong]",
    "note": "record a correction for next time: /note TEXT",
    "help": "this list",
}


KEYS_HELP = (
    "keys: enter send · shift+enter / ctrl+j / alt+enter new line · up/down history · ctrl+r search history",
    "      tab or enter picks from the menu (/commands, @files) · esc or ctrl+c cancels a run",
    "      ctrl+c twice (or on an empty prompt), ctrl+d on an empty prompt, or ctrl+q quits",
    "      shift+tab cycles Plan -> ask -> auto-edit · ctrl+\\ or F2 side panel · pgup/pgdn, ctrl+home/end scroll",
    "      ctrl+g good · ctrl+b bad · ctrl+z undo · ctrl+o sessions",
)


@dataclass(frozen=True)
class Slash:
    """A parsed `/name rest` line."""

    kind: str
    """"command" (one of COMMANDS), "skill" (passed to the run as a prompt) or "unknown"."""
    name: str
    arg: str = ""


def parse_slash(text: str, skills: Iterable[str] = ()) -> Slash | None:
    """The slash command in a prompt, or None for an ordinary prompt (or a path like `/tmp/x`)."""
    text = text.strip()
    if not text.startswith("/") or len(text) < 2:
        return None
    name, _, arg = text[1:].partition(" ")
    if "/" in name:
        return None  # "/usr/bin is slow" is a prompt about a path, not a command
    if name in COMMANDS:
        return Slash("command", name, arg.strip())
    if name in set(skills):
        return Slash("skill", name, arg.strip())
    return Slash("unknown", name, arg.strip())


def complete(value: str, skills: Iterable[str] = ()) -> str | None:
    """The full line the input should suggest for what is typed so far (commands first)."""
    if not value.startswith("/") or " " in value:
        return None
    typed = value[1:]
    for name in [*COMMANDS, *sorted(skills)]:
        if name.startswith(typed) and name != typed:
            return f"/{name}"
    return None


def completions(value: str, skills: Iterable[str] = ()) -> list[tuple[str, str]]:
    """The commands and skills a `/` line can become, with what each does (commands first)."""
    if not value.startswith("/") or " " in value or "\n" in value:
        return []
    typed = value[1:]
    found = [(f"/{name}", what) for name, what in COMMANDS.items() if name.startswith(typed)]
    found += [(f"/{name}", "skill") for name in sorted(skills) if name.startswith(typed)]
    return [] if found == [(value, COMMANDS.get(typed, "skill"))] else found


def help_text(skills: Iterable[str] = ()) -> str:
    width = max(len(name) for name in COMMANDS) + 2
    lines = [f"/{name:<{width}}{what}" for name, what in COMMANDS.items()]
    names = sorted(skills)
    if names:
        lines.append(f"skills: {', '.join('/' + name for name in names)}")
    lines.extend(KEYS_HELP)
    return "\n".join(lines)
