"""Loop overhead per turn, replaying a 100-turn cassette through the real loop.

Targets: <= 20 ms per turn without commits, <= 40 ms per turn with a commit per turn.
The cassette's model answers instantly, so what is measured is once itself: events to
SQLite, tool dispatch, landing edits, git commits. Run: python benchmarks/loop_overhead.py

Figures (median of 5 runs, 2 cores at a load average of 5 to 6, git 2.39):

                           without commits   with a commit   git processes per commit
    before (per-file status, add + commit)     2.7 ms          50.8 ms     10
    after (one v2 status, commit --only)       2.6 ms          28.6 ms      3

Before, a committed turn ran status, check-ignore, rev-parse + cat-file (HEAD's version for
the secret scan), rev-parse, ls-files (the index to restore), add, commit, rev-parse, and
the `git maintenance run --auto` the commit started. After: one `status --porcelain=v2
--branch` (what to commit, HEAD, the index entries), `commit --only`, `rev-parse` for the
new sha; `git add` only for new files; HEAD's version only read for a file holding a secret.
Plumbing (read-tree, update-index, write-tree, commit-tree, update-ref, and the real index)
would take six processes for what `commit --only` does in one.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TURNS = 100


def _message(index: int, blocks: list[dict]) -> dict:
    return {"id": f"msg_{index}", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6",
            "content": blocks, "stop_reason": "tool_use", "stop_sequence": None,
            "usage": {"input_tokens": 100, "output_tokens": 20}}


def cassette(with_commits: bool) -> dict:
    responses = []
    for i in range(TURNS - 1):
        if with_commits:
            block = {"type": "tool_use", "id": f"t{i}", "name": "edit_file",
                     "input": {"path": "counter.py", "old_string": f"N = {i}\n", "new_string": f"N = {i + 1}\n"}}
        else:
            # A different limit each turn: the same read three times over would stop the run.
            block = {"type": "tool_use", "id": f"t{i}", "name": "read_file",
                     "input": {"path": "counter.py", "limit": i + 1}}
        responses.append(_message(i, [{"type": "text", "text": f"Step {i}."}, block]))
    final = _message(TURNS, [{"type": "text", "text": "done"}])
    final["stop_reason"] = "end_turn"
    return {"version": 1, "responses": responses + [final]}


def one_run(with_commits: bool) -> float:
    from once.agent.runner import RunRequest, run_once
    from once.config import load_settings
    from once.providers.replay import ReplayProvider
    from once.store import Store
    from once.vcs import GitRepo

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        root.mkdir()
        (root / "counter.py").write_text("N = 0\n")
        env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.com",
               "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@example.com"}
        for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "init"]):
            subprocess.run(["git", *args], cwd=root, check=True, env=env)
        path = Path(tmp) / "c.json"
        path.write_text(json.dumps(cassette(with_commits)))
        repo = GitRepo.open(root)
        settings = load_settings(root, env={}, flags={"provider": "replay", "max_turns": TURNS + 1})
        with Store(Path(tmp) / "once.db") as store:
            start = time.perf_counter()
            result = run_once(RunRequest(prompt="bench"), repo=repo, settings=settings,
                              provider=ReplayProvider(path), store=store)
            elapsed = time.perf_counter() - start
        assert result.status == "done" and result.turns == TURNS, result
        if with_commits:
            assert len(result.commits) == TURNS - 1
    return elapsed / TURNS


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    for with_commits, target in ((False, 20), (True, 40)):
        per_turn = statistics.median(one_run(with_commits) for _ in range(runs))
        label = "with a commit per turn" if with_commits else "without commits"
        print(f"{label:<24} median {per_turn * 1000:6.2f} ms/turn  (target <= {target} ms, "
              f"{per_turn * 1000 / target:.2f} of target)")


if __name__ == "__main__":
    main()
