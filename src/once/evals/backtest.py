"""`agent eval replay`: re-run recorded task runs with the current code and prompts against
their own cassettes, and say where behaviour diverges from the recording.

A replayed model answers what it answered before, whatever it is asked; so the question is
whether it is still asked the same thing. For each model call the back-test compares the
system prompt, the tools offered and what was new in the conversation (the prompt, attached
files, tool results) with the recording, then the run's end: its status, the files its
commits left, and the check. Durations, temporary paths, run ids and commit hashes are
normalized first, so only real differences count.
"""

from __future__ import annotations

import difflib
import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from once.evals.arms import Arm
from once.evals.runner import StepResult, TaskRun
from once.words import plural

_NORMALIZERS = [
    (re.compile(r"/[^\s'\"]*?/once-eval-[^/\s'\"]+/"), "<tmp>/"),
    (re.compile(r"\b\d+(?:\.\d+)?\s?(?:ms|s|seconds)\b"), "<t>"),
    (re.compile(r"\br-[0-9a-z]{14}\b"), "<run>"),
    (re.compile(r"\b[0-9a-f]{7,40}\b"), "<sha>"),
]


def normalize(text: str) -> str:
    for pattern, replacement in _NORMALIZERS:
        text = pattern.sub(replacement, text)
    return text


@dataclass(frozen=True)
class Divergence:
    kind: str
    """prompt, tools, observation, calls, outcome or error."""
    call: int | None
    """The model call (1-based) of the step it was seen at; None for the run's end."""
    step: int
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "step": self.step, "call": self.call, "detail": self.detail}


@dataclass
class RunComparison:
    task: str
    arm: str
    repeat: int
    divergences: list[Divergence] = field(default_factory=list)

    @property
    def same(self) -> bool:
        return not self.divergences

    def to_json(self) -> dict[str, Any]:
        return {"task": self.task, "arm": self.arm, "repeat": self.repeat, "same": self.same,
                "divergences": [d.to_json() for d in self.divergences]}


def load_recording(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {"responses": [], "requests": [], "systems": {}}
    return {"responses": data.get("responses", []), "requests": data.get("requests", []),
            "systems": data.get("systems", {})}


def replay_arm(original: dict[str, Any], steps: list[dict[str, Any]], folder: Path) -> Arm:
    """An arm that replays this run's own step cassettes with the arm's other settings."""
    folder.mkdir(parents=True, exist_ok=True)
    task = original["task"]
    for number, step in enumerate(steps, 1):
        if step.get("cassette") and Path(step["cassette"]).exists():
            name = f"{task}.json" if number == 1 else f"{task}.{number}.json"
            shutil.copyfile(step["cassette"], folder / name)
    settings = {k: v for k, v in original.get("settings", {}).items() if k not in ("provider", "base_url")}
    return Arm(original["arm"], {**settings, "provider": "replay"}, folder)


def compare_calls(step: int, old: dict[str, Any], new: dict[str, Any]) -> list[Divergence]:
    """The first difference between the recorded and the replayed requests of one step."""
    old_requests, new_requests = old["requests"], new["requests"]
    if not old_requests:
        return []  # recorded before requests were kept: only the outcome can be compared
    for call, (was, now) in enumerate(zip(old_requests, new_requests), 1):
        if was["system"] != now["system"]:
            diff = _diff(old["systems"].get(was["system"], ""), new["systems"].get(now["system"], ""))
            return [Divergence("prompt", call, step, f"the system prompt changed:\n{diff}")]
        if was["tools"] != now["tools"] or was.get("tools_sha") != now.get("tools_sha"):
            detail = (f"tools were {', '.join(was['tools'])}; now {', '.join(now['tools'])}"
                      if was["tools"] != now["tools"] else "a tool's description or input schema changed")
            return [Divergence("tools", call, step, detail)]
        before, after = [normalize(b) for b in was["new"]], [normalize(b) for b in now["new"]]
        if before != after:
            return [Divergence("observation", call, step,
                               f"the model would see something else:\n{_diff(chr(10).join(before), chr(10).join(after))}")]
    if len(new_requests) != len(old_requests):
        return [Divergence("calls", None, step, f"the recording made {len(old_requests)} model calls; "
                                                 f"the replay made {len(new_requests)}")]
    return []


def cut_short(old_step: dict[str, Any], new_step: StepResult) -> bool:
    """A step recorded as stopped at the time limit has no answer for the call it was waiting on:
    its replay runs out of cassette right there, which is the same run, not a divergence."""
    ran_out = new_step.error_kind in ("CassetteError", "ReplayMismatchError")
    if old_step.get("status") != "timeout" or not ran_out or not old_step.get("cassette"):
        return False
    recorded = len(load_recording(Path(old_step["cassette"]))["responses"])
    asked = f"has {plural(recorded, 'response')} and the run asked for a response number {recorded + 1}"
    return asked in new_step.message


def compare_outcome(original: dict[str, Any], replayed: TaskRun) -> list[Divergence]:
    found = []
    cut = [cut_short(old, new) for old, new in zip(original["steps"], replayed.steps)]
    old_status = [s["status"] for s in original["steps"]]
    new_status = ["timeout" if was_cut else s.status for s, was_cut in zip(replayed.steps, cut)]
    if old_status != new_status:
        found.append(Divergence("outcome", None, len(new_status), f"step status {old_status} -> {new_status}"))
    if original.get("tree") and original["tree"] != replayed.tree:
        found.append(Divergence("outcome", None, len(new_status),
                                f"the files at the end differ (changed before: {original.get('files_changed')}; "
                                f"now: {replayed.files_changed})"))
    if bool(original.get("passed")) != replayed.passed:
        found.append(Divergence("outcome", None, len(new_status),
                                f"the check {'passed' if original.get('passed') else 'failed'} before and "
                                f"{'passes' if replayed.passed else 'fails'} now"))
    for step, was_cut in zip(replayed.steps, cut):
        if step.status in ("error", "crash") and not was_cut:
            found.append(Divergence("error", None, len(new_status),
                                    f"{step.error_kind or step.status}: {step.message[:300]}"))
    return found


def compare_run(original: dict[str, Any], replayed: TaskRun) -> RunComparison:
    comparison = RunComparison(original["task"], original["arm"], original["repeat"])
    for number, (old_step, new_step) in enumerate(zip(original["steps"], replayed.steps), 1):
        if not old_step.get("cassette") or not new_step.cassette:
            continue
        comparison.divergences += compare_calls(number, load_recording(Path(old_step["cassette"])),
                                                load_recording(Path(new_step.cassette)))
    comparison.divergences += compare_outcome(original, replayed)
    return comparison


def _diff(before: str, after: str, lines: int = 12) -> str:
    diff = list(difflib.unified_diff(before.splitlines(), after.splitlines(), "recorded", "now", lineterm="", n=1))
    shown = [line for line in diff[2:] if not line.startswith("@@")][:lines]
    more = len(diff) - 2 - len(shown)
    return "\n".join(f"    {line[:200]}" for line in shown) + (f"\n    ... {more} more lines" if more > 0 else "")
