"""Stage two (a scripted small model) and rendering the picked files within a budget."""

from __future__ import annotations

from pathlib import Path

import pytest

from once.errors import AuthenticationError, ProviderError
from once.index.rank import Candidate
from once.index.render import render_selected
from once.index.select import parse_answer, select_files

CANDIDATES = [Candidate(f"src/mod{i}.py", 10.0 - i, [f"bm25 {i}"], [f"func{i}", f"Class{i}"]) for i in range(40)]


class Scripted:
    """A small model that answers from a script and records what it was asked."""

    def __init__(self, answer: str | Exception) -> None:
        self.answer = answer
        self.questions: list[tuple[str, str]] = []

    def __call__(self, system: str, question: str) -> str:
        self.questions.append((system, question))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def test_small_model_picks_from_the_index_lines_it_was_shown() -> None:
    answer = '["src/mod7.py", "src/nope.py", "src/mod2.py", "src/mod7.py", "src/mod35.py"]'
    small = Scripted(f"Sure:\n```json\n{answer}\n```")
    selection = select_files("fix func7", CANDIDATES, small, max_files=8, show=30)
    assert selection.method == "small_model"
    # Unknown paths, repeats and candidates it was not shown are dropped; its order is kept.
    assert selection.files == ["src/mod7.py", "src/mod2.py"]
    system, question = small.questions[0]
    assert "JSON array" in system
    assert "fix func7" in question and "src/mod7.py  (func7, Class7)" in question
    assert "src/mod29.py" in question and "src/mod30.py" not in question
    assert "at most 8 paths" in question


def test_the_pick_is_capped_at_max_files() -> None:
    answer = str([c.path for c in CANDIDATES[:10]]).replace("'", '"')
    assert select_files("x", CANDIDATES, Scripted(answer), max_files=3).files == [c.path for c in CANDIDATES[:3]]


@pytest.mark.parametrize("answer", ["I think mod3 is best.", "[]", '["not/a/candidate.py"]', "[1, 2]", "{oops"])
def test_an_unusable_answer_falls_back_to_stage_one(answer: str) -> None:
    selection = select_files("x", CANDIDATES, Scripted(answer), max_files=4)
    assert selection.method == "bm25"
    assert selection.files == [c.path for c in CANDIDATES[:4]]


def test_a_provider_error_falls_back_and_other_errors_propagate() -> None:
    for error in (ProviderError("overloaded"), AuthenticationError("no key")):
        selection = select_files("x", CANDIDATES, Scripted(error), max_files=2)
        assert (selection.method, selection.files) == ("bm25", ["src/mod0.py", "src/mod1.py"])
    with pytest.raises(KeyError):
        select_files("x", CANDIDATES, Scripted(KeyError("a bug")))


def test_offline_is_stage_one_alone() -> None:
    assert select_files("x", CANDIDATES, None).files == [c.path for c in CANDIDATES[:8]]
    assert select_files("x", [], Scripted('["a.py"]')).files == []


def test_parse_answer_takes_the_first_array_of_strings() -> None:
    assert parse_answer('noise [1] then ["b.py", " a.py "]', ["a.py", "b.py"], 5) == ["b.py", "a.py"]


def write(root: Path, name: str, text: str) -> None:
    (root / name).parent.mkdir(parents=True, exist_ok=True)
    (root / name).write_text(text)


def test_render_small_files_whole_with_line_numbers(tmp_path: Path) -> None:
    write(tmp_path, "a.py", "def a():\n    return 1\n")
    write(tmp_path, "b.md", "# B\n")
    text = render_selected(tmp_path, ["a.py", "b.md"], 10_000)
    assert text == ('<file path="a.py" lines="1-2">\n     1\tdef a():\n     2\t    return 1\n</file>\n'
                    '<file path="b.md" lines="1-1">\n     1\t# B\n</file>')


def test_render_a_big_file_as_head_named_definitions_and_outline(tmp_path: Path) -> None:
    functions = [f"def func{i}(x):\n" + "".join(f"    x += {j}\n" for j in range(20)) + "    return x\n\n"
                 for i in range(60)]
    write(tmp_path, "big.py", '"""Many functions."""\n' + "".join(functions))
    write(tmp_path, "small.py", "VALUE = 1\n")
    budget = 4000
    text = render_selected(tmp_path, ["big.py", "small.py", "missing.py"], budget, prompt="func42 is wrong")
    assert len(text) <= budget
    assert '<file path="small.py" lines="1-1">' in text  # small files go in whole
    assert 'excerpt="head, named definitions, outline"' in text
    assert "     2\tdef func0(x):" in text  # the head
    assert "def func42(x):" in text and "x += 19" in text.split("def func42(x):")[1]  # the named definition, whole
    assert "def func59(x):" in text or "more definitions" in text  # the outline says there is more
    assert '<file path="missing.py" omitted="not a readable text file in the repository"/>' in text


@pytest.mark.parametrize("budget", [0, 50, 500, 2000, 30_000])
def test_render_never_exceeds_the_budget(tmp_path: Path, budget: int) -> None:
    for i in range(5):
        write(tmp_path, f"m{i}.py", "".join(f"def f{i}_{j}():\n    pass\n" for j in range(200)))
    text = render_selected(tmp_path, [f"m{i}.py" for i in range(5)], budget)
    assert len(text) <= budget
    if budget >= 2000:
        assert text.count("<file ") == 5


def test_render_refuses_paths_outside_the_repository(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("outside\n")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "link.txt").symlink_to(tmp_path / "secret.txt")
    text = render_selected(repo, ["../secret.txt", "link.txt"], 5000)
    assert "outside" not in text
    assert text.count('omitted="not a readable text file in the repository"') == 2
