"""`agent knowledge list|show|search|add|edit|rm|export|import`."""

from __future__ import annotations

import sys

import pytest

ADD = ("knowledge", "add", "--title", "pytest cannot import the package",
       "--description", "ModuleNotFoundError: No module named 'app' when running pytest",
       "--knowledge", "Install the package editable (pip install -e .) first.")


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "once.db")


def add(cli, repo, db, *extra: str) -> dict:
    result = cli(*ADD, "--db", db, "--json", *extra, cwd=repo)
    assert result.code == 0, result.stderr
    return result.json()


def test_add_list_show_search(cli, repo, db):
    entry = add(cli, repo, db)
    assert entry["status"] == "probation" and entry["kind"] == "manual" and entry["scope"] == "project"
    listed = cli("knowledge", "list", "--db", db, "-o", "json", cwd=repo).json()
    assert [e["id"] for e in listed] == [entry["id"]]
    text = cli("knowledge", "list", "--db", db, cwd=repo).stdout
    assert entry["id"] in text and "probation" in text
    shown = cli("knowledge", "show", entry["id"][:-4], "--db", db, cwd=repo)
    assert shown.code == 0 and "pip install -e ." in shown.stdout and "0 injected, 0 held out" in shown.stdout
    assert cli("knowledge", "show", entry["id"], "--db", db, "--json", cwd=repo).json()["log"][0]["action"] == "created"
    found = cli("knowledge", "search", "ModuleNotFoundError", "--db", db, "--json", cwd=repo).json()
    assert [e["id"] for e in found] == [entry["id"]]
    assert cli("knowledge", "search", "websocket", "--db", db, "--json", cwd=repo).json() == []
    hybrid = cli("knowledge", "search", "--as-prompt", "pytest: No module named app", "--db", db, "--json", cwd=repo)
    assert [e["id"] for e in hybrid.json()] == [entry["id"]] and hybrid.json()[0]["score"] > 0


def test_list_is_per_repository_unless_all(cli, repo, tmp_path, db):
    from tests.conftest import make_repo

    other = make_repo(tmp_path / "other", {"a.txt": "a\n"})
    mine = add(cli, repo, db)
    shared = add(cli, other, db, "--global")
    assert shared["repo"] is None
    here = {e["id"] for e in cli("knowledge", "list", "--db", db, "--json", cwd=other).json()}
    assert here == {shared["id"]}
    everywhere = {e["id"] for e in cli("knowledge", "list", "--all", "--db", db, "--json", cwd=other).json()}
    assert everywhere == {mine["id"], shared["id"]}


def test_edit_with_flags_and_with_an_editor(cli, repo, db, tmp_path, monkeypatch):
    entry = add(cli, repo, db)
    assert cli("knowledge", "edit", entry["id"], "--title", "editable install", "--db", db, cwd=repo).code == 0
    assert cli("knowledge", "show", entry["id"], "--db", db, "--json", cwd=repo).json()["title"] == "editable install"
    script = tmp_path / "editor.py"
    script.write_text("import sys, pathlib\np = pathlib.Path(sys.argv[1])\n"
                      "p.write_text(p.read_text().replace('first.', 'before pytest.'))\n")
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")
    result = cli("knowledge", "edit", entry["id"], "--db", db, cwd=repo)
    assert result.code == 0, result.stderr
    assert cli("knowledge", "show", entry["id"], "--db", db, "--json", cwd=repo).json()["knowledge"].endswith(
        "before pytest.")
    script.write_text("import sys, pathlib\npathlib.Path(sys.argv[1]).write_text('garbage')\n")
    broken = cli("knowledge", "edit", entry["id"], "--db", db, cwd=repo)
    assert broken.code == 2 and "not a knowledge entry file" in broken.stderr


def test_rm_and_unknown_ids(cli, repo, db):
    entry = add(cli, repo, db)
    assert cli("knowledge", "rm", entry["id"], "--db", db, cwd=repo).code == 0
    assert cli("knowledge", "list", "--db", db, "--json", cwd=repo).json() == []
    missing = cli("knowledge", "rm", "k-nope", "--db", db, cwd=repo)
    assert missing.code == 2 and "no knowledge entry 'k-nope'" in missing.stderr and "Traceback" not in missing.stderr
    assert cli("knowledge", "list", "--status", "famous", "--db", db, cwd=repo).code == 2


def test_export_import_round_trip(cli, repo, tmp_path, db):
    first = add(cli, repo, db)
    second = add(cli, repo, db, "--global")
    out = tmp_path / "shared"
    exported = cli("knowledge", "export", str(out), "--db", db, cwd=repo)
    assert exported.code == 0 and "exported 2" in exported.stdout
    files = sorted(out.glob("*.md"))
    assert len(files) == 2 and all(f.read_text().startswith("---\n") for f in files)
    assert str(repo) not in "".join(f.read_text() for f in files)  # no machine paths in shared files
    # Into a fresh database: everything comes back, with the same ids and text.
    other_db = str(tmp_path / "other.db")
    imported = cli("knowledge", "import", str(out), "--db", other_db, "--json", cwd=repo).json()
    assert sorted(imported["added"]) == sorted([first["id"], second["id"]])
    back = {e["id"]: e for e in cli("knowledge", "list", "--db", other_db, "--json", cwd=repo).json()}
    for original in (first, second):
        for key in ("title", "description", "knowledge", "scope", "status", "kind"):
            assert back[original["id"]][key] == original[key]
    # Idempotent: a second import changes nothing; an edited file updates its entry.
    again = cli("knowledge", "import", str(out), "--db", other_db, "--json", cwd=repo).json()
    assert again["added"] == [] and sorted(again["unchanged"]) == sorted(back)
    target = next(f for f in files if first["id"] in f.name)
    target.write_text(target.read_text().replace("first.", "before running pytest."))
    third = cli("knowledge", "import", str(out), "--db", other_db, "--json", cwd=repo).json()
    assert third["updated"] == [first["id"]]


def test_default_directory_and_a_malformed_file(cli, repo, db):
    add(cli, repo, db)
    assert cli("knowledge", "export", "--db", db, cwd=repo).code == 0
    folder = repo / ".once" / "knowledge"
    assert len(list(folder.glob("*.md"))) == 1
    (folder / "broken.md").write_text("---\ntitle: x\n")
    result = cli("knowledge", "import", "--db", db, cwd=repo)
    assert result.code == 2 and "broken.md" in result.stderr and "frontmatter" in result.stderr


def test_help_teaches(cli):
    result = cli("knowledge", "--help")
    assert result.code == 0
    text = " ".join(result.stdout.split())
    for words in ("held out at random", "export", "import", "probation", "global"):
        assert words in text
