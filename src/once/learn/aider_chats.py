"""Aider's markdown chat transcripts as event lists, so the stuck detectors run on real user text.

The format: `# aider chat started at ...` heads a session; consecutive `#### ` lines
are one user turn; `> ` lines are the tool's own output (commits, `/undo`'s
"Removed: <sha>", lint runs); everything else is the assistant's answer. Parsing is
pure (text in, records out); only `load_chats` reads a file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SESSION_HEAD = "# aider chat started at"
_COMMIT = re.compile(r"^Commit ([0-9a-f]{7,40}) (.*)$")
_REMOVED = re.compile(r"^Removed: ([0-9a-f]{7,40})\b")
_APPLIED = re.compile(r"^Applied edit to (\S+)")
# Turns aider writes on the user's behalf (lint results, `/help`'s question with docs):
# not the user's words.
_LINT_TURN = "# Fix any errors below"
_HELP_TURN = "# Question:"
# Slash commands whose argument is a request in the user's words.
_PROMPT_COMMANDS = ("/ask", "/code", "/architect", "/help")


@dataclass
class Turn:
    """One user turn and what followed it until the next turn."""

    session: int
    index: int
    """0-based among the session's user turns (slash commands included)."""
    line: int
    """1-based line of the turn's first `#### ` line in the file."""
    text: str
    output: list[str] = field(default_factory=list)
    """The tool's `> ` lines after the turn."""
    assistant: str = ""

    @property
    def command(self) -> str:
        """The slash command ("/undo"), or "" for a plain message."""
        head = self.text.strip().split(maxsplit=1)
        if head and head[0].startswith("!"):
            return "/run"  # `!cmd` is aider's shorthand for `/run cmd`
        return head[0].lower() if head and head[0].startswith("/") else ""

    @property
    def automated(self) -> bool:
        """True for turns aider wrote itself (lint results sent back to the model)."""
        return self.text.lstrip().startswith((_LINT_TURN, _HELP_TURN))

    @property
    def request(self) -> str:
        """The user's words: the text, minus a prompt-carrying slash command; "" for other commands."""
        if self.automated:
            return ""
        command = self.command
        if not command:
            return self.text.strip()
        if command in _PROMPT_COMMANDS:
            return self.text.strip()[len(command):].strip()
        return ""


@dataclass
class ChatSession:
    index: int
    started: str
    """The timestamp text after `# aider chat started at`."""
    turns: list[Turn] = field(default_factory=list)


class _Parser:
    """Line-by-line state: the current session, the current turn and what follows it."""

    def __init__(self) -> None:
        self.sessions: list[ChatSession] = []
        self.turn: Turn | None = None
        self.user_lines: list[str] = []
        self.last_user_line = -1
        self.echo = False
        self.assistant: list[str] = []

    def close_turn(self) -> None:
        if self.turn is not None:
            self.turn.assistant = "\n".join(self.assistant).strip()
        self.assistant = []

    def feed(self, number: int, line: str) -> None:
        if line.startswith(SESSION_HEAD):
            self.close_turn()
            self.sessions.append(ChatSession(index=len(self.sessions), started=line[len(SESSION_HEAD):].strip()))
            self.turn, self.user_lines = None, []
        elif not self.sessions:
            return  # text before the first session head belongs to no session
        elif line.startswith("####"):
            self.user_line(number, line[5:] if line.startswith("#### ") else line[4:])
        elif self.turn is not None:
            if line.startswith(">"):
                self.turn.output.append(line[1:].strip())
            else:
                self.assistant.append(line)

    def user_line(self, number: int, body: str) -> None:
        continued = self.last_user_line == number - 1
        self.last_user_line = number
        turn = self.turn
        if continued and turn is not None:
            if not self.echo:
                self.user_lines.append(body)
                turn.text = "\n".join(self.user_lines).strip()
            return
        # aider logs `/ask X` and then X again as if typed: that is one turn, not two.
        self.echo = turn is not None and _is_echo(turn, self.assistant, body)
        if self.echo:
            return
        self.close_turn()
        session = self.sessions[-1]
        self.user_lines = [body]
        self.turn = Turn(session=session.index, index=len(session.turns), line=number, text=body.strip())
        session.turns.append(self.turn)


def parse_chats(text: str) -> list[ChatSession]:
    """Split a transcript into sessions and user turns."""
    parser = _Parser()
    for number, raw in enumerate(text.splitlines(), start=1):
        parser.feed(number, raw.rstrip())
    parser.close_turn()
    return parser.sessions


def _is_echo(turn: Turn, assistant: list[str], body: str) -> bool:
    first = turn.request.splitlines()[0].strip() if turn.request else ""
    return (turn.command in _PROMPT_COMMANDS and not turn.output
            and not any(a.strip() for a in assistant) and body.strip() == first != "")


def load_chats(path: Path) -> list[ChatSession]:
    return parse_chats(path.read_text(encoding="utf-8", errors="replace"))


