"""The agent's own git ignores a hostile repository config: a model that obeys a prompt injection
can write .git/config, and git would run its fsmonitor (even for `status`, in plan mode), its
hooks (post-commit, reference-transaction... despite --no-verify) and its filters on `git add`.
Real git, real repositories; every planted program would leave a marker file if it ran."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from once.tools.listing import repo_files
from once.vcs import GitRepo
from once.vcs.repo import git_env
from tests.conftest import git, make_repo

HOOKS = ("pre-commit", "prepare-commit-msg", "commit-msg", "post-commit", "reference-transaction",
         "post-index-change", "pre-auto-gc")


def _script(path: Path, marker: Path) -> None:
    path.write_text(f"#!/bin/sh\necho ran >> '{marker}'\ncat\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


@pytest.fixture
def hostile(tmp_path: Path) -> tuple[Path, Path]:
    repo = make_repo(tmp_path / "repo", {"notes.txt": "one\n", "app.py": "x = 1\n"})
    trap = tmp_path / "trap"
    trap.mkdir()
    markers = tmp_path / "markers"
    markers.mkdir()
    for name in HOOKS:
        _script(trap / name, markers / f"hook-{name}")
    _script(trap / "fsmonitor", markers / "fsmonitor")
    _script(trap / "filter", markers / "filter")
    _script(trap / "textconv", markers / "textconv")
    git(repo, "config", "core.hooksPath", str(trap))
    git(repo, "config", "core.fsmonitor", str(trap / "fsmonitor"))
    git(repo, "config", "filter.evil.clean", str(trap / "filter"))
    git(repo, "config", "filter.evil.smudge", str(trap / "filter"))
    git(repo, "config", "filter.evil.required", "true")
    git(repo, "config", "diff.evil.textconv", str(trap / "textconv"))
    (repo / ".gitattributes").write_text("*.txt filter=evil diff=evil\n*.py diff=evil\n")
    return repo, markers


def test_the_agents_git_runs_no_program_the_repository_config_names(hostile) -> None:
    repo, markers = hostile
    opened = GitRepo.open(repo)
    (repo / "notes.txt").write_text("two\n")
    (repo / "app.py").write_text("x = 2\n")
    opened.run("status", "--porcelain")
    repo_files(repo)
    opened.run("add", "--", "notes.txt", "app.py", ".gitattributes")
    opened.run(*opened.commit_options(), "commit", "--no-verify", "-q", "-m", "agent: edit")
    opened.run("diff", "HEAD~1", "HEAD")
    opened.run("show", "HEAD")
    assert sorted(p.name for p in markers.iterdir()) == []
    # The commit landed, with the file's real content (no filter rewrote it).
    assert git(repo, "show", "HEAD:notes.txt") == "two\n"


def test_the_same_git_runs_them_without_the_overrides(hostile) -> None:
    """The traps are real: plain git with this config runs them (so the test above can fail)."""
    repo, markers = hostile
    (repo / "notes.txt").write_text("three\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_CONFIG_")}
    import subprocess

    subprocess.run(["git", "add", "notes.txt"], cwd=repo, env=env, check=False, capture_output=True)
    subprocess.run(["git", "commit", "--no-verify", "-q", "-m", "user"], cwd=repo, env=env, check=False,
                   capture_output=True)
    ran = {p.name for p in markers.iterdir()}
    assert {"filter", "hook-post-commit"} <= ran


def test_overrides_follow_the_callers_own_config_entries(tmp_path: Path) -> None:
    env = git_env({"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "user.name", "GIT_CONFIG_VALUE_0": "me"})
    # The caller's extra environment is applied last, so its count wins here; without it ours append.
    assert env["GIT_CONFIG_KEY_0"] == "user.name"
    os.environ["GIT_CONFIG_COUNT"] = "1"
    os.environ["GIT_CONFIG_KEY_0"], os.environ["GIT_CONFIG_VALUE_0"] = "user.name", "me"
    try:
        env = git_env()
        keys = [env[f"GIT_CONFIG_KEY_{i}"] for i in range(int(env["GIT_CONFIG_COUNT"]))]
        assert keys[0] == "user.name" and "core.hooksPath" in keys and "core.fsmonitor" in keys
    finally:
        for name in ("GIT_CONFIG_COUNT", "GIT_CONFIG_KEY_0", "GIT_CONFIG_VALUE_0"):
            os.environ.pop(name, None)


def test_agent_scan_runs_no_program_the_repository_config_names(hostile, cli) -> None:
    """`agent scan --staged` runs in a pre-commit hook, in whatever repository it is given."""
    repo, markers = hostile
    (repo / "notes.txt").write_text("staged\n")
    git(repo, "-c", "core.fsmonitor=false", "-c", "filter.evil.clean=cat", "-c", f"core.hooksPath={os.devnull}",
        "add", "notes.txt")
    cli("scan", "--staged", cwd=repo)
    cli("scan", cwd=repo)
    assert sorted(p.name for p in markers.iterdir()) == []


# Commands the agent runs (run_command, checks) start git too: the model's `git status` or `git
# diff`, a test suite's own git. Their git ignores what the repository's config names, including a
# file that config includes, which may be a tracked file the model can edit.
COMMAND_GITS = ("git status --short", "git diff", "git diff --no-ext-diff HEAD", "git st", "git add notes.txt", "git log -p -1 --ext-diff")


@pytest.fixture
def hostile_for_commands(hostile) -> tuple[Path, Path]:
    repo, markers = hostile
    trap = markers.parent / "trap"
    _script(trap / "alias", markers / "alias")
    _script(trap / "external", markers / "external")
    _script(trap / "included", markers / "included-fsmonitor")
    git(repo, "config", "alias.st", f"!{trap / 'alias'}")
    git(repo, "config", "diff.external", str(trap / "external"))
    git(repo, "config", "--unset", "core.fsmonitor")
    (repo / "team.gitconfig").write_text(f"[core]\n\tfsmonitor = {trap / 'included'}\n")
    git(repo, "config", "include.path", "../team.gitconfig")
    (repo / "notes.txt").write_text("changed\n")
    return repo, markers


def _plain(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if not k.startswith("GIT_CONFIG_")}


def test_the_same_commands_run_the_traps_with_plain_git(hostile_for_commands) -> None:
    """Without the overrides each trap runs: the test below can fail."""
    import subprocess

    repo, markers = hostile_for_commands
    for command in COMMAND_GITS:
        subprocess.run(command, shell=True, cwd=repo, env=_plain(dict(os.environ)), capture_output=True, check=False)
    ran = {p.name for p in markers.iterdir()}
    assert {"alias", "external", "included-fsmonitor", "filter", "textconv"} <= ran


@pytest.mark.parametrize("command", COMMAND_GITS)
def test_a_command_the_agent_runs_starts_no_program_the_repository_config_names(hostile_for_commands,
                                                                                 command: str) -> None:
    from once.tools.base import ToolContext
    from once.tools.command import run_command
    from once.tools.workspace import Workspace

    repo, markers = hostile_for_commands
    ctx = ToolContext(workspace=Workspace(repo), command_env=_plain(dict(os.environ)))
    out = run_command(ctx, command)
    assert sorted(p.name for p in markers.iterdir()) == [], out.text
    if command == "git status --short":
        assert not out.is_error and "notes.txt" in out.text


def test_a_check_starts_no_program_the_repository_config_names(hostile_for_commands) -> None:
    from once.verify.detect import Check
    from once.verify.run import run_check

    repo, markers = hostile_for_commands
    outcome = run_check(Check(name="git", command="git status && git diff HEAD -- app.py notes.txt", source="config"), repo,
                        timeout=30, env=_plain(dict(os.environ)))
    assert sorted(p.name for p in markers.iterdir()) == [], outcome.output


def test_an_include_edited_later_is_read_again(hostile_for_commands) -> None:
    """The cache of the repository's settings follows the included file, not only .git/config."""
    from once.vcs.safe_env import repository_overrides

    repo, markers = hostile_for_commands
    assert ("core.fsmonitor", "false") in repository_overrides(repo)
    (repo / "team.gitconfig").write_text(f"[core]\n\tpager = {markers.parent / 'trap' / 'alias'} --long\n")
    overrides = repository_overrides(repo)
    assert ("core.pager", "cat") in overrides and ("core.fsmonitor", "false") not in overrides


