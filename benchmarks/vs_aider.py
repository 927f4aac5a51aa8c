"""once and aider side by side on the same tasks and the same model server.

Each run starts from a fresh copy of the task's repository; the hidden check files are added
only when the agent has finished. once runs as `agent eval` runs it (a subprocess per step,
its own database); aider runs with the repository's files named on its command line, as its
users do, and `--yes-always`. Several rounds; prints pass counts with 95% intervals, median
wall time and tokens for both, and writes everything to OUT/vs_aider.json.

aider is not a dependency of once: install it apart (`pip install aider-chat`, or the
`aider` extra in a separate environment) and pass `--aider PATH` if it is not on PATH.

    python benchmarks/vs_aider.py --base-url http://127.0.0.1:8005/v1 \\
        --model qwen2.5-coder-1.5b-instruct --rounds 2 --task py-add-is-leap --task py-fix-mean

`--replay FOLDER` replays once from cassettes (`agent eval --replay`), for testing the harness.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from once.evals.arms import Arm
from once.evals.runner import RunSetup, TaskRun, interrupt_running, run_check_on, run_task
from once.evals.stats import wilson
from once.evals.task import Task, load_suite
from once.evals.workspace import changed_files, prepare_repo, remove_repo

_TOKENS = re.compile(r"Tokens:\s*([\d.]+)(k?)\s*sent,\s*([\d.]+)(k?)\s*received", re.IGNORECASE)
_SKIPPED_FILES = {"package-lock.json", "yarn.lock", "poetry.lock", "uv.lock"}
MAX_NAMED_FILES = 12


@dataclass
class Result:
    agent: str
    task: str
    round: int
    passed: bool
    seconds: float
    tokens: int
    status: str
    """once: the run's status (done, incomplete, ...); aider: its exit code, or timeout."""
    changed: list[str] = field(default_factory=list)

    @property
    def done_without_work(self) -> bool:
        """Claimed success with nothing changed: what must never happen."""
        return self.agent == "once" and self.status == "done" and not self.changed


def once_run(task: Task, arm: Arm, number: int, out: Path) -> Result:
    run: TaskRun = run_task(task, arm, number, RunSetup(out=out))
    statuses = [step.status for step in run.steps]
    status = next((s for s in statuses if s != "done"), "done") if statuses else "none"
    return Result("once", task.name, number, run.passed, run.seconds, run.tokens, status, run.files_changed)


