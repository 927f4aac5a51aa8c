"""Extraction: a resolved episode or a run insight -> a candidate entry (offline template, model, scope)."""

from __future__ import annotations

import pytest

import json

from once.learn.bank import Bank
from once.learn.embed import HashedNgramEmbedder
from once.learn.episodes import Episode, Insight
from once.learn.extract import ExtractContext, extract_entry, is_repo_specific, repo_terms
from once.store import Store

SECRET = "sk-ant-api03-" + "b" * 40
DIFF = """diff --git a/pyproject.toml b/pyproject.toml
--- a/pyproject.toml
+++ b/pyproject.toml
@@ -1,2 +1,4 @@
+[tool.pytest.ini_options]
+pythonpath = ["src"]
"""


def episode(**kw) -> Episode:
    values = dict(ref="ep-1", session_id="s-1", status="resolved", started_at=1.0, ended_at=2.0, signals=[],
                  opening_prompt="run the tests", prompts=["run the tests", "the tests still fail"],
                  failure_signature="ModuleNotFoundError: No module named 'shop'",
                  corrective_text="The package lives under src/, point pytest at it with pythonpath.",
                  resolving_run_id="r-2", resolving_commits=["abc"], heuristic="checks_passed", judge=None)
    values.update(kw)
    return Episode(**values)


CTX = ExtractContext(repo="/home/dev/shop", model="claude-test", tool_version="0.1.0", diff=DIFF)


def test_offline_template_carries_signature_correction_and_stack():
    entry = extract_entry(episode(), CTX)
    assert entry.status == "candidate" and entry.kind == "episode" and entry.sources == ["ep-1"]
    assert "ModuleNotFoundError" in entry.title
    assert "Symptoms: run the tests" in entry.description and "Also asked: the tests still fail" in entry.description
    assert "pytest" in entry.description and "python" not in entry.description.split("Stack:")[0]
    assert "point pytest at it with pythonpath" in entry.knowledge
    assert entry.model == "claude-test" and entry.tool_version == "0.1.0"


def test_global_only_when_nothing_names_the_repository():
    generic = extract_entry(episode(failure_signature="TypeError: can't compare offset-naive and offset-aware "
                                    "datetimes", corrective_text="Always use timezone-aware datetimes.",
                                    opening_prompt="fix the date comparison", prompts=[]), CTX)
    assert generic.scope == "global" and generic.repo is None
    assert "pyproject.toml" not in generic.knowledge  # no repo files in a global lesson
    specific = extract_entry(episode(corrective_text="The helper is in shop/cart_totals.py, not utils."),
                             ExtractContext(repo="/home/dev/shop", files=["shop/cart_totals.py"]))
    assert specific.scope == "project" and specific.repo == "/home/dev/shop"
    assert "shop/cart_totals.py" in specific.knowledge
    # The repository's own name ties a lesson to it too (the default episode says 'shop').
    assert extract_entry(episode(), CTX).scope == "project"


def test_repo_terms_ignore_generic_file_names():
    terms = repo_terms("/x/myrepo", ["tests/test_x.py", "src/billing_engine.py"])
    assert "billing_engine" in terms and "test" not in terms and "myrepo" in terms
    assert not is_repo_specific(["run the test suite"], terms)
    assert is_repo_specific(["open /etc/shop/conf now"], terms)  # an absolute path is local


def test_a_fake_secret_never_reaches_the_entry_or_the_database(tmp_path):
    entry = extract_entry(episode(corrective_text=f"Use the key {SECRET} from the vault."), CTX)
    assert SECRET not in entry.knowledge and "[REDACTED" in entry.knowledge
    with Store(tmp_path / "db") as store:
        bank = Bank(store.conn, embedder=HashedNgramEmbedder())
        bank.add(entry)
        assert SECRET not in "\n".join(store.conn.iterdump())


def test_insight_becomes_an_insight_entry():
    insight = Insight(ref="in-1", session_id="s", run_id="r", failure_signature="AssertionError: 0.30000000000000004 != 0.3",
                      fix_summary="compare floats with pytest.approx", files=["tests/test_math.py"], prompt="fix totals")
    entry = extract_entry(insight, ExtractContext(repo="/home/dev/shop"))
    assert entry.kind == "insight" and entry.sources == ["in-1"]
    assert "pytest.approx" in entry.knowledge and "AssertionError" in entry.description


def test_model_answer_is_used_but_checked():
    answers = []

    def small(system: str, question: str) -> str:
        answers.append(question)
        return "Here: " + json.dumps({"title": "Point pytest at src", "description": "No module named X under pytest",
                                       "knowledge": "Set pythonpath = [\"src\"] in pyproject.toml.",
                                       "scope": "global"})

    entry = extract_entry(episode(), CTX, small)
    assert entry.title == "Point pytest at src" and entry.scope == "global" and entry.repo is None
    assert "ModuleNotFoundError" in answers[0] and "pythonpath" in answers[0]  # the model saw the evidence
    # A "global" answer naming a repository file is kept to the project.
    named = extract_entry(episode(), ExtractContext(repo="/r/app", files=["app/billing_core.py"]),
                          lambda s, q: json.dumps({"title": "t", "description": "d", "scope": "global",
                                                   "knowledge": "Edit app/billing_core.py first."}))
    assert named.scope == "project"
    # Unusable answers fall back to the template.
    assert extract_entry(episode(), CTX, lambda s, q: "no idea").title == extract_entry(episode(), CTX).title


def test_bare_complaints_are_left_out_of_the_injected_advice():
    from once.learn.extract import instructive

    text = "still failing, same error\nNo, Spanish exclamations open with ¡ so it must be ¡Hola, fix greet.py"
    assert instructive(text) == "No, Spanish exclamations open with ¡ so it must be ¡Hola, fix greet.py"
    assert instructive("that didn't work") == ""
    assert instructive("use the UTC clock from utils.time, never datetime.now") == (
        "use the UTC clock from utils.time, never datetime.now")


@pytest.mark.parametrize("line", [
    "No, put the fixture in conftest.py",
    "no, use pathlib",
    "you forgot to import os",
    "that's wrong, it should return None",
    "Nope, round to whole cents",
])
def test_short_corrections_are_kept_though_they_start_as_complaints(line: str) -> None:
    from once.learn.extract import instructive

    assert instructive(line) == line


@pytest.mark.parametrize("line", [
    "it's still failing with the same error: KeyError 'id'",
    "still broken",
    "that didn't work, try again",
    "same error",
    "no, still the same error",
])
def test_bare_complaints_without_an_instruction_are_dropped(line: str) -> None:
    from once.learn.extract import instructive

    assert instructive(line) == ""
