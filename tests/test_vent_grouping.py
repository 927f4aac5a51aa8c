"""Grouping vent reports: the same problem worded differently lands in one group, others do not."""

from __future__ import annotations

from pathlib import Path

import pytest

from once.learn.embed import HashedNgramEmbedder
from once.store import open_store
from once.vent import grouping
from once.vent.grouping import signature, signature_words
from once.vent.store import NewReport, VentStore

# (category, tool, message, problem): reports sharing `problem` are paraphrases of one another.
REPORTS = [
    ("broken_behavior", "run_command", "run_command times out after 120 seconds even though I passed timeout=600", "A"),
    ("broken_behavior", "run_command",
     "The timeout parameter of run_command is ignored: the command was killed at 120s although I asked for 600", "A"),
    ("broken_behavior", "run_command", "run_command ignores my timeout argument and kills the process after 120 s", "A"),
    ("unclear_tool", "edit_file", "edit_file old_string must match exactly but whitespace differences are not explained", "B"),
    ("unclear_tool", "edit_file",
     "It is unclear how edit_file treats indentation; old_string failed to match because of tabs vs spaces", "B"),
    ("missing_tool", "", "There is no tool to run a web search or fetch a URL", "C"),
    ("missing_tool", "", "I need a way to download a web page, but no tool fetches URLs", "C"),
    ("docs_conflict", "", "AGENTS.md says to run make test but the README says pytest; they disagree", "D"),
    ("docs_conflict", "", "The README and AGENTS.md give conflicting test commands (pytest vs make test)", "D"),
    ("environment_limit", "run_command", "npm is not installed in the environment so I cannot run the JS tests", "E"),
    ("environment_limit", "run_command", "The node toolchain (npm) is missing, tests for the frontend cannot run", "E"),
    ("schema_mismatch", "read_file", "read_file offset is documented as 0-based but behaves 1-based", "F"),
    ("schema_mismatch", "search", "search glob parameter rejects a list of patterns", "G"),
]


def test_signature_masks_paths_numbers_and_quoted_values():
    a = signature("broken_behavior", "Run_Command", "Timed out after 120s running `pytest -x` in src/app/main.py")
    b = signature("broken_behavior", "run_command", "timed out after 300s running `make test` in lib/other.py")
    assert a == b
    assert "num" in signature_words("failed 3 times") and "fail" in signature_words("failing")


def hashed(texts):
    embedder = HashedNgramEmbedder()
    return embedder.embed(texts), embedder.name


@pytest.mark.parametrize("embed", [grouping.embed_texts, hashed], ids=["default", "hashed"])
def test_paraphrased_reports_share_a_group_and_different_problems_do_not(tmp_path: Path, embed):
    with open_store(str(tmp_path / "once.db")) as store:
        vents = VentStore(store.conn)
        filed = [vents.file(NewReport(category=c, tool=t, message=m, run_id=f"r{i}", ts=1000.0 + i), embed=embed)
                 for i, (c, t, m, _) in enumerate(REPORTS)]
        groups = vents.groups()
    by_problem: dict[str, set[str]] = {}
    for report, f in zip(REPORTS, filed):
        by_problem.setdefault(report[3], set()).add(f.group_id)
    assert all(len(ids) == 1 for ids in by_problem.values()), by_problem
    assert len({next(iter(ids)) for ids in by_problem.values()}) == len(by_problem)
    assert len(groups) == len(by_problem)
    assert [f.new_group for f in filed[:3]] == [True, False, False]
    counts = {g.id: g.report_count for g in groups}
    assert counts[filed[0].group_id] == 3


def test_different_tools_never_share_a_group(tmp_path: Path):
    with open_store(str(tmp_path / "once.db")) as store:
        vents = VentStore(store.conn)
        a = vents.file(NewReport(category="broken_behavior", tool="read_file", message="returns nothing for big files",
                                 run_id="r1", ts=1.0))
        b = vents.file(NewReport(category="broken_behavior", tool="search", message="returns nothing for big files",
                                 run_id="r2", ts=2.0))
    assert a.group_id != b.group_id
