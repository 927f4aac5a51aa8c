"""How many git processes a committed turn costs, counted by a `git` shim on PATH.

Each git process is several milliseconds; a turn that commits must not drift back to the
ten it once took (status, check-ignore, two rev-parse, cat-file, ls-files, add, commit, rev-parse,
and the `git maintenance run --auto` the commit started).
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest

from once.vcs import GitRepo
from once.vcs.status import parse_status_v2
from tests.conftest import git, make_repo, write_cassette

# status (what to commit, HEAD, the index), commit --only (the new sha is read from the branch's file)
GIT_PER_EDIT_TURN = 2
# a new file also has its first-edit status (the user's changes to save) and `git add`
GIT_PER_NEW_FILE_TURN = 4


def shim_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Put a `git` first on PATH that logs its arguments, one call a line, then runs git."""
    real = shutil.which("git")
    assert real is not None
    folder = tmp_path / "shim"
    folder.mkdir()
    log = tmp_path / "git-calls.log"
    shim = folder / "git"
    shim.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{log}"\nexec "{real}" "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    return log


def message(index: int, blocks: list[dict[str, Any]], stop: str = "tool_use") -> dict[str, Any]:
    return {"id": f"msg_{index}", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6",
            "content": blocks, "stop_reason": stop, "stop_sequence": None,
            "usage": {"input_tokens": 10, "output_tokens": 5}}


def edit_turns(count: int) -> list[dict[str, Any]]:
    return [{"type": "tool_use", "id": f"t{i}", "name": "edit_file",
             "input": {"path": "counter.py", "old_string": f"N = {i}\n", "new_string": f"N = {i + 1}\n"}}
            for i in range(count)]


def new_file_turns(count: int) -> list[dict[str, Any]]:
    return [{"type": "tool_use", "id": f"t{i}", "name": "write_file",
             "input": {"path": f"new {i}.py", "content": f"M = {i}\n"}} for i in range(count)]


def git_calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, blocks: list[dict[str, Any]]) -> list[str]:
    """The git command lines of one run whose turns make `blocks`, one each; checks every turn committed."""
    from once.agent.runner import RunRequest, run_once
    from once.config import load_settings
    from once.providers.replay import ReplayProvider
    from once.store import Store

    place = tmp_path / f"run{len(blocks)}"  # one run per length
    root = make_repo(place / "repo", {"counter.py": "N = 0\n"})
    responses = [message(i, [{"type": "text", "text": f"Step {i}."}, block]) for i, block in enumerate(blocks)]
    responses.append(message(len(blocks), [{"type": "text", "text": "done"}], stop="end_turn"))
    cassette = write_cassette(place / "c.json", responses)
    log = shim_git(place, monkeypatch)
    trace = place / "git-trace.log"  # what git itself starts (maintenance after a commit) is not on PATH
    monkeypatch.setenv("GIT_TRACE", str(trace))
    settings = load_settings(root, env={}, flags={"provider": "replay", "max_turns": len(blocks) + 2})
    with Store(place / "once.db") as store:
        result = run_once(RunRequest(prompt="count"), repo=GitRepo.open(root), settings=settings,
                          provider=ReplayProvider(cassette), store=store)
    assert result.status == "done" and len(result.commits) == len(blocks), result
    assert git(root, "rev-list", "--count", "HEAD").strip() == str(len(blocks) + 1)
    started = [line for line in trace.read_text().splitlines() if "run_command:" in line]
    assert started == []
    return log.read_text().splitlines()


def per_turn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, turns) -> tuple[float, list[str]]:
    """Git processes one more committed turn adds (runs of 2 and 4 turns, so per-run calls cancel;
    a first run takes what a process asks only once, such as `git version`)."""
    git_calls(tmp_path, monkeypatch, turns(1))
    short = git_calls(tmp_path, monkeypatch, turns(2))
    long = git_calls(tmp_path, monkeypatch, turns(4))
    return (len(long) - len(short)) / 2, long


def test_a_committed_edit_turn_runs_two_git_processes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    count, calls = per_turn(tmp_path, monkeypatch, edit_turns)
    assert 0 < count <= GIT_PER_EDIT_TURN, "\n".join(calls)
    assert sum(call.startswith("status ") for call in calls) == 4 + 1  # one per turn, one first edit


def test_a_turn_writing_a_new_file_runs_four(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    count, calls = per_turn(tmp_path, monkeypatch, new_file_turns)
    assert 0 < count <= GIT_PER_NEW_FILE_TURN, "\n".join(calls)
    assert sum(call.startswith("add -- ") for call in calls) == 4


def two_file_turn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dirty: bool,
                  approver: Any = None) -> tuple[Path, list[str]]:
    """One turn editing a.py and b.py (with the user's uncommitted changes in both when `dirty`;
    every edit asked about with `approver`): the repository after it, and the git calls of the run."""
    from once.agent.runner import RunRequest, run_once
    from once.config import load_settings
    from once.providers.replay import ReplayProvider
    from once.store import Store

    root = make_repo(tmp_path / "repo", {"a.py": "A = 1\n", "b.py": "B = 1\n"})
    if dirty:
        for name in ("a.py", "b.py"):
            (root / name).write_text((root / name).read_text() + "# mine\n")
    edits = [{"type": "tool_use", "id": f"t{name}", "name": "edit_file",
              "input": {"path": f"{name}.py", "old_string": f"{name.upper()} = 1", "new_string": f"{name.upper()} = 2"}}
             for name in ("a", "b")]
    cassette = write_cassette(tmp_path / "c.json", [message(0, edits), message(1, [], stop="end_turn")])
    log = shim_git(tmp_path, monkeypatch)
    settings = load_settings(root, env={}, flags={"provider": "replay"})
    request = RunRequest(prompt="both") if approver is None else RunRequest(
        prompt="both", permission_mode="ask", approver=approver)
    with Store(tmp_path / "once.db") as store:
        result = run_once(request, repo=GitRepo.open(root), settings=settings, provider=ReplayProvider(cassette),
                          store=store)
    assert result.status == "done", result
    return root, log.read_text().splitlines()


