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
