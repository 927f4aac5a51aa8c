"""Start-up cost: `agent --help` and a replayed two-file `agent run`, as ratios measured side by side.

Every round runs each command once, in turn, so the ratios share the machine's load.
- help / pass: `agent --help` against `python -c pass` (target <= 3x), with the package's
  bytecode on disk and without it (copies of the package first on PYTHONPATH, one compiled
  beforehand, one never: an editable install under PYTHONDONTWRITEBYTECODE=1).
- run / help: `agent run --replay` of a cassette that edits two files and commits them, in a
  two-file repository reset between rounds (target <= 2x `agent --help`).
- The full parser's help (COLUMNS=79 keeps the launcher from answering) is shown for scale.

Run: python benchmarks/help_time.py [ROUNDS]

Measured (11 rounds, 2 busy cores, load ~5), medians in ms, before -> after this version:
    python -c pass                 21.7 ->  27.8
    agent --help                  207.8 ->  46.3    help / pass 9.59x -> 1.66x
    agent --help, no bytecode     249.4 ->  44.6    help / pass 11.51x -> 1.60x
    agent --help, full parser     198.5 -> 245.2    (noise: the parser itself is unchanged)
    agent run --replay            887.1 -> 654.0    run / help 4.27x -> 14.12x
The run is a quarter faster, but against the new help it stays far from 2x: it spawns 26 git
processes and imports the agent core (~130 dataclasses, ~0.3 s of the 0.65 s).
"""

from __future__ import annotations

import compileall
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GIT_ENV = {"GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.com",
           "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@example.com"}


def _message(index: int, blocks: list[dict], stop: str) -> dict:
    return {"id": f"msg_{index}", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6",
            "content": blocks, "stop_reason": stop, "stop_sequence": None,
            "usage": {"input_tokens": 100, "output_tokens": 20}}


def two_file_cassette() -> dict:
    edits = [{"type": "tool_use", "id": f"t{name}", "name": "edit_file",
              "input": {"path": f"{name}.py", "old_string": f"{name.upper()} = 1\n",
                        "new_string": f"{name.upper()} = 2\n"}} for name in ("a", "b")]
    return {"version": 1, "responses": [_message(0, [{"type": "text", "text": "Edit."}, *edits], "tool_use"),
                                        _message(1, [{"type": "text", "text": "done"}], "end_turn")]}


def make_repo(tmp: Path) -> Path:
    root = tmp / "repo"
    root.mkdir()
    (root / "a.py").write_text("A = 1\n")
    (root / "b.py").write_text("B = 1\n")
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "init"]):
        subprocess.run(["git", *args], cwd=root, check=True, env={**os.environ, **GIT_ENV})
    return root


def package_copy(tmp: Path, name: str, bytecode: bool) -> dict[str, str]:
    """An environment importing a copy of `once`: compiled beforehand, or never compiled to
    disk (as an editable install under PYTHONDONTWRITEBYTECODE=1)."""
    source = Path(importlib.util.find_spec("once").submodule_search_locations[0])  # type: ignore[union-attr]
    target = tmp / name / "once"
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    if bytecode:
        compileall.compile_dir(target, quiet=1)
    return {**os.environ, "PYTHONPATH": str(target.parent), "PYTHONDONTWRITEBYTECODE": "1"}


def timed(cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, env=env, cwd=cwd)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {done.stderr.decode()[-500:]}")
    return elapsed


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    agent = shutil.which("agent") or str(Path(sys.executable).with_name("agent"))
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        repo = make_repo(tmp)
        (tmp / "c.json").write_text(json.dumps(two_file_cassette()))
        bytecode = package_copy(tmp, "compiled", bytecode=True)
        no_bytecode = package_copy(tmp, "source", bytecode=False)
        full_parser = {**bytecode, "COLUMNS": "79"}
        run = [agent, "run", "--replay", str(tmp / "c.json"), "--db", str(tmp / "once.db"), "edit both"]
        commands = {
            "python -c pass": ([sys.executable, "-c", "pass"], None),
            "agent --help": ([agent, "--help"], bytecode),
            "agent --help, no bytecode": ([agent, "--help"], no_bytecode),
            "agent --help, full parser": ([agent, "--help"], full_parser),
            "agent run --replay": (run, bytecode),
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for round_ in range(rounds + 1):
            for name, (cmd, env) in commands.items():
                elapsed = timed(cmd, env, cwd=repo)
                if round_:  # the first round warms the file cache and creates the database
                    times[name].append(elapsed)
            subprocess.run(["git", "reset", "-q", "--hard", "HEAD~1"], cwd=repo, check=True)
    report({name: statistics.median(values) for name, values in times.items()})


def report(median: dict[str, float]) -> None:
    for name, value in median.items():
        print(f"{name:<28} median {value * 1000:7.1f} ms")
    base, help_ = median["python -c pass"], median["agent --help"]
    print(f"help / pass                  {help_ / base:5.2f}x   (target <= 3x)")
    print(f"help / pass, no bytecode     {median['agent --help, no bytecode'] / base:5.2f}x   (target <= 3x)")
    print(f"full-parser help / pass      {median['agent --help, full parser'] / base:5.2f}x")
    print(f"run --replay / help          {median['agent run --replay'] / help_:5.2f}x   (target <= 2x)")


if __name__ == "__main__":
    main()
