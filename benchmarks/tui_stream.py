"""Streaming into the app: does the display keep up with the model?

Drives the real app headlessly (Textual's `run_test`) with a provider that streams N tokens
at a fixed rate, and measures, for every token, the lag between its arrival (the provider
handing it over) and the conversation widget holding it (the Markdown updated, ready for the
next frame). Prints p50 / p95 / max lag and whether the final text is complete.

    python benchmarks/tui_stream.py [--tokens 2000] [--rate 200] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from once.providers.base import ModelRequest, ModelResponse, TextCallback  # noqa: E402
from once.tui.backend import build_backend  # noqa: E402
from once.tui.widgets.conversation import Conversation  # noqa: E402


class PacedStream:
    """A provider that streams `tokens` words at `rate` per second and records each arrival."""

    name = "paced"

    def __init__(self, tokens: int, rate: float) -> None:
        self.words = [f"w{i} " if i % 12 else f"w{i}\n\n" for i in range(tokens)]
        self.rate = rate
        self.arrivals: list[float] = []

    def complete(self, request: ModelRequest, on_text: TextCallback | None = None) -> ModelResponse:
        start = time.perf_counter()
        for i, word in enumerate(self.words):
            delay = start + i / self.rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            self.arrivals.append(time.perf_counter())
            if on_text is not None:
                on_text(word)
        text = "".join(self.words)
        return ModelResponse(raw={"id": "msg_paced", "type": "message", "role": "assistant", "model": "paced",
                                  "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
                                  "usage": {"input_tokens": 10, "output_tokens": len(self.words)}})


def make_repo(root: Path) -> Path:
    repo = root / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    (repo / "README.md").write_text("# sample\n")
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "-c", "user.name=b", "-c", "user.email=b@example.com", "commit", "-qm", "init"],
                   cwd=repo, check=True)
    return repo


async def drive(tokens: int, rate: float, tmp: Path) -> dict[str, Any]:
    from once.tui.app import OnceApp

    cassette = tmp / "empty.json"
    cassette.write_text(json.dumps({"version": 1, "responses": []}))
    backend = build_backend(make_repo(tmp), db=tmp / "db", replay=cassette)
    provider = PacedStream(tokens, rate)
    backend.provider = provider
    applied: list[float] = []
    original = Conversation.add_text

    async def timed_add_text(self: Conversation, delta: str) -> None:
        await original(self, delta)
        applied.append(time.perf_counter())

    Conversation.add_text = timed_add_text  # type: ignore[method-assign]
    app = OnceApp(backend)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            app.submit_prompt("stream a long answer")
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
            shown = app.query_one(Conversation).answer
            complete = shown is not None and shown.source == "".join(provider.words)
    finally:
        Conversation.add_text = original  # type: ignore[method-assign]
    lags = [(done - came) * 1000 for came, done in zip(provider.arrivals, applied)]
    lags.sort()
    return {"tokens": tokens, "rate": rate, "applied": len(applied),
            "lag_p50_ms": round(statistics.median(lags), 1) if lags else None,
            "lag_p95_ms": round(lags[int(len(lags) * 0.95) - 1], 1) if lags else None,
            "lag_max_ms": round(lags[-1], 1) if lags else None, "final_text_complete": complete}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=200.0, help="tokens per second")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        figures = asyncio.run(drive(args.tokens, args.rate, Path(tmp)))
    if args.json:
        print(json.dumps(figures))
        return
    print(f"{figures['tokens']} tokens at {figures['rate']:.0f}/s: {figures['applied']} deltas shown; lag from "
          f"arrival to widget p50 {figures['lag_p50_ms']} ms, p95 {figures['lag_p95_ms']} ms, "
          f"max {figures['lag_max_ms']} ms; final text complete: {figures['final_text_complete']}")


if __name__ == "__main__":
    main()