def test_an_include_edited_with_its_size_and_time_put_back_is_read_again(hostile_for_commands) -> None:
    """A sandboxed command may edit a tracked included file and `touch -r` it back: same size,
    same modification time. Its change time still moves."""
    from once.vcs.safe_env import repository_overrides

    repo, markers = hostile_for_commands
    included = repo / "team.gitconfig"
    assert ("core.fsmonitor", "false") in repository_overrides(repo)
    before = included.stat()
    text = included.read_text()
    forged = f"[core]\n\tpager = {markers.parent / 'trap' / 'alias'}\n"
    included.write_text(forged[:len(text)].ljust(len(text), "#") if len(forged) <= len(text) else forged)
    if included.stat().st_size != before.st_size:
        pytest.skip("the stand-in setting does not fit in the included file's size")
    os.utime(included, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert included.stat().st_mtime_ns == before.st_mtime_ns
    assert ("core.pager", "cat") in repository_overrides(repo)


def test_settings_included_only_on_another_branch_are_read_again_after_a_checkout(tmp_path: Path) -> None:
    """`includeIf "onbranch:..."` takes a file in only while that branch is checked out: a command
    that switches to it (no config file changes) must not leave the agent's git with the settings
    read on the branch before, or `git add` would run the filter the file names."""
    from once.vcs.safe_env import repository_overrides

    repo = make_repo(tmp_path / "repo", {"notes.txt": "one\n"})
    markers = tmp_path / "markers"
    markers.mkdir()
    _script(tmp_path / "filter", markers / "filter")
    (repo / "evil.gitconfig").write_text(f"[filter \"evil\"]\n\tclean = {tmp_path / 'filter'}\n")
    git(repo, "config", "includeIf.onbranch:evil.path", "../evil.gitconfig")
    (repo / ".gitattributes").write_text("*.txt filter=evil\n")
    assert not any(key.startswith("filter.") for key, _ in repository_overrides(repo))
    git(repo, "checkout", "-q", "-b", "evil")
    assert ("filter.evil.clean", "") in repository_overrides(repo)
    (repo / "notes.txt").write_text("two\n")
    GitRepo(repo).run("add", "--", "notes.txt")
    assert list(markers.iterdir()) == []


def _trapped(tmp_path: Path, files: dict[str, str] | None = None) -> tuple[Path, Path, Path]:
    """A repository whose .txt files go through the filter "evil", a trap leaving a marker if it runs."""
    repo = make_repo(tmp_path / "repo", {"notes.txt": "one\n", **(files or {})})
    (repo / ".gitattributes").write_text("*.txt filter=evil\n")
    markers = tmp_path / "markers"
    markers.mkdir()
    _script(tmp_path / "trap", markers / "filter")
    return repo, markers, tmp_path / "trap"


def _commit_notes(repo: Path) -> None:
    """What the agent does after an edit: its status of the file, then its commit."""
    (repo / "notes.txt").write_text("two\n")
    opened = GitRepo.open(repo)
    known = opened.paths_status(["notes.txt"])
    opened.commit_committable(known.committable, "agent: edit", known)


def test_an_include_inside_an_include_is_followed_where_git_finds_it(tmp_path: Path) -> None:
    """git reads a relative include against the folder of the file that holds it."""
    from once.vcs.safe_env import repository_overrides

    repo, markers, trap = _trapped(tmp_path, {"conf/team.gitconfig": "[include]\n\tpath = extra.gitconfig\n",
                                               "conf/extra.gitconfig": "[user]\n\tname = x\n"})
    git(repo, "config", "include.path", "../conf/team.gitconfig")
    assert repository_overrides(repo) == []
    (repo / "conf" / "extra.gitconfig").write_text(f"[filter \"evil\"]\n\tclean = {trap}\n")
    assert ("filter.evil.clean", "") in repository_overrides(repo)
    _commit_notes(repo)
    assert list(markers.iterdir()) == []


def test_a_config_git_could_not_read_is_read_again(tmp_path: Path) -> None:
    """A malformed include fails git's reading: nothing is cached, so fixing it to name a filter
    is seen."""
    from once.vcs.safe_env import repository_overrides

    repo, markers, trap = _trapped(tmp_path, {"team.gitconfig": "[broken\n"})
    git(repo, "config", "include.path", "../team.gitconfig")
    assert repository_overrides(repo) == []
    (repo / "team.gitconfig").write_text(f"[filter \"evil\"]\n\tclean = {trap}\n")
    _commit_notes(repo)
    assert list(markers.iterdir()) == []


def test_a_reading_whose_files_changed_while_git_read_them_is_not_kept(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A process rewriting an include right after git read it must not get the harmless reading
    cached under the new file's stamps."""
    from once.vcs import repo_config

    repo, markers, trap = _trapped(tmp_path, {"team.gitconfig": "[user]\n\tname = team\n"})
    git(repo, "config", "include.path", "../team.gitconfig")
    real = repo_config.local_settings
    readings = []

    def then_rewritten(root: Path):  # type: ignore[no-untyped-def]
        settings = real(root)
        readings.append(settings)
        if len(readings) == 1:
            (repo / "team.gitconfig").write_text(f"[filter \"evil\"]\n\tclean = {trap}\n")
        return settings

    monkeypatch.setattr(repo_config, "local_settings", then_rewritten)
    reading = repo_config.read(repo)
    assert len(readings) >= 2, "read again"
    assert ("filter.evil.clean", str(trap)) in [(s.key, s.value) for s in reading.settings]


def test_a_promisor_remote_in_a_tracked_include_fetches_nothing(tmp_path: Path) -> None:
    """A promisor remote over `ext::` (a command) and a missing mailmap blob: git would fetch the
    blob lazily, running the command, when the agent's git log reads the mailmap."""
    repo, markers, _ = _trapped(tmp_path, {"team.gitconfig": "[user]\n\tname = team\n"})
    git(repo, "config", "include.path", "../team.gitconfig")
    ext = tmp_path / "ext.sh"
    ext.write_text(f"#!/bin/sh\necho ran >> '{markers / 'ext'}'\n")
    ext.chmod(0o755)
    (repo / "team.gitconfig").write_text(
        f"[remote \"evil\"]\n\tpromisor = true\n\turl = ext::{ext}\n[protocol \"ext\"]\n\tallow = always\n"
        "[mailmap]\n\tblob = 1111111111111111111111111111111111111111\n")
    GitRepo.open(repo).commit_message()
    assert list(markers.iterdir()) == []


def test_a_work_tree_moved_elsewhere_by_the_config_is_not_where_the_agent_commits_from(tmp_path: Path) -> None:
    """`core.worktree` (which only the environment overrides) would have the agent's git commit
    another folder's copy of a file, one the sandbox hides."""
    repo = make_repo(tmp_path / "repo", {"notes.txt": "one\n"})
    opened = GitRepo.open(repo)  # as a run opens it at its start
    opened.run("status")
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text("PRIVATE KEY\n")
    git(repo, "config", "core.worktree", str(home))
    (repo / ".ssh").mkdir()
    (repo / ".ssh" / "id_rsa").write_text("placeholder\n")
    known = opened.paths_status([".ssh/id_rsa"])
    opened.commit_committable(known.committable, "agent: add", known)
    assert opened.run("show", "HEAD:.ssh/id_rsa").stdout == b"placeholder\n"


def test_a_repository_found_through_git_whose_work_tree_is_elsewhere_is_refused(tmp_path: Path) -> None:
    from once.errors import VcsError

    repo = make_repo(tmp_path / "repo", {"notes.txt": "one\n"})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    git(repo, "config", "core.worktree", str(elsewhere))
    (repo / ".git").rename(tmp_path / "gitdir")  # not the plain layout: git finds it
    (repo / ".git").write_text(f"gitdir: {tmp_path / 'gitdir'}\n")
    with pytest.raises(VcsError, match="work tree to another folder"):
        GitRepo.open(repo)


def test_a_linked_worktree_follows_its_own_head_and_the_common_config(tmp_path: Path) -> None:
    repo, markers, trap = _trapped(tmp_path)
    (tmp_path / "evil.gitconfig").write_text(f"[filter \"evil\"]\n\tclean = {trap}\n")
    git(repo, "config", "includeIf.onbranch:evil.path", str(tmp_path / "evil.gitconfig"))
    git(repo, "add", ".gitattributes")
    git(repo, "commit", "-qm", "attributes")
    linked = tmp_path / "linked"
    git(repo, "worktree", "add", "-q", "-b", "work", str(linked))
    GitRepo.open(linked).run("status")
    git(linked, "-c", "filter.evil.clean=cat", "checkout", "-q", "-b", "evil")
    _commit_notes(linked)
    assert list(markers.iterdir()) == []


def test_a_commondir_written_into_the_git_directory_is_followed(tmp_path: Path) -> None:
    import shutil

    repo, markers, trap = _trapped(tmp_path)
    GitRepo.open(repo).run("status")
    other = tmp_path / "other-common"
    shutil.copytree(repo / ".git", other)
    with open(other / "config", "a") as config:
        config.write(f"[filter \"evil\"]\n\tclean = {trap}\n")
    (repo / ".git" / "commondir").write_text(f"{other}\n")
    _commit_notes(repo)
    assert list(markers.iterdir()) == []


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("core.fsmonitor", "/x", "false"),
    ("core.hooksPath", ".husky", os.devnull),
    ("filter.lfs.clean", "x", ""),
    ("diff.evil.textconv", "x", "cat"),
    ("diff.external", "x", ""),
    ("alias.st", "!sh -c x", ""),
    ("alias.co", "checkout", None),
    ("submodule.lib.update", "!make", "checkout"),
    ("submodule.lib.update", "rebase", None),
    ("credential.https://example.com.helper", "store", ""),
    ("remote.origin.uploadpack", "evil", "git-upload-pack"),
    ("gpg.ssh.program", "evil", "false"),
    ("user.name", "me", None),
    ("core.autocrlf", "input", None),
])
def test_program_overrides_name_only_settings_that_run_programs(key: str, value: str, expected: str | None) -> None:
    from once.vcs.safe_env import program_overrides

    overrides = dict(program_overrides([(key, value)]))
    assert overrides.get(key) == expected
    if key.startswith("filter."):
        assert overrides["filter.lfs.required"] == "false"


