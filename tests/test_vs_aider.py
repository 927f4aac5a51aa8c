"""The side-by-side benchmark's harness: once replayed from cassettes, a stand-in `aider` program
that edits like aider does (named files on its command line, `--message`), fresh copies, hidden
checks at the end, counts per agent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.eval_fixtures import fix_add_responses, write_cassettes, write_task

ROOT = Path(__file__).resolve().parent.parent

# Fixes calc.py when it is named on the command line, and records what it was given.
FAKE_AIDER = r'''
import json, os, sys
from pathlib import Path
args = sys.argv[1:]
message = args[args.index("--message") + 1]
files = [a for a in args[args.index("--message") + 2:]]
Path(os.environ["FAKE_AIDER_LOG"]).open("a").write(json.dumps({"message": message, "files": files,
    "hidden_seen": Path("hidden_test_calc.py").exists()}) + "\n")
if "calc.py" in files and "fix" in message:
    Path("calc.py").write_text("def add(a, b):\n    return a + b\n")
print("Tokens: 1.5k sent, 200 received.")
'''


def test_both_agents_run_each_task_each_round_from_a_fresh_copy(tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    write_task(suite, "fix-add", prompt="Please fix add() so it returns the sum.")
    write_task(suite, "no-fix", prompt="Make add() return the sum.")
    cassettes = write_cassettes(tmp_path / "cassettes", {"fix-add": fix_add_responses(),
                                                         "no-fix": fix_add_responses()})
    fake = tmp_path / "fake_aider.py"
    fake.write_text(FAKE_AIDER)
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "vs_aider.py"), "--suite", str(suite), "--rounds", "2",
         "--replay", str(cassettes), "--aider", f"{sys.executable} {fake}", "--out", str(out)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env={**os.environ, "FAKE_AIDER_LOG": str(tmp_path / "aider-calls.jsonl")})
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / "vs_aider.json").read_text())
    once, aider = report["summary"]["once"], report["summary"]["aider"]
    assert (once["passed"], once["runs"]) == (4, 4)
    assert (aider["passed"], aider["runs"]) == (2, 4), "the stand-in only fixes when asked to fix"
    assert once["done_without_work"] == 0 and aider["median_tokens"] == 1700
    assert "once: passed 4/4 = 100%" in proc.stdout and "aider: passed 2/4 = 50%" in proc.stdout
    # Every aider run started from a fresh copy, with the repository's files named and no hidden file.
    calls = [json.loads(line) for line in (tmp_path / "aider-calls.jsonl").read_text().splitlines()]
    assert len(calls) == 4 and all(call["files"] == ["calc.py"] and not call["hidden_seen"] for call in calls)
    by_task = {(r["task"], r["agent"], r["round"]): r for r in report["results"]}
    assert len(by_task) == 8
    assert by_task[("no-fix", "aider", 2)]["changed"] == [] and by_task[("fix-add", "aider", 2)]["changed"] == [
        "calc.py"]


def test_a_missing_aider_is_a_clear_error(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "vs_aider.py"), "--aider",
                           str(tmp_path / "no-such-aider"), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "aider not found" in proc.stderr and "Traceback" not in proc.stderr
