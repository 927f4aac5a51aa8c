"""Time from launching `agent` (the app) to its first paint, in a real pseudo-terminal.

Starts `python -m once` on a pty in a fresh git repository with an offline replay cassette,
and stops the clock when the first frame is on the screen. Prints the median and the
spread over several launches; `--json` prints the figures as JSON. Target: <= 400 ms.

    python benchmarks/tui_first_paint.py [--runs 7] [--json]
"""

from __future__ import annotations

import argparse
import json
import fcntl
import os
import pty
import re
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

PAINTED = 400
"""Visible characters on screen that mean a frame was drawn (not just terminal set-up codes)."""
ESCAPES = re.compile(rb"\x1b(\[[0-9;?]*[ -/]*[@-~]|\][^\x07]*\x07|[@-Z\\-_])")


def make_repo(root: Path) -> tuple[Path, Path]:
    repo = root / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    (repo / "README.md").write_text("# sample\n")
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "-c", "user.name=b", "-c", "user.email=b@example.com", "commit", "-qm", "init"],
                   cwd=repo, check=True)
    cassette = root / "cassette.json"
    cassette.write_text(json.dumps({"version": 1, "responses": []}))
    return repo, cassette


def launch_once(repo: Path, cassette: Path, db: Path, timeout: float) -> float:
    """Seconds from spawning the process to the marker appearing on the terminal."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40", "ONCE_DB": str(db)}
    env.pop("CI", None)
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "once", "--replay", str(cassette)], cwd=repo,
                            stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
    os.close(slave)
    seen = b""
    elapsed = float("nan")
    try:
        while time.perf_counter() - start < timeout:
            ready, _, _ = select.select([master], [], [], 0.05)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            seen += chunk
            if len(ESCAPES.sub(b"", seen).decode("utf-8", "replace").replace(" ", "")) >= PAINTED:
                elapsed = time.perf_counter() - start
                break
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        os.close(master)
    if elapsed != elapsed:
        raise SystemExit(f"the app never painted a frame; last output: {seen[-400:]!r}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--timeout", type=float, default=20.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo, cassette = make_repo(Path(tmp))
        launch_once(repo, cassette, Path(tmp) / "warm.db", args.timeout)  # warm the OS file cache
        times = [launch_once(repo, cassette, Path(tmp) / f"db{i}", args.timeout) for i in range(args.runs)]
    figures = {"runs": args.runs, "median_ms": round(statistics.median(times) * 1000, 1),
               "min_ms": round(min(times) * 1000, 1), "max_ms": round(max(times) * 1000, 1), "target_ms": 400}
    if args.json:
        print(json.dumps(figures))
    else:
        print(f"launch to first paint: median {figures['median_ms']} ms "
              f"(min {figures['min_ms']}, max {figures['max_ms']}, {args.runs} runs; target <= 400 ms)")


if __name__ == "__main__":
    main()