def named_files(repo: Path) -> list[str]:
    """The repository's files an aider user would add to the chat: its small text files."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=repo, capture_output=True, check=True).stdout
    files = [name for name in listed.decode().split("\0") if name and Path(name).name not in _SKIPPED_FILES]
    return [name for name in files if (repo / name).stat().st_size <= 32_000][:MAX_NAMED_FILES]


def aider_tokens(output: str) -> int:
    total = 0.0
    for sent, sent_k, received, received_k in _TOKENS.findall(output):
        total += float(sent) * (1000 if sent_k else 1) + float(received) * (1000 if received_k else 1)
    return int(total)


def aider_run(task: Task, number: int, command: list[str], base_url: str, model: str, out: Path) -> Result:
    repo = prepare_repo(task)
    home = Path(tempfile.mkdtemp(prefix="vs-aider-home-"))
    env = {**os.environ, "HOME": str(home), "OPENAI_API_BASE": base_url, "OPENAI_API_KEY": "none",
           "AIDER_ANALYTICS": "false", "AIDER_CHECK_UPDATE": "false"}
    started = time.monotonic()
    deadline = started + task.limits.time
    log: list[str] = []
    status = "0"
    try:
        for prompt in task.prompts:
            argv = [*command, "--model", f"openai/{model}", "--yes-always", "--no-pretty", "--no-stream",
                    "--no-show-model-warnings", "--no-check-update", "--analytics-disable", "--no-gitignore",
                    "--message", prompt, *named_files(repo)]
            code, output = _run_bounded(argv, repo, env, deadline - time.monotonic())
            log.append(output)
            status = "timeout" if code is None else str(code)
            if code is None:
                break
        run = TaskRun(task=task.name, arm="aider", repeat=number)
        changed = changed_files(repo)
        run_check_on(task, repo, run, RunSetup(out=out))
        folder = out / "aider" / f"{task.name}.{number}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "output.txt").write_text("\n".join(log), encoding="utf-8")
        return Result("aider", task.name, number, run.passed, time.monotonic() - started,
                      aider_tokens("\n".join(log)), status, changed)
    finally:
        remove_repo(repo)
        shutil.rmtree(home, ignore_errors=True)


def _run_bounded(argv: list[str], cwd: Path, env: dict[str, str], seconds: float) -> tuple[int | None, str]:
    """(exit code, output); None when the time ran out (the process group is killed)."""
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, errors="replace", start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=max(seconds, 1.0))
        return proc.returncode, output
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        return None, output


def summary(results: list[Result]) -> dict[str, dict[str, object]]:
    table: dict[str, dict[str, object]] = {}
    for agent in sorted({r.agent for r in results}, key=lambda a: a != "once"):
        mine = [r for r in results if r.agent == agent]
        passed = sum(r.passed for r in mine)
        interval = wilson(passed, len(mine))
        table[agent] = {
            "passed": passed, "runs": len(mine), "rate": passed / len(mine), "low": interval.low,
            "high": interval.high,
            "median_seconds": statistics.median(r.seconds for r in mine),
            "median_tokens": statistics.median(r.tokens for r in mine),
            "done_without_work": sum(r.done_without_work for r in mine),
            "statuses": {s: sum(r.status == s for r in mine) for s in sorted({r.status for r in mine})},
        }
    return table


def print_report(results: list[Result], table: dict[str, dict[str, object]]) -> None:
    tasks = sorted({r.task for r in results})
    agents = list(table)
    print(f"{'task':28}" + "".join(f"{a:>12}" for a in agents))
    for task in tasks:
        cells = []
        for agent in agents:
            mine = [r for r in results if r.task == task and r.agent == agent]
            cells.append(f"{sum(r.passed for r in mine)}/{len(mine)}")
        print(f"{task:28}" + "".join(f"{c:>12}" for c in cells))
    print()
    for agent, row in table.items():
        print(f"{agent}: passed {row['passed']}/{row['runs']} = {row['rate']:.0%} "
              f"(95% CI {row['low']:.0%}-{row['high']:.0%}); median {row['median_seconds']:.1f} s, "
              f"{row['median_tokens']:,.0f} tokens; ended: {row['statuses']}")
    if "once" in table and "aider" in table:
        ratio = float(table["once"]["median_seconds"]) / max(float(table["aider"]["median_seconds"]), 1e-9)
        print(f"median wall time once/aider: {ratio:.2f}x; once runs ended done with nothing changed: "
              f"{table['once']['done_without_work']}")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", default="builtin", help="eval suite (default: builtin)")
    parser.add_argument("--task", action="append", default=[], help="only this task (repeatable)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--base-url", default="http://127.0.0.1:8005/v1")
    parser.add_argument("--model", default="qwen2.5-coder-1.5b-instruct")
    parser.add_argument("--aider", default="aider", help="aider command (default: aider on PATH)")
    parser.add_argument("--no-aider", action="store_true", help="run once only")
    parser.add_argument("--once-setting", action="append", default=[], metavar="KEY=VALUE",
                        help="extra once setting, e.g. edit_format=whole (repeatable)")
    parser.add_argument("--replay", type=Path, help="replay once from this folder of cassettes")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "once-vs-aider")
    return parser.parse_args(argv)


def run_rounds(args: argparse.Namespace, tasks: list[Task], arm: Arm, command: list[str]) -> list[Result]:
    """Each round, each task: once, then aider; a line per run as it ends."""
    results: list[Result] = []
    for number in range(1, args.rounds + 1):
        for task in tasks:
            runs = [once_run(task, arm, number, args.out)]
            if not args.no_aider:
                runs.append(aider_run(task, number, command, args.base_url, args.model, args.out))
            for result in runs:
                results.append(result)
                mark = "pass" if result.passed else "FAIL"
                print(f"round {number} {task.name:28} {result.agent:6} {mark} {result.status:>10} "
                      f"{result.seconds:6.1f} s {result.tokens:>7,} tokens", flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    tasks = load_suite(args.suite, only=args.task or None)
    command = shlex.split(args.aider)
    if not args.no_aider and shutil.which(command[0]) is None:
        print(f"aider not found ({command[0]}): install it apart (pip install aider-chat) or pass --aider PATH, "
              "or use --no-aider", file=sys.stderr)
        return 2
    settings = {"provider": "openai", "base_url": args.base_url, "model": args.model, "small_model": args.model}
    if args.replay:
        settings = {"provider": "replay", "model": args.model}
    settings.update(dict(item.split("=", 1) for item in args.once_setting))
    arm = Arm("once", settings, args.replay)
    args.out.mkdir(parents=True, exist_ok=True)
    # The agents run in sessions of their own: a stopped benchmark stops them too.
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        results = run_rounds(args, tasks, arm, command)
    except KeyboardInterrupt:
        interrupt_running()
        print("stopped: the runs under way were told to stop", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    table = summary(results)
    print()
    print_report(results, table)
    report = {"model": args.model, "rounds": args.rounds, "summary": table, "results": [asdict(r) for r in results]}
    (args.out / "vs_aider.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(f"\nwritten to {args.out / 'vs_aider.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
