"""Recall of the secret detector on the public corpus (gitleaks and detect-secrets rule tests).

Each `tp` case is a test. Cases the placeholder policy rejects on purpose (masked values
such as `AP6xxxxxxxxxx`, documentation examples, `{secret}` templates, public IP
addresses; see `benchmarks.secrets_bench.policy_exclusion`) are strict xfails: the day
one of them is reported, the test says so. The corpus lives outside the project; without
it the module is skipped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from benchmarks.secrets_bench import load_corpus, policy_exclusion
from once.safety.secrets import find_secrets

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "eval" / "secrets" / "cases.jsonl"
if not CORPUS.is_file():
    pytest.skip(f"the secrets corpus is not at {CORPUS}", allow_module_level=True)

CASES: list[dict[str, Any]] = load_corpus(CORPUS)
TP = [(i, c) for i, c in enumerate(CASES) if c["label"] == "tp"]


def _param(index: int, case: dict[str, Any]) -> Any:
    reason = policy_exclusion(case)
    marks = [pytest.mark.xfail(strict=True, reason=f"placeholder policy: {reason}")] if reason else []
    return pytest.param(case, id=f"{index}-{case['rule']}", marks=marks)


@pytest.mark.parametrize("case", [_param(i, c) for i, c in TP])
def test_true_secret_is_found(case: dict[str, Any]) -> None:
    assert find_secrets(case["text"]), f"missed ({case['source']} {case['rule']}): {case['text'][:120]!r}"


def test_recall() -> None:
    found = {i for i, c in TP if find_secrets(c["text"])}
    eligible = [i for i, c in TP if policy_exclusion(c) is None]
    assert len(TP) == 167 and len(eligible) >= 130  # the policy excludes few, named cases
    recall = len(found & set(eligible)) / len(eligible)
    assert recall >= 0.95, f"recall {recall:.1%} on {len(eligible)} cases"
    # Over all 167 cases (placeholders included) recall is 135/167; a drop means a regression.
    assert len(found) / len(TP) >= 0.80
