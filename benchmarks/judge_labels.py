"""The small model as the stuck judge, on the labelled turns the phrase patterns were not written from.

Each turn of `tests/fixtures/stuck_labels_fresh.jsonl` becomes the one signal of a question
built as `agent learn` builds it (`once.learn.episodes._start_question`, with the same system
prompt), asked of a local OpenAI-compatible server; its yes/no is scored against the hand
label beside the phrase patterns' own figures on the same turns.

    python benchmarks/judge_labels.py --base-url http://127.0.0.1:8005/v1 -m qwen2.5-coder-1.5b-instruct
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from once.agent.small import small_ask  # noqa: E402
from once.learn.episodes import _start_question  # noqa: E402
from once.learn.phrases import complaint_phrase, failure_paste  # noqa: E402
from once.learn.pipeline import JUDGE_SYSTEM  # noqa: E402
from once.learn.signals import Signal  # noqa: E402
from once.providers.openai import OpenAIProvider  # noqa: E402

FRESH = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "stuck_labels_fresh.jsonl"


def score(predicted: list[bool], truth: list[bool]) -> dict[str, float | int]:
    hits = sum(p and t for p, t in zip(predicted, truth))
    flagged, positives = sum(predicted), sum(truth)
    return {"flagged": flagged, "hits": hits, "precision": round(hits / flagged, 3) if flagged else 0.0,
            "recall": round(hits / positives, 3) if positives else 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("-m", "--model", required=True)
    parser.add_argument("--limit", type=int, default=0, help="only the first N turns")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = [json.loads(line) for line in FRESH.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = rows[: args.limit] if args.limit else rows
    ask = small_ask(OpenAIProvider(args.base_url), args.model, max_tokens=64)
    judged, seconds = [], []
    for row in rows:
        signal = Signal(kind="user_turn", session_id="s", run_id="r", ts=0.0, evidence=row["text"], ref="")
        started = time.perf_counter()
        answer = ask(JUDGE_SYSTEM, _start_question([signal]))
        seconds.append(time.perf_counter() - started)
        judged.append(answer.strip().lower().startswith("yes"))
    truth = [bool(r["complaint"]) for r in rows]
    patterns = [bool(complaint_phrase(r["text"]) or failure_paste(r["text"])) for r in rows]
    result = {"turns": len(rows), "complaints": sum(truth), "judge": score(judged, truth),
              "patterns": score(patterns, truth), "median_seconds": round(statistics.median(seconds), 2),
              "model": args.model}
    print(json.dumps(result, indent=2) if args.json else "\n".join(f"{k:16} {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