def test_a_bare_repository_the_model_wrote_is_not_a_repository_to_a_commands_git(tmp_path) -> None:
    """Plain files (HEAD, objects/, refs/, config) make a folder a bare repository to git, whose
    config names programs: a command's git finds it no more."""
    from once.tools.base import ToolContext
    from once.tools.command import run_command
    from once.tools.workspace import Workspace

    repo = make_repo(tmp_path / "repo", {"a.txt": "one\n", "b.txt": "two\n"})
    marker = tmp_path / "ran"
    trap = tmp_path / "trap.sh"
    _script(trap, marker)
    sub = repo / "sub"
    (sub / "objects").mkdir(parents=True)
    (sub / "refs").mkdir()
    (sub / "HEAD").write_text("ref: refs/heads/main\n")
    (sub / "config").write_text(f"[core]\n\trepositoryformatversion = 0\n\tbare = true\n"
                                f"[diff]\n\texternal = {trap}\n")
    line = "cd sub && git diff --no-index ../a.txt ../b.txt; echo done"
    import subprocess

    subprocess.run(line, shell=True, cwd=repo, env=_plain(dict(os.environ)), capture_output=True, check=False)
    assert marker.exists()  # plain git runs it: the trap is real
    marker.unlink()
    out = run_command(ToolContext(workspace=Workspace(repo), command_env=_plain(dict(os.environ))), line)
    assert not marker.exists(), out.text


