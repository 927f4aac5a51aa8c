"""Stuck detectors on real user text: the public aider chat transcripts (1,133 sessions).

- Hand labels (tests/fixtures/stuck_labels.jsonl, 250 turns read and labelled by hand):
  precision and recall of the `complaint` and `repeated_request` detectors; the 50 marked
  held out were labelled after the phrase patterns were frozen.
- Weak labels over the whole file: a user request that follows an `/undo` (the user threw
  the last edit away) counts as dissatisfied. Reported per detector and for "either".
  Many such turns are a quiet re-ask rather than a complaint, and many complaints have no
  undo nearby, so these figures are a floor on agreement, not an accuracy.
- Counts of every signal kind and of episode outcomes over all sessions.

Run: python benchmarks/stuck_detectors.py [--json] [--chats PATH] [--labels PATH]

Measured (0.1 s for the whole file): hand labels complaint P 0.96 R 0.80, repeat P 0.92
R 0.89; held out: complaint 0 flagged of 0, repeat P 1.00 R 0.56; weak labels (request after
an /undo): complaint P 0.27 R 0.18, repeat P 0.32 R 0.54, either P 0.29 R 0.64.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from once.learn.aider_chats import (
    ChatSession,
    Score,
    eval_chat_path,
    load_chats,
    run_turn,
    score_labels,
    session_events,
)
from once.learn.episodes import find_episodes
from once.learn.signals import detect_signals

LABELS = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "stuck_labels.jsonl"


def weak_labels(session: ChatSession) -> dict[int, bool]:
    """Request turn index -> whether it is the first request after an `/undo`."""
    out: dict[int, bool] = {}
    after_undo = False
    for turn in session.turns:
        if turn.command == "/undo":
            after_undo = True
        elif turn.request:
            out[turn.index] = after_undo
            after_undo = False
    return out


def measure(sessions: list[ChatSession], labels: list[dict[str, Any]]) -> dict[str, Any]:
    started = time.perf_counter()
    kinds: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    weak = {"complaint": Score(), "repeat": Score(), "either": Score()}
    for session in sessions:
        events = session_events(session)
        signals = detect_signals(events)
        kinds.update(s.kind for s in signals)
        statuses.update(e.status for e in find_episodes(events, signals, session_ended=True))
        fired: dict[int, set[str]] = {}
        for signal in signals:
            index = run_turn(signal.run_id)
            if index is not None:
                fired.setdefault(index, set()).add(signal.kind)
        for index, actual in weak_labels(session).items():
            found = fired.get(index, set())
            weak["complaint"].add("complaint" in found, actual)
            weak["repeat"].add("repeated_request" in found, actual)
            weak["either"].add(bool(found & {"complaint", "repeated_request"}), actual)
    elapsed = time.perf_counter() - started
    hand = score_labels(sessions, labels) if labels else {}
    held_rows = [row for row in labels if row.get("split") == "heldout"]
    held = score_labels(sessions, held_rows) if held_rows else {}
    return {
        "sessions": len(sessions),
        "user_turns": sum(len(s.turns) for s in sessions),
        "requests": sum(1 for s in sessions for t in s.turns if t.request),
        "undo_turns": sum(1 for s in sessions for t in s.turns if t.command == "/undo"),
        "hand_labels": {"turns": len(labels), **{k: v.to_dict() for k, v in hand.items()}},
        "held_out_labels": {"turns": len(held_rows), **{k: v.to_dict() for k, v in held.items()}},
        "weak_labels": {k: v.to_dict() for k, v in weak.items()},
        "signal_counts": dict(kinds.most_common()),
        "episodes": dict(statuses.most_common()),
        "seconds": round(elapsed, 2),
    }


def render(result: dict[str, Any]) -> str:
    lines = [(f"{result['sessions']} sessions, {result['user_turns']} user turns "
             f"({result['requests']} requests, {result['undo_turns']} /undo), {result['seconds']} s")]
    for key, title in (("hand_labels", "hand labels"), ("held_out_labels", "of which held out")):
        hand = result[key]
        lines.append(f"{title} ({hand['turns']} turns):")
        for name in ("complaint", "repeat"):
            if name in hand:
                s = hand[name]
                lines.append(f"  {name:9s} precision {s['precision']:.2f}  recall {s['recall']:.2f}  "
                             f"(tp {s['tp']}, fp {s['fp']}, fn {s['fn']}, tn {s['tn']})")
    lines.append("weak labels (the request after an /undo):")
    for name, s in result["weak_labels"].items():
        lines.append(f"  {name:9s} precision {s['precision']:.2f}  recall {s['recall']:.2f}  "
                     f"(tp {s['tp']}, fp {s['fp']}, fn {s['fn']})")
    lines.append("signals: " + ", ".join(f"{k} {v}" for k, v in result["signal_counts"].items()))
    lines.append("episodes: " + ", ".join(f"{k} {v}" for k, v in result["episodes"].items()))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--chats", type=Path, default=eval_chat_path(), help="the aider chat transcript")
    parser.add_argument("--labels", type=Path, default=LABELS, help="the hand-labelled turns (JSONL)")
    args = parser.parse_args(argv)
    if not args.chats.exists():
        print(f"skipped: the public transcript is absent ({args.chats}); see shared/eval/README.md")
        return 0
    labels = ([json.loads(line) for line in args.labels.read_text(encoding="utf-8").splitlines() if line.strip()]
              if args.labels.exists() else [])
    result = measure(load_chats(args.chats), labels)
    print(json.dumps(result, indent=2) if args.json else render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
