"""Time from launching `agent` (the app) to its first paint, in a real pseudo-terminal.

Starts `python -m once` on a pty in a fresh git repository with an offline replay cassette,
and stops the clock when the first frame is on the screen. Prints the median and the
spread over several launches, and the CPU time the app had used by then (less sensitive to
what else the machine runs); `--busy` spins one core in a busy loop meanwhile; `--json`
prints the figures as JSON; `--against SRC` launches another version's `src` directory (a
checkout, or `git archive REV src | tar -x`) in turn with this one, so both share the load.
Each version runs from a copy of its package with the bytecode written beforehand, as an
installed package has it; `--no-bytecode` launches copies never compiled, under
PYTHONDONTWRITEBYTECODE=1 (an editable install so set compiles every module at every launch).
Target: <= 400 ms on an idle machine.

    python benchmarks/tui_first_paint.py [--runs 7] [--busy] [--json] [--against SRC] [--no-bytecode]

Measured on 2 cores that other work shared (load average 4.7 before), 7 launches:

    before (gitpython to find the repository, the queue's drain and the checks' code imported
    at start):  median 741 ms, CPU 410 ms; with one core spinning: median 973 ms, CPU 400 ms
    after:      median 489 ms (min 344 ms), CPU 290 ms; with one core spinning: median 764 ms,
                CPU 310 ms

No idle machine was at hand: the CPU the launch used by its first frame (290 ms) is what an idle
machine's wall time would come close to.

Then, `--against` the version before, on 2 cores at load 0.7-1.3 (medians, wall / CPU by the first frame):

    before (typer, the events, the hidden tabs' panels and the completion menu loaded or composed before
    the first frame; ~140 garbage collections during the start):
                      15 runs: 410 / 400 ms; no bytecode, 11 runs: 460 / 450 ms; one core spinning: 421 / 380 ms
    after:            15 runs: 286 / 280 ms; no bytecode, 11 runs: 335 / 320 ms; one core spinning: 313 / 270 ms

Of the ~280 ms left, Python and importing Textual (with Rich and asyncio) take ~170; the app's own
modules ~30; Textual's start, CSS, compose, layout and first render of ~20 widgets the rest.
"""

from __future__ import annotations

import argparse
import compileall
import fcntl
import importlib.util
import json
import os
import pty
import re
import select
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

from busy import busy_core  # a sibling script's module: benchmarks run from this folder

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


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a running process has used so far (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def launch_once(repo: Path, cassette: Path, db: Path, timeout: float,
                package: dict[str, str] | None = None) -> tuple[float, float]:
    """Seconds from spawning the process to the first frame on the terminal, and its CPU time by then;
    `package`: the environment that imports a copy of the `once` package (package_copy)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40", "ONCE_DB": str(db),
           **(package or {})}
    env.pop("CI", None)
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "once", "--replay", str(cassette)], cwd=repo,
                            stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
    os.close(slave)
    seen = b""
    elapsed = cpu = float("nan")
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
                cpu = cpu_seconds(proc.pid)
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
    return elapsed, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--timeout", type=float, default=20.0)
    parser.add_argument("--busy", action="store_true", help="spin one core in a busy loop during the launches")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--against", type=Path, help="another version's src directory, launched in turn with this one")
    parser.add_argument("--no-bytecode", action="store_true", help="launch copies never compiled to bytecode")
    args = parser.parse_args()
    this = Path(importlib.util.find_spec("once").submodule_search_locations[0])  # type: ignore[union-attr]
    sources = {"this": this}
    if args.against is not None:
        sources["against"] = args.against.resolve() / "once"
    load = os.getloadavg()[0]
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in sources}
    with tempfile.TemporaryDirectory() as tmp, busy_core(args.busy):
        repo, cassette = make_repo(Path(tmp))
        packages = {name: package_copy(Path(tmp) / name, source, not args.no_bytecode)
                    for name, source in sources.items()}
        for name, package in packages.items():  # warm the OS file cache
            launch_once(repo, cassette, Path(tmp) / f"warm-{name}.db", args.timeout, package)
        for i in range(args.runs):
            for name, package in packages.items():
                runs[name].append(launch_once(repo, cassette, Path(tmp) / f"db-{name}{i}", args.timeout, package))
    for name, measured in runs.items():
        report(name if args.against else "", measured, args, load)


def package_copy(where: Path, source: Path, bytecode: bool) -> dict[str, str]:
    """The environment that imports a copy of the `once` package in `source`: compiled beforehand,
    or never compiled (and not compiled as it runs)."""
    target = where / "once"
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    if bytecode:
        compileall.compile_dir(target, quiet=1)
    return {"PYTHONPATH": str(where), "PYTHONDONTWRITEBYTECODE": "1"}


def report(name: str, runs: list[tuple[float, float]], args: argparse.Namespace, load: float) -> None:
    times, cpus = [wall for wall, _ in runs], [cpu for _, cpu in runs]
    figures = {"runs": args.runs, "median_ms": round(statistics.median(times) * 1000, 1),
               "min_ms": round(min(times) * 1000, 1), "max_ms": round(max(times) * 1000, 1),
               "cpu_median_ms": round(statistics.median(cpus) * 1000, 1), "target_ms": 400,
               "busy_core": args.busy, "load_before": round(load, 2), "cpus": os.cpu_count()}
    if name:
        figures["version"] = name
    if args.no_bytecode:
        figures["bytecode"] = False
    if args.json:
        print(json.dumps(figures))
    else:
        print(f"{name + ': ' if name else ''}launch to first paint: median {figures['median_ms']} ms "
              f"(min {figures['min_ms']}, max {figures['max_ms']}, {args.runs} runs; target <= 400 ms); "
              f"CPU used by then: median {figures['cpu_median_ms']} ms; "
              f"{'one core spinning, ' if args.busy else ''}{'no bytecode, ' if args.no_bytecode else ''}"
              f"load {load:.1f} on {os.cpu_count()} cpus before")


if __name__ == "__main__":
    main()
