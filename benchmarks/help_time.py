"""`agent --help` wall time: median of N runs, and its ratio to `python -c pass`.

Target: <= 150 ms. Run: python benchmarks/help_time.py [N]
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time


def median_wall(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    agent = shutil.which("agent")
    cmd = [agent, "--help"] if agent else [sys.executable, "-m", "once", "--help"]
    median_wall(cmd, 2)  # warm the file cache
    baseline = median_wall([sys.executable, "-c", "pass"], runs)
    help_time = median_wall(cmd, runs)
    print(f"python -c pass   median {baseline * 1000:7.1f} ms")
    print(f"agent --help     median {help_time * 1000:7.1f} ms   (target <= 150 ms)")
    print(f"ratio            {help_time / baseline:7.2f}x")


if __name__ == "__main__":
    main()