def eval_chat_path() -> Path:
    """Where the public transcript lives: `aider-chats/` in the evaluation data (`eval_data_dir`)."""
    from once.paths import eval_data_dir

    return (eval_data_dir() or Path("shared") / "eval") / "aider-chats" / "chat-history.md"


def _lint_signature(text: str) -> str:
    # The first line that names a file and a code (flake8 style), else the first error-ish line.
    for line in text.splitlines():
        if re.search(r"\S+:\d+:\d+: [A-Z]\d+", line) or "Error" in line:
            return re.sub(r":\d+:\d+:", ":N:N:", line.strip())[:200]
    return ""


def session_events(session: ChatSession, *, base_ts: float = 0.0) -> list[dict[str, Any]]:
    """Synthetic stored events for one session: each user request is a run.

    `/undo` becomes an `undo` event (with the removed shas) on the run before it; an
    automated lint turn becomes a failing `test_result`; `Commit <sha>` lines become commits.
    """
    session_id = f"aider-{session.index}"
    events: list[dict[str, Any]] = []
    run_id = f"{session_id}-start"
    for turn in session.turns:
        ts = base_ts + turn.line  # file order stands in for time
        if turn.command == "/undo":
            shas = [m.group(1) for line in turn.output if (m := _REMOVED.match(line))]
            events.append({"type": "undo", "run_id": run_id, "ts": ts, "shas": shas,
                           "method": "reset", "reason": ""})
            continue
        if turn.automated and turn.text.lstrip().startswith(_LINT_TURN):
            signature = _lint_signature(turn.text)
            events.append({"type": "test_result", "run_id": run_id, "ts": ts, "turn": 0, "check": "lint",
                           "command": "", "passed": False, "passed_count": 0, "failed_count": 1,
                           "duration_ms": 0.0, "signature": signature, "summary": signature})
            continue
        request = turn.request
        if not request:
            continue
        run_id = f"{session_id}-t{turn.index}"
        events.append({"type": "run_started", "run_id": run_id, "ts": ts, "session_id": session_id,
                       "repo": "aider", "prompt": request, "mode": "agent", "provider": "aider",
                       "model": "", "permission_mode": ""})
        events.append({"type": "user_message", "run_id": run_id, "ts": ts, "text": request})
        if turn.assistant:
            events.append({"type": "model_response", "run_id": run_id, "ts": ts + 0.1, "turn": 1,
                           "model": "", "stop_reason": "end_turn", "text": turn.assistant[:2000],
                           "tool_calls": 0, "usage": {}, "cost_usd": 0.0, "duration_ms": 0.0})
        for line in turn.output:
            if m := _COMMIT.match(line):
                events.append({"type": "commit", "run_id": run_id, "ts": ts + 0.2, "turn": 1,
                               "sha": m.group(1), "subject": m.group(2), "files": [], "kind": "agent"})
            elif m := _APPLIED.match(line):
                events.append({"type": "file_changed", "run_id": run_id, "ts": ts + 0.2, "turn": 1,
                               "path": m.group(1), "action": "modified"})
        events.append({"type": "run_finished", "run_id": run_id, "ts": ts + 0.3, "status": "done",
                       "result": "", "turns": 1, "usage": {}, "cost_usd": 0.0})
    return events


def run_turn(run_id: str) -> int | None:
    """The turn index encoded in a synthetic run id (`aider-<n>-t<i>`), or None."""
    head, _, tail = run_id.rpartition("-t")
    return int(tail) if head and tail.isdigit() else None


def turn_kinds(session: ChatSession) -> dict[int, set[str]]:
    """Turn index -> the kinds of signal the detectors raise on that turn's run."""
    from once.learn.signals import detect_signals

    kinds: dict[int, set[str]] = {}
    for signal in detect_signals(session_events(session)):
        index = run_turn(signal.run_id)
        if index is not None:
            kinds.setdefault(index, set()).add(signal.kind)
    return kinds


LABEL_KINDS = {"complaint": "complaint", "repeat": "repeated_request"}
"""Label field -> the signal kind that should fire on a labelled turn."""


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    def add(self, predicted: bool, actual: bool) -> None:
        if predicted and actual:
            self.tp += 1
        elif predicted:
            self.fp += 1
        elif actual:
            self.fn += 1
        else:
            self.tn += 1

    def to_dict(self) -> dict[str, float]:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "tn": self.tn,
                "precision": round(self.precision, 3), "recall": round(self.recall, 3)}


def score_labels(sessions: list[ChatSession], labels: list[dict[str, Any]]) -> dict[str, Score]:
    """Precision and recall of each detector on hand-labelled turns ({"session", "turn", field: bool})."""
    scores = {name: Score() for name in LABEL_KINDS}
    predicted: dict[int, dict[int, set[str]]] = {}
    for row in labels:
        n = int(row["session"])
        if n not in predicted:
            predicted[n] = turn_kinds(sessions[n])
        found = predicted[n].get(int(row["turn"]), set())
        for name, kind in LABEL_KINDS.items():
            scores[name].add(kind in found, bool(row[name]))
    return scores