def test_a_turn_editing_two_files_asks_their_status_once_before_the_edits(tmp_path, monkeypatch) -> None:
    root, calls = two_file_turn(tmp_path, monkeypatch, dirty=False)
    statuses = [call for call in calls if call.startswith("status ")]
    assert len(statuses) == 2 and all(call.endswith(" -- a.py b.py") for call in statuses), "\n".join(calls)
    assert git(root, "show", "--name-only", "--format=", "HEAD").split() == ["a.py", "b.py"]


def test_the_users_changes_to_both_files_are_each_saved_first(tmp_path, monkeypatch) -> None:
    """The status asked ahead serves the first wip commit; the second file's is asked again, as
    HEAD moved (a stale HEAD would misjudge a failed wip commit)."""
    root, calls = two_file_turn(tmp_path, monkeypatch, dirty=True)
    subjects = git(root, "log", "--format=%s", "-3").splitlines()
    assert subjects[0].startswith("agent:") and all(s.startswith("wip:") for s in subjects[1:]), subjects
    for name, upper in (("a.py", "A"), ("b.py", "B")):
        assert (root / name).read_text() == f"{upper} = 2\n# mine\n"
        assert git(root, "show", f"HEAD~1:{name}" if name == "b.py" else f"HEAD~2:{name}") == f"{upper} = 1\n# mine\n"
    assert sum(call.endswith(" -- b.py") for call in calls if call.startswith("status ")) == 1


def test_a_file_the_user_changes_while_asked_about_another_is_saved_first(tmp_path, monkeypatch) -> None:
    """The status asked ahead is not trusted after someone was asked: they may have edited meanwhile."""
    from once.agent.approvals import Answer, Decision

    def approve(request: Any) -> Answer:
        if request.subject == "a.py":  # while a.py's edit waits for the user, they change b.py
            (tmp_path / "repo" / "b.py").write_text("B = 1\n# typed while asked\n")
        return Answer(Decision.allow_once)

    root, _calls = two_file_turn(tmp_path, monkeypatch, dirty=False, approver=approve)
    assert git(root, "log", "--format=%s", "-2").splitlines()[1].startswith("wip:")
    assert git(root, "show", "HEAD~1:b.py") == "B = 1\n# typed while asked\n"
    assert (root / "b.py").read_text() == "B = 2\n# typed while asked\n"


# -- the one status a commit relies on ----------------------------------------------------


def test_paths_status_of_odd_names_from_real_git(tmp_path: Path) -> None:
    names = ["with space.py", "ünïcode.py", "-dash.py", "nb\u00a0sp.py"]
    root = make_repo(tmp_path / "repo", {name: "old\n" for name in names[:2]} | {".gitignore": "*.log\n"})
    (root / "with space.py").write_text("new\n")
    for name in names[2:]:
        (root / name).write_text("x\n")
    (root / "debug.log").write_text("log\n")
    known = GitRepo(root).paths_status([*names, "debug.log", "ünïcode.py"])
    assert sorted(known.committable) == sorted(["with space.py", *names[2:]])
    assert known.untracked == frozenset(names[2:])
    assert known.ignores("debug.log") and not known.dirty("debug.log")
    assert known.head == git(root, "rev-parse", "HEAD").strip()
    head_blob = git(root, "rev-parse", "HEAD:with space.py").strip()
    saved = known.saved_index(["with space.py", "-dash.py"])
    assert saved == f"100644 {head_blob} 0\twith space.py\0".encode()


def test_unborn_head_and_entries_it_cannot_restore() -> None:
    zeros = "0" * 40
    out = (f"# branch.oid (initial)\0# branch.head main\0"
           f"1 .A N... 000000 000000 100644 {zeros} {zeros} later.py\0"
           f"u UU N... 100644 100644 100644 100644 {'1' * 40} {'2' * 40} {'3' * 40} both.py\0"
           f"1 M. N... 100644 100644 100644 {'4' * 40} {'5' * 40} a b.py\0").encode()
    known = parse_status_v2(out)
    assert known.head is None
    assert [(e.path, e.x, e.y) for e in known.entries] == [
        ("later.py", " ", "A"), ("both.py", "U", "U"), ("a b.py", "M", " ")]
    assert known.index["a b.py"].oid == "5" * 40
    assert known.saved_index(["a b.py"]) is None  # not exact: git ls-files -s answers instead


def test_a_run_asks_git_nothing_its_files_or_the_environment_answer(tmp_path, monkeypatch) -> None:
    """The branch and each new commit come from `.git/HEAD` and the branch's file; the identity
    from GIT_AUTHOR_* and GIT_COMMITTER_* (set here, as on CI), which win over any config."""
    root, calls = two_file_turn(tmp_path, monkeypatch, dirty=False)
    asked = [call for call in calls if call.startswith(("symbolic-ref", "rev-parse", "config --get-regexp"))]
    assert asked == [], "\n".join(calls)
    assert git(root, "log", "-1", "--format=%an <%ae>").strip() == "Test User <user@example.com>"
