"""Edits written as text, landed by a real run against a local fake OpenAI-compatible server:
exact, fuzzy, ambiguous and malformed blocks, whole files, the lean request itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from once.agent.runner import RunRequest, run_once
from once.config import load_settings
from once.providers.openai import OpenAIProvider
from once.store import Store
from once.vcs import GitRepo
from tests.conftest import git, make_repo
from tests.fakes.openai_server import FakeOpenAIServer, completion

FILES = {
    "app/hello.py": 'def greet(name):\n    return "hello " + name\n\n\ndef bye():\n    return "bye"\n',
    "app/twice.py": "x = 1\ny = 2\nx = 1\n",
    "README.md": "# demo\n",
}


def run_lean(repo: Path, tmp_path: Path, script: list[Any], prompt: str = "Make greet shout in app/hello.py",
             **flags: Any) -> tuple[Any, list[Any], FakeOpenAIServer]:
    events: list[Any] = []
    with FakeOpenAIServer(script) as server:
        provider = OpenAIProvider(server.base_url, retry_backoff=0, max_retries=0)
        settings = load_settings(repo, env={}, flags={"provider": "openai", "model": "qwen", "max_turns": 6,
                                                       "small_model": "qwen", "edit_format": "blocks", "attempts": 1,
                                                       **flags})
        with Store(tmp_path / "db") as store:
            result = run_once(RunRequest(prompt=prompt, sinks=[events.append]), repo=GitRepo.open(repo),
                              settings=settings, provider=provider, store=store)
    return result, events, server


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", FILES)


SHOUT = ('app/hello.py\n<<<<<<< SEARCH\n    return "hello " + name\n=======\n    return "HELLO " + name.upper()\n'
         ">>>>>>> REPLACE\n\nI made greet shout.")


def test_an_exact_block_lands_as_one_commit_and_the_reply_is_the_answer(repo: Path, tmp_path: Path) -> None:
    result, events, server = run_lean(repo, tmp_path, [completion(SHOUT)])
    assert result.status == "done" and result.turns == 1
    assert 'return "HELLO " + name.upper()' in (repo / "app/hello.py").read_text()
    assert git(repo, "log", "--format=%s", "-1").strip().startswith("agent:")
    assert git(repo, "status", "--porcelain").strip() == ""
    calls = [e for e in events if e.type == "tool_call"]
    assert [(c.name, c.input["written_as"]) for c in calls] == [("edit_file", "text")]
    # The lean request: no tools offered, greedy sampling, the file shown whole and unnumbered.
    body = server.requests[0].body
    assert "tools" not in body and body["temperature"] == 0
    first = body["messages"][1]["content"]
    first = first if isinstance(first, str) else "".join(part["text"] for part in first)
    assert 'app/hello.py\n```\ndef greet(name):\n    return "hello " + name' in first
    assert "<<<<<<< SEARCH" in body["messages"][0]["content"]


def test_a_block_with_other_indentation_lands_reindented(repo: Path, tmp_path: Path) -> None:
    fuzzy = 'app/hello.py\n<<<<<<< SEARCH\nreturn "bye"\n=======\nreturn "see you"\n>>>>>>> REPLACE\n'
    result, _, _ = run_lean(repo, tmp_path, [completion(fuzzy)], prompt="Change bye to say see you")
    assert result.status == "done"
    assert '\n    return "see you"\n' in (repo / "app/hello.py").read_text()


def test_an_ambiguous_block_is_refused_and_the_model_told_why(repo: Path, tmp_path: Path) -> None:
    ambiguous = "app/twice.py\n<<<<<<< SEARCH\nx = 1\n=======\nx = 3\n>>>>>>> REPLACE\n"
    fixed = "app/twice.py\n<<<<<<< SEARCH\ny = 2\nx = 1\n=======\ny = 2\nx = 3\n>>>>>>> REPLACE\n"
    result, _, server = run_lean(repo, tmp_path, [completion(ambiguous), completion(fixed)],
                                 prompt="Set the second x in app/twice.py to 3")
    assert result.status == "done" and result.turns == 2
    assert (repo / "app/twice.py").read_text() == "x = 1\ny = 2\nx = 3\n"
    told = server.requests[1].body["messages"][-1]["content"]
    told = told if isinstance(told, str) else "".join(part["text"] for part in told)
    assert "app/twice.py: FAILED" in told and "occurs 2 times" in told


def test_a_malformed_block_changes_nothing_and_is_reported(repo: Path, tmp_path: Path) -> None:
    broken = 'app/hello.py\n<<<<<<< SEARCH\n    return "hello " + name\n=======\n    return "HELLO"\n'
    result, _, server = run_lean(repo, tmp_path, [completion(broken), completion("Sorry, I cannot."),
                                                  completion("I cannot.")])
    assert result.status == "incomplete"
    assert (repo / "app/hello.py").read_text() == FILES["app/hello.py"]
    told = server.requests[1].body["messages"][-1]["content"]
    told = told if isinstance(told, str) else "".join(part["text"] for part in told)
    assert "not applied: app/hello.py: a block with no >>>>>>> REPLACE line" in told


def test_whole_files_create_merge_definitions_and_never_gut_a_file(repo: Path, tmp_path: Path) -> None:
    (repo / "app/big.py").write_text("".join(f"def f{i}():\n    return {i}\n\n\n" for i in range(8)))
    (repo / "app/consts.py").write_text("".join(f"C{i} = {i}\n" for i in range(8)))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "big")
    reply = ("app/cli.py\n```python\nimport sys\n\n\ndef main():\n    print(sys.argv)\n```\n\n"
             "app/big.py\n```python\ndef f7():\n    return 70\n\n\ndef g():\n    return 0\n```\n\n"
             "app/consts.py\n```python\nC9 = 9\n```\n")
    result, events, server = run_lean(repo, tmp_path, [completion(reply), completion("Done.")],
                                      prompt="Create app/cli.py, add g to app/big.py, C9 to consts",
                                      edit_format="whole")
    assert (repo / "app/cli.py").read_text() == "import sys\n\n\ndef main():\n    print(sys.argv)\n"
    big = (repo / "app/big.py").read_text()
    assert "def f0():" in big and "def f7():\n    return 70\n" in big and big.endswith("def g():\n    return 0\n")
    assert (repo / "app/consts.py").read_text().startswith("C0 = 0\n"), "a block that is not definitions is refused"
    refused = [e for e in events if e.type == "tool_result" and e.is_error]
    assert len(refused) == 1 and "delete" in refused[0].output and "app/consts.py" in refused[0].output
    merged = [e for e in events if e.type == "tool_result" and e.output.startswith("Merged into app/big.py")]
    assert merged and "replaced f7" in merged[0].output and "added g" in merged[0].output
    assert "<<<<<<<" not in server.requests[0].body["messages"][0]["content"], "the whole-file prompt"


def test_an_unnamed_code_block_replaces_the_definition_of_the_same_name(repo: Path, tmp_path: Path) -> None:
    reply = 'The fix:\n```python\ndef bye():\n    return "goodbye"\n```\nThat is all.'
    result, events, _ = run_lean(repo, tmp_path, [completion(reply)], prompt="Make bye say goodbye")
    assert result.status == "done"
    assert (repo / "app/hello.py").read_text() == FILES["app/hello.py"].replace('"bye"', '"goodbye"')
    # A block defining nothing the repository has is not applied anywhere.
    result, events, _ = run_lean(repo, tmp_path, [completion('```python\ndef nowhere():\n    pass\n```'),
                                                  completion("ok"), completion("ok")], prompt="Add nowhere()")
    assert result.status == "incomplete"
    assert any(e.type == "tool_result" and "no file defines nowhere" in e.output for e in events)


def test_an_empty_search_appends_and_a_nameless_block_finds_its_file(repo: Path, tmp_path: Path) -> None:
    reply = ('app/hello.py\n<<<<<<< SEARCH\n=======\ndef wave():\n    return "o/"\n>>>>>>> REPLACE\n\n'
             '<<<<<<< SEARCH\ny = 2\n=======\ny = 20\n>>>>>>> REPLACE\n')
    result, _, _ = run_lean(repo, tmp_path, [completion(reply)], prompt="Add wave() and set y to 20")
    assert result.status == "done"
    assert (repo / "app/hello.py").read_text().endswith('return "bye"\n\n\ndef wave():\n    return "o/"\n') is False
    assert (repo / "app/hello.py").read_text().endswith('return "bye"\n\ndef wave():\n    return "o/"\n')
    assert (repo / "app/twice.py").read_text() == "x = 1\ny = 20\nx = 1\n"


def test_a_secret_in_a_text_edit_is_refused_like_a_tool_edit(repo: Path, tmp_path: Path) -> None:
    key = "sk-ant-api03-" + "A1b2C3d4E5f6G7h8" * 6
    reply = f'app/conf.py\n<<<<<<< SEARCH\n=======\nKEY = "{key}"\n>>>>>>> REPLACE\n'
    result, events, _ = run_lean(repo, tmp_path, [completion(reply), completion("ok"), completion("ok")],
                                 prompt="Add the API key to app/conf.py")
    assert not (repo / "app/conf.py").exists()
    assert any(e.type == "tool_result" and e.is_error and "secret" in e.output for e in events)
    assert result.status == "incomplete"


def test_a_nameless_block_never_lands_outside_the_repository(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.py"
    outside.write_text("def secret_helper():\n    return 1\n")
    (repo / "link.py").symlink_to(outside)
    reply = "```python\ndef secret_helper():\n    return 2\n```\n"
    result, events, _ = run_lean(repo, tmp_path, [completion(reply), completion("ok"), completion("ok")],
                                 prompt="Make secret_helper return 2")
    assert outside.read_text() == "def secret_helper():\n    return 1\n"
    assert result.status == "incomplete"
    assert any(e.type == "tool_result" and "no file defines secret_helper" in e.output for e in events)


def test_a_file_named_without_its_folder_is_the_repositorys_one_file_of_that_name(repo: Path,
                                                                                  tmp_path: Path) -> None:
    reply = 'hello.py\n```python\ndef greet(name):\n    return "hi " + name\n```\n'
    result, _, _ = run_lean(repo, tmp_path, [completion(reply)], prompt="Make greet say hi")
    assert result.status == "done" and not (repo / "hello.py").exists()
    assert (repo / "app/hello.py").read_text().startswith('def greet(name):\n    return "hi " + name\n')
    assert "def bye" in (repo / "app/hello.py").read_text()


def test_a_reply_repeated_word_for_word_is_retried_with_sampling(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"calc.py": "def add(a, b):\n    return a - b\n",
                                      "test_calc.py": "from calc import add\n\n\ndef test_add():\n"
                                                      "    assert add(2, 3) == 5\n"})
    wrong = completion("calc.py\n```python\ndef add(a, b):\n    return a * b\n```\n")
    right = completion("calc.py\n```python\ndef add(a, b):\n    return a + b\n```\n")
    result, _, server = run_lean(repo, tmp_path, [wrong, wrong, right], prompt="Fix add() in calc.py",
                                 edit_format="whole")
    assert result.status == "done" and (repo / "calc.py").read_text().endswith("return a + b\n")
    assert [r.body["temperature"] for r in server.requests] == [0, 0, 0.7]


def test_the_instructions_example_echoed_back_is_not_written(tmp_path: Path) -> None:
    # Not even into the repository's one greet.py, which a made-up folder would otherwise mean.
    repo = make_repo(tmp_path / "r", {"README.md": "# notes\n", "greet.py": "X = 1\n"})
    echo = completion('path/to/greet.py\n```python\ndef greet(name):\n    return "HELLO " + name.upper()\n```\n')
    notes = completion("notes.txt\n```\nhello\n```\n")
    result, events, _ = run_lean(repo, tmp_path, [echo, notes], prompt="Create notes.txt containing hello",
                                 edit_format="whole")
    assert not (repo / "path").exists() and (repo / "notes.txt").read_text() == "hello\n"
    assert (repo / "greet.py").read_text() == "X = 1\n"
    assert result.status == "done"
    assert any(e.type == "tool_result" and "example from the instructions" in e.output for e in events)


def test_a_folder_the_model_made_up_means_the_repositorys_one_file_of_that_name(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"pricing.py": "def calc_total(p):\n    return sum(p)\n"})
    reply = completion("app/pricing.py\n```python\ndef compute_total(p):\n    return sum(p)\n```\n")
    result, _, _ = run_lean(repo, tmp_path, [reply], prompt="Rename calc_total to compute_total",
                            edit_format="whole")
    assert not (repo / "app").exists() and "def compute_total" in (repo / "pricing.py").read_text()
    assert result.files_changed == ["pricing.py"]
    # A path the user's request names is meant as written: a move into a new folder stays a move.
    repo2 = make_repo(tmp_path / "r2", {"pricing.py": "def calc_total(p):\n    return sum(p)\n"})
    run_lean(repo2, tmp_path, [reply], prompt="Copy pricing.py to app/pricing.py, renaming calc_total",
             edit_format="whole")
    assert "def compute_total" in (repo2 / "app/pricing.py").read_text()
    assert "def calc_total" in (repo2 / "pricing.py").read_text()


def test_program_output_under_a_sentence_naming_a_file_is_not_written_into_it(tmp_path: Path) -> None:
    files = {"scores.py": 'def line(s):\n    return ", ".join(s)\n',
             "make_report.py": "from scores import line\n\nprint(line([1, 2]))\n"}
    repo = make_repo(tmp_path / "r", files)
    reply = completion('Here is the fix:\n\n```python\ndef line(s):\n    return ", ".join(map(str, s))\n```\n\n'
                       "Now, when we run `python make_report.py`, the output should be:\n\n```\n1, 2\n```\n")
    result, _, _ = run_lean(repo, tmp_path, [reply], prompt="Fix line() in scores.py", edit_format="whole")
    assert (repo / "make_report.py").read_text() == files["make_report.py"]
    assert "map(str, s)" in (repo / "scores.py").read_text()
    assert result.status == "done" and result.files_changed == ["scores.py"]


def test_a_whole_python_file_that_does_not_compile_is_refused(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"calc.py": "def add(a, b):\n    return a - b\n"})
    broken = completion("calc.py\n```\nadd(2, 3) returns 5\n```\n")
    right = completion("calc.py\n```python\ndef add(a, b):\n    return a + b\n```\n")
    result, events, _ = run_lean(repo, tmp_path, [broken, right], prompt="Fix add() in calc.py",
                                 edit_format="whole")
    refused = [e for e in events if e.type == "tool_result" and e.is_error]
    assert refused and "not valid Python (invalid syntax, line 1)" in refused[0].output
    assert (repo / "calc.py").read_text().endswith("return a + b\n") and result.status == "done"
    assert len(git(repo, "log", "--format=%s").splitlines()) == 2  # the setup commit and the right edit


@pytest.mark.parametrize(("repo_name", "written", "made_up"),
                         [("project", "project/wc.py", "project"),  # the repository's own name
                          ("r", "path/to/wc.py", "path")])  # the examples' placeholder folder
def test_a_made_up_folder_before_a_new_file_is_dropped(tmp_path: Path, repo_name: str, written: str,
                                                        made_up: str) -> None:
    repo = make_repo(tmp_path / repo_name, {"textstats.py": "def count(t):\n    return len(t)\n"})
    reply = completion(f"{written}\n```python\nimport sys\n```\n")
    result, _, _ = run_lean(repo, tmp_path, [reply], prompt="Create wc.py", edit_format="whole")
    assert (repo / "wc.py").read_text() == "import sys\n" and not (repo / made_up).exists()
    assert result.files_changed == ["wc.py"]


def test_a_repository_with_a_path_to_folder_keeps_it(tmp_path: Path) -> None:
    reply = completion("path/to/wc.py\n```python\nimport sys\n```\n")
    # A repository that has a path/to folder keeps it.
    repo2 = make_repo(tmp_path / "r2", {"path/to/keep.txt": "x\n"})
    run_lean(repo2, tmp_path, [reply], prompt="Create wc.py", edit_format="whole")
    assert (repo2 / "path/to/wc.py").exists() and not (repo2 / "wc.py").exists()
