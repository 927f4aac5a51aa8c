"""The SWE-bench localization harness on a synthetic instance set (no network, no real data)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import swebench_localization as harness
from tests.conftest import git, make_repo

PATCH = """diff --git a/widgets/billing.py b/widgets/billing.py
--- a/widgets/billing.py
+++ b/widgets/billing.py
@@ -1,2 +1,2 @@
 def compute_total(items):
-    return 0
+    return sum(items)
"""


@pytest.fixture
def repos(tmp_path: Path) -> tuple[Path, str]:
    """A directory of clones holding acme/widgets; returns it and the instance's base commit."""
    root = tmp_path / "repos"
    clone = make_repo(root / "acme__widgets", {
        "widgets/billing.py": "def compute_total(items):\n    return 0\n",
        "widgets/shipping.py": '"""Shipping totals and rates."""\n\ndef shipping_rate(order):\n    return 1\n',
        "widgets/orders.py": '"""Orders: items, totals."""\n\nclass Order:\n    pass\n',
        "data/table.bin": "rows\n",
    })
    base = git(clone, "rev-parse", "HEAD").strip()
    # Later history the instance must not see: the harness checks out base_commit.
    (clone / "widgets/billing.py").unlink()
    (clone / "widgets/invoices.py").write_text("def compute_total(items):\n    return sum(items)\n")
    git(clone, "add", "-A")
    git(clone, "commit", "-q", "-m", "move billing")
    return root, base


def instances(base: str) -> list[dict[str, str]]:
    return [
        {"instance_id": "acme__widgets-1", "repo": "acme/widgets", "base_commit": base,
         "problem_statement": "The order total is wrong: compute_total() ignores the items.",
         "golden_patch": PATCH},
        {"instance_id": "other__missing-7", "repo": "other/missing", "base_commit": base,
         "problem_statement": "x", "golden_patch": PATCH},
    ]


def test_gold_files_from_a_patch() -> None:
    assert harness.gold_files(PATCH) == ["widgets/billing.py"]
    two = PATCH + PATCH.replace("billing", "orders") + "diff --git a/new.py b/new.py\nnew file mode 100644\n"
    assert harness.gold_files(two) == ["new.py", "widgets/billing.py", "widgets/orders.py"]


def test_a_synthetic_instance_is_found_and_a_missing_repo_skipped(repos: tuple[Path, str], tmp_path: Path) -> None:
    root, base = repos
    lines: list[str] = []
    work = tmp_path / "work"
    work.mkdir()
    outcomes, skipped = harness.evaluate(instances(base), root, work, log=lines.append)
    assert skipped == {"other/missing": 1}
    assert any(line.startswith("skip other/missing") for line in lines)
    [outcome] = outcomes
    assert outcome.gold == ["widgets/billing.py"]
    assert outcome.ranked[0] == "widgets/billing.py" and "widgets/invoices.py" not in outcome.ranked
    assert outcome.hit(1) and outcome.hit(10)
    assert harness.summarize(outcomes) == {"acme/widgets": {"n": 1, "@1": 100.0, "@5": 100.0, "@10": 100.0},
                                           "all": {"n": 1, "@1": 100.0, "@5": 100.0, "@10": 100.0}}


def test_blobs_missing_from_a_partial_clone_are_left_out(repos: tuple[Path, str], tmp_path: Path) -> None:
    root, base = repos
    clone = root / "acme__widgets"
    blob = git(clone, "rev-parse", f"{base}:data/table.bin").strip()
    (clone / ".git" / "objects" / blob[:2] / blob[2:]).unlink()  # as a snapshot without its big files
    work = tmp_path / "work"
    work.mkdir()
    outcomes, _ = harness.evaluate(instances(base)[:1], root, work, log=lambda _line: None)
    assert outcomes[0].hit(1)
    assert not (work / "acme__widgets" / "data" / "table.bin").exists()


