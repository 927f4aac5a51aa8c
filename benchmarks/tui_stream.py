"""Streaming into the app: does the display keep up with the model?

Drives the real app headlessly (Textual's `run_test`) with a provider that streams N tokens
at a fixed rate, and measures, for every token, the lag between its arrival (the provider
handing it over) and (a) the conversation widget holding it (the Markdown updated) and (b) the
first frame composed after that (Textual's compositor update handed to the display; headless,
so nothing is written to a terminal). Prints p50 / p95 / max of both and whether the final
text is complete. `--busy` spins one core in a busy loop during the measurement (synthetic
load); the wait for the display is polled and bounded, so a display far behind gives figures.

    python benchmarks/tui_stream.py [--tokens 4000] [--rate 200] [--busy] [--json]

Measured with 4,000 tokens at 200/s on 2 cores that other work shared (load average 3.4-5.2
before each run), arrival -> widget (arrival -> next frame):

    one append and a scroll per token:   p50 196 ms (261), p95 1,132 ms (1,214)
      with one core spinning:            p50 6,873 ms (6,952), p95 12,049 ms (12,141); 4,000 updates
    coalesced, one append per frame:     p50 25 ms (58), p95 67 ms (218); 392 updates
      with one core spinning, 3 runs:    p50 27-35 ms (61-94), p95 81-144 ms (235-361); about 270 updates
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from busy import busy_core  # a sibling script's module: benchmarks run from this folder

SETTLE = 60.0
"""Seconds the display may take, after the last token, to show everything before the run is cut short."""

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from once.providers.base import ModelRequest, ModelResponse, TextCallback  # noqa: E402
from once.tui.backend import build_backend  # noqa: E402


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
    from once.tui.widgets.answer import AnswerView

    cassette = tmp / "empty.json"
    cassette.write_text(json.dumps({"version": 1, "responses": []}))
    backend = build_backend(make_repo(tmp), db=tmp / "db", replay=cassette)
    provider = PacedStream(tokens, rate)
    backend.provider = provider
    held: list[tuple[float, int]] = []
    """(time, characters of the answer on screen) after each update of one of its Markdown blocks."""
    append = AnswerView.append

    async def timed_append(self: AnswerView, markdown: str) -> Any:
        result = await append(self, markdown)
        held.append((time.perf_counter(), (held[-1][1] if held else 0) + len(markdown)))
        return result

    frames: list[float] = []
    display = OnceApp._display

    def timed_display(self: OnceApp, screen: Any, renderable: Any) -> None:
        if renderable is not None:
            frames.append(time.perf_counter())
        display(self, screen, renderable)

    AnswerView.append = timed_append  # type: ignore[method-assign]
    OnceApp._display = timed_display  # type: ignore[method-assign]
    app = OnceApp(backend)
    expected = "".join(provider.words)
    try:
        async with app.run_test(size=(120, 40)):
            app.submit_prompt("stream a long answer")
            # Polled, not `pilot.pause()`: a display that falls far behind must give figures, not a
            # WaitForScreenTimeout; the deadline bounds the run whatever happens.
            deadline = time.perf_counter() + tokens / rate + SETTLE
            while time.perf_counter() < deadline and not (app.finished and _shown(app) == expected):
                await asyncio.sleep(0.05)
            complete = _shown(app) == expected
    finally:
        AnswerView.append = append  # type: ignore[method-assign]
        OnceApp._display = display  # type: ignore[method-assign]
    in_widget, in_frame = _lags(provider, held, frames)
    return {"tokens": tokens, "rate": rate, "updates": len(held), "frames": len(frames),
            **_spread("lag", in_widget), **_spread("frame_lag", in_frame), "final_text_complete": complete}


def _shown(app: Any) -> str:
    from once.tui.widgets.answer import AnswerView

    return "".join(view.source for view in app.query(AnswerView))  # a long answer may span blocks


def _lags(provider: PacedStream, held: list[tuple[float, int]], frames: list[float]) -> tuple[list[float], list[float]]:
    """Per token: ms from its arrival to the first update holding it, and to the frame after that."""
    times, sizes = [t for t, _ in held], [n for _, n in held]
    in_widget, in_frame, end = [], [], 0
    for word, came in zip(provider.words, provider.arrivals):
        end += len(word)
        at = bisect.bisect_left(sizes, end)
        if at == len(sizes):
            continue
        in_widget.append((times[at] - came) * 1000)
        frame = bisect.bisect_left(frames, times[at])
        if frame < len(frames):
            in_frame.append((frames[frame] - came) * 1000)
    return sorted(in_widget), sorted(in_frame)


def _spread(name: str, values: list[float]) -> dict[str, float | None]:
    """p50, p95 and max of sorted `values`, in ms."""
    if not values:
        return {f"{name}_p50_ms": None, f"{name}_p95_ms": None, f"{name}_max_ms": None}
    return {f"{name}_p50_ms": round(statistics.median(values), 1),
            f"{name}_p95_ms": round(values[max(int(len(values) * 0.95) - 1, 0)], 1),
            f"{name}_max_ms": round(values[-1], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=4000)
    parser.add_argument("--rate", type=float, default=200.0, help="tokens per second")
    parser.add_argument("--busy", action="store_true", help="spin one core in a busy loop during the measurement")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp, busy_core(args.busy):
        figures = asyncio.run(drive(args.tokens, args.rate, Path(tmp)))
    figures |= {"busy_core": args.busy, "load_before": round(load, 2), "cpus": os.cpu_count()}
    if args.json:
        print(json.dumps(figures))
        return
    print(f"{figures['tokens']} tokens at {figures['rate']:.0f}/s ({'one core spinning, ' if args.busy else ''}"
          f"load {load:.1f} on {os.cpu_count()} cpus before): {figures['updates']} widget updates, "
          f"{figures['frames']} frames; final text complete: {figures['final_text_complete']}")
    print(f"  arrival -> widget:      p50 {figures['lag_p50_ms']} ms, p95 {figures['lag_p95_ms']} ms, "
          f"max {figures['lag_max_ms']} ms")
    print(f"  arrival -> next frame:  p50 {figures['frame_lag_p50_ms']} ms, p95 {figures['frame_lag_p95_ms']} ms, "
          f"max {figures['frame_lag_max_ms']} ms")


if __name__ == "__main__":
    main()
