"""`agent scan` on temp repositories and directories, through a Typer app mounting the command."""

from __future__ import annotations

import json
import random
import string
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from once.cli import scan_cmd
from tests.conftest import git, make_repo

app = typer.Typer(rich_markup_mode=None)
app.command("scan")(scan_cmd.scan)
app.command("noop")(lambda: None)  # two commands, so `scan` is a subcommand as under `agent`

_RNG = random.Random(7)
GH = "ghp_" + "".join(_RNG.choice(string.ascii_letters + string.digits) for _ in range(36))  # a fake
PW = "".join(_RNG.choice(string.ascii_letters + string.digits) for _ in range(16))  # a fake


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, ["scan", *args], catch_exceptions=False)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = make_repo(tmp_path / "repo", {
        "app/settings.py": f'import os\n\nTOKEN = "{GH}"\n',
        "app/clean.py": "def f(api_key: str) -> str:\n    return api_key\n",
        ".gitignore": "local.env\n",
    })
    (root / "untracked.py").write_text(f"DB = 'postgres://app:{PW}@db/app'\n")
    (root / "local.env").write_text(f"API_KEY={PW}\n")  # ignored: not scanned
    (root / "image.bin").write_bytes(b"\x89PNG\x00\x00" + GH.encode())  # binary: skipped
    (root / "huge.txt").write_text("x = 1\n" * 400_000 + f"t = '{GH}'\n")  # over 2 MB: skipped
    return root


def test_scan_reports_tracked_and_untracked_files_masked(repo: Path) -> None:
    result = invoke(str(repo))
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "app/settings.py:3: github_token (github-token) ghp_****",
        "untracked.py:1: url_password (url-credentials) " + PW[:4] + "****",
    ]
    assert GH not in result.output and PW not in result.output
    assert "2 secrets in 2 files" in result.stderr


def test_scan_json_lists_masked_findings(repo: Path) -> None:
    result = invoke(str(repo / "app"), "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == [
        {"path": "settings.py", "line": 3, "kind": "github_token", "rule": "github-token", "secret": "ghp_****"}
    ]


def test_a_clean_tree_exits_zero(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "clean", {"a.py": "API_KEY = os.environ['API_KEY']\n"})
    result = invoke(str(root))
    assert result.exit_code == 0 and result.stdout == ""
    assert "no secrets found (1 file scanned)" in result.stderr
    assert json.loads(invoke(str(root), "--json").stdout) == []


def test_a_single_file_and_a_plain_directory(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    (plain / "sub").mkdir(parents=True)
    (plain / "sub" / "conf.yaml").write_text(f"github:\n  token: {GH}\n")
    (plain / ".git").mkdir()  # a stray .git directory is never walked
    (plain / ".git" / "config").write_text(f"token = {GH}\n")
    result = invoke(str(plain))
    assert result.exit_code == 1 and result.stdout == "sub/conf.yaml:2: github_token (github-token) ghp_****\n"
    single = invoke(str(plain / "sub" / "conf.yaml"))
    assert single.exit_code == 1 and single.stdout.startswith(f"{plain / 'sub' / 'conf.yaml'}:2: github_token")


def test_staged_scans_the_index_not_the_work_tree(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo)
    assert invoke("--staged").exit_code == 0  # nothing staged yet
    (repo / "new.py").write_text(f"KEY = '{GH}'\n")
    git(repo, "add", "new.py")
    (repo / "new.py").write_text("KEY = os.environ['KEY']\n")  # fixed in the work tree, not in the index
    (repo / "app" / "clean.py").write_text(f"KEY = '{GH}'\n")  # a secret that is not staged
    result = invoke("--staged")
    assert result.exit_code == 1 and result.stdout == "new.py:1: github_token (github-token) ghp_****\n"
    git(repo, "add", "new.py")
    assert invoke("--staged", "--json").stdout.strip() == "[]"
    (repo / "odd name*[1].txt").write_text(f"token: {GH}\n")  # glob characters are not pathspecs here
    git(repo, "add", "--", "odd name*[1].txt")
    assert invoke("--staged").stdout == "odd name*[1].txt:1: github_token (github-token) ghp_****\n"


def test_fixture_lines_marked_as_such_pass(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r", {"t.py": f"FAKE = '{GH}'  # pragma: allowlist secret\n"})
    assert invoke(str(root)).exit_code == 0


def test_usage_errors_exit_two(tmp_path: Path) -> None:
    missing = invoke(str(tmp_path / "nope"))
    assert missing.exit_code == 2 and "no such file or directory" in missing.stderr
    (tmp_path / "plain").mkdir()
    not_repo = invoke(str(tmp_path / "plain"), "--staged")
    assert not_repo.exit_code == 2 and "--staged needs a git repository" in not_repo.stderr


def test_help_shows_the_pre_commit_hook() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    assert "exec agent scan --staged" in result.stdout and ".git/hooks/pre-commit" in result.stdout


def test_scanning_something_that_is_not_a_file_is_a_usage_error(tmp_path):
    import os

    from once.cli.main import main

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    try:
        main(["scan", str(fifo)])
    except SystemExit as exc:
        assert exc.code == 2
    else:
        raise AssertionError("expected exit code 2")