def test_main_runs_end_to_end_and_skips_clearly(repos: tuple[Path, str], tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    root, base = repos
    data = tmp_path / "lite.json"
    data.write_text(json.dumps(instances(base)))
    assert harness.main(["--data", str(tmp_path / "absent.json"), "--repos", str(root)]) == 0
    assert "skipped: no SWE-bench data" in capsys.readouterr().out
    monkeypatch.delenv("ONCE_SWEBENCH_REPOS", raising=False)
    assert harness.main(["--data", str(data)]) == 0
    assert "skipped: no directory of repository clones" in capsys.readouterr().out
    monkeypatch.setenv("ONCE_SWEBENCH_REPOS", str(root))
    results = tmp_path / "out.json"
    assert harness.main(["--data", str(data), "--quiet", "--json", str(results)]) == 0
    out = capsys.readouterr().out
    assert "skipped 1 instances without a clone: other/missing (1)" in out
    assert "acme/widgets                    1  100.0  100.0  100.0" in out
    assert json.loads(results.read_text())[0]["instance_id"] == "acme__widgets-1"


def test_halves_alternate_within_each_repository() -> None:
    rows = [{"instance_id": f"{repo}-{i}", "repo": repo} for repo in ("a/x", "b/y") for i in range(3)]
    first = harness.select_instances(rows, [], 0, 1)
    second = harness.select_instances(rows, [], 0, 2)
    assert [r["instance_id"] for r in first] == ["a/x-0", "a/x-2", "b/y-0", "b/y-2"]
    assert [r["instance_id"] for r in second] == ["a/x-1", "b/y-1"]
    assert [r["instance_id"] for r in harness.select_instances(rows, ["b/y"], 1, 1)] == ["b/y-0"]


def test_merging_picks_with_stage_one() -> None:
    ranked = [f"f{i}.py" for i in range(12)]
    assert harness.merge(["f7.py", "f1.py"], ranked) == ["f7.py", "f1.py", "f0.py", *ranked[2:7], "f8.py", "f9.py"]
    assert harness.merge(["f7.py"], ranked, keep=2)[:4] == ["f0.py", "f1.py", "f7.py", "f2.py"]


def test_stage_two_scores_the_products_selection_on_saved_candidates(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from tests.fakes.openai_server import FakeOpenAIServer, completion

    ranked = ["widgets/orders.py", "widgets/shipping.py", "widgets/billing.py"]
    saved = [{"instance_id": f"acme__widgets-{n}", "repo": "acme/widgets", "gold": ["widgets/billing.py"],
              "ranked": ranked, "seconds": 0.1, "symbols": {"widgets/billing.py": ["compute_total"]}}
             for n in (1, 2)]
    candidates = tmp_path / "candidates.json"
    candidates.write_text(json.dumps(saved))
    data = tmp_path / "lite.json"
    data.write_text(json.dumps([{**instances("base")[0], "instance_id": row["instance_id"]} for row in saved]))
    found = [["widgets/billing.py"], ["widgets/orders.py", "widgets/billing.py"]]
    (tmp_path / harness.LOCAGENT).write_text("".join(
        json.dumps({"instance_id": row["instance_id"], "found_files": files}) + "\n" for row, files in zip(saved, found)))
    out = tmp_path / "out.json"
    answers = [completion('["widgets/billing.py", "widgets/orders.py"]'), completion("No idea, sorry.")]
    with FakeOpenAIServer(answers) as server:
        # The saved rankings stand in for the clones: no --repos needed.
        assert harness.main(["--data", str(data), "--candidates", str(candidates), "--stage-two", "--base-url",
                             server.base_url, "--model", "small", "--quiet", "--json", str(out)]) == 0
        question = server.requests[0].body["messages"][-1]["content"]
    assert "widgets/billing.py  (compute_total)" in str(question)
    text = capsys.readouterr().out
    rows = {line[:40].strip(): line[40:].split() for line in text.splitlines()}
    assert rows["stage one"] == ["2", "0.0", "100.0", "100.0"]
    # The first answer put the gold file first; the second was unusable, so stage one's order stood.
    assert rows["+ two: picks alone (the product)"] == ["2", "50.0", "100.0", "100.0"]
    assert rows["+ two: stage one's top 1, picks, rest"] == ["2", "0.0", "100.0", "100.0"]
    assert rows["LocAgent (Claude 3.5), published"] == ["2", "50.0", "100.0", "100.0"]
    assert "answer was used on 1 of 2" in text
    results = json.loads(out.read_text())
    assert [row["stage_two"]["method"] for row in results] == ["small_model", "bm25"]
    assert harness.main(["--data", str(data), "--candidates", str(candidates), "--stage-two"]) == 2