def test_a_repository_a_command_makes_inside_is_never_committed_nor_looked_into(cli, tmp_path) -> None:
    """A command may `git init` a folder and give it a filter: were the agent to commit it (as a
    gitlink), every later `git status` would look inside and run that filter on the host."""
    import json

    from tests.conftest import write_cassette
    from tests.fakes.anthropic_server import message, tool_use_block

    repo = make_repo(tmp_path / "repo", {"a.txt": "one\n"})
    marker = tmp_path / "ran"
    script = (
        "import os, subprocess\n"
        "os.makedirs('sub', exist_ok=True)\n"
        "def git(*args):\n"
        "    subprocess.run(['git', '-C', 'sub', *args], check=True)\n"
        "git('init', '-q')\n"
        "open('sub/f', 'w').write('x\\n')\n"
        "open('sub/.gitattributes', 'w').write('* filter=x\\n')\n"
        "git('add', '-A')\n"
        "git('-c', 'user.name=a', '-c', 'user.email=a@b', 'commit', '-qm', 's')\n"
        f"git('config', 'filter.x.clean', 'sh -c \"echo ran >> {marker}; cat\"')\n"
    )
    cassette = write_cassette(tmp_path / "c.json", [
        message([tool_use_block("t1", "write_file", {"path": "make_nest.py", "content": script})]),
        message([tool_use_block("t2", "run_command", {"command": "python3 make_nest.py && touch sub/f"})]),
        message([tool_use_block("t3", "run_command", {"command": "touch sub/f && echo two > a.txt"})]),
        message("Done."),
    ])
    result = cli("run", "--replay", str(cassette), "--db", str(tmp_path / "db"), "--permission-mode", "full-auto",
                 "-o", "stream-json", "nest", cwd=repo)
    assert result.code == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert not marker.exists()
    assert git(repo, "ls-files", "-s").count("160000") == 0  # no gitlink
    import sqlite3

    db = sqlite3.connect(tmp_path / "db")
    told = " ".join(row[0] for row in db.execute("SELECT content FROM messages WHERE role = 'user'"))
    db.close()
    assert "sub/ holds a git repository of its own" in told
    assert git(repo, "show", "HEAD:a.txt") == "two\n" and events[-1]["status"] == "done"
