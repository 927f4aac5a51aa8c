"""Plans: what plan mode asks for, the shape of `.once/plan.md`, and its numbered steps.

Pure functions; writing the file is the runner's job.
"""

from __future__ import annotations

import re

from once.tools.plan_tool import PlanStepItem

PLAN_SECTIONS = (
    "Overview",
    "Key decisions and assumptions",
    "Components, data and APIs",
    "Steps",
    "Risks",
    "Open questions",
)
MISSING = "_Not given._"

PLAN_MODE_INSTRUCTIONS = f"""\
You are in PLAN MODE: explore the repository with the read-only tools (list_files, search,
read_file) and write a plan. You cannot change files or run commands now. Your final answer
IS the plan, as markdown with exactly these level-2 sections, in this order:
{chr(10).join(f"## {name}" for name in PLAN_SECTIONS)}
Under "## Steps", number the steps (1., 2., ...); each step is small enough for one turn of
work and names the files it touches. When the task is ambiguous, do not guess silently:
state your assumption under "Key decisions and assumptions" and list the question under
"## Open questions" (write "None." when there are none).
"""


def split_sections(text: str) -> dict[str, str]:
    """Level-2 sections of a markdown plan, by heading (case-insensitive match later)."""
    sections: dict[str, str] = {}
    current: str | None = None
    lines: list[str] = []
    for line in text.splitlines():
        heading = re.match(r"^##\s+(.+?)\s*#*\s*$", line)
        if heading and not line.startswith("###"):
            if current is not None:
                sections[current] = "\n".join(lines).strip()
            current, lines = heading.group(1).strip(), []
        elif current is not None:
            lines.append(line)
    if current is not None:
        sections[current] = "\n".join(lines).strip()
    return sections


def _canonical(name: str) -> str:
    return re.sub(r"[^a-z]+", " ", name.lower()).strip()


def normalize_plan(text: str, title: str) -> str:
    """The model's answer as a plan with every required section, in order.

    Sections the model left out are present and say so; extra sections are kept after
    the required ones. Text before the first heading becomes the Overview if that is missing.
    """
    found = split_sections(text)
    by_key = {_canonical(name): body for name, body in found.items()}
    if _canonical("Overview") not in by_key:
        preamble = text.split("\n## ", 1)[0].strip() if "## " in text else text.strip()
        if preamble and not preamble.startswith("#"):
            by_key[_canonical("Overview")] = preamble
    parts = [f"# Plan: {title.strip().splitlines()[0][:100] if title.strip() else 'untitled'}", ""]
    for name in PLAN_SECTIONS:
        parts += [f"## {name}", "", by_key.get(_canonical(name)) or MISSING, ""]
    required = {_canonical(name) for name in PLAN_SECTIONS}
    for name, body in found.items():
        if _canonical(name) not in required:
            parts += [f"## {name}", "", body, ""]
    return "\n".join(parts).rstrip() + "\n"


_EMPHASIS = re.compile(r"(?<![\w*])(\*\*|\*)(?=\S)(.+?)(?<=\S)\1(?![\w*])")
"""Bold or italic stars around words; underscores (`test_util.py`, `__init__.py`) and code spans stay."""


def _unemphasize(text: str) -> str:
    return _EMPHASIS.sub(lambda match: match.group(2), text)


def parse_steps(plan_text: str) -> list[PlanStepItem]:
    """The numbered steps under `## Steps` (continuation lines are not separate steps)."""
    sections = {_canonical(k): v for k, v in split_sections(plan_text).items()}
    steps: list[PlanStepItem] = []
    for line in sections.get(_canonical("Steps"), "").splitlines():
        match = re.match(r"^\s{0,3}(\d+)[.)]\s+(.+)$", line)
        if match:
            title = _unemphasize(match.group(2)).strip()
            steps.append(PlanStepItem(int(match.group(1)), title[:200]))
    return steps


def execution_instructions(plan_text: str) -> str:
    """The system-prompt block for carrying out an approved plan."""
    return (
        "You are carrying out the approved plan below, possibly edited by the user: follow it as "
        "written. Work through the steps in order. Call update_plan with status \"started\" when you "
        "begin a step and \"done\" when it is finished; if a step cannot be done, call update_plan with "
        "status \"blocked\" and say why in the note, then go on if you can. Never skip a step silently.\n\n"
        f"<plan>\n{plan_text.strip()}\n</plan>"
    )
