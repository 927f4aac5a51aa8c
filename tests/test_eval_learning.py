"""The learning experiment end to end, with a fake model that knows the project's rule only when
it is in what it is shown (an injected entry or the user's correction).

The model is a local OpenAI-compatible server; everything else is real: `agent run` processes,
the project's check, `agent learn`, retrieval and the holdout draw. Whether a later member
passes depends on the injected text reaching the model, so the harness measures that path.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from once.evals.arms import Arm
from once.evals.learning import (LearningPlan, experiment_report, families_of, newcombe, paired_newcombe,
                                 run_experiment)
from once.evals.runner import RunSetup
from once.evals.stats import wilson
from once.evals.task import load_suite
from tests.fakes._scripted import RecordedRequest
from tests.fakes.openai_server import FakeOpenAIServer, completion, tool_call

RULE = "int number of cents"
BODIES = {  # the float a model writes by default, and the house rule's int
    "with_tax": ("amount * 1.08", "round(amount * 108 / 100)"),
    "discount": ("amount * (100 - percent) / 100", "round(amount * (100 - percent) / 100)"),
    "share": ("amount / people", "round(amount / people)"),
}
SIGNATURES = {"with_tax": "with_tax(amount)", "discount": "discount(amount, percent)", "share": "share(amount, people)"}
ANCHOR = "def price(item):\n    return PRICES[item]\n"


def _text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return "\n".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return str(content or "")


def cents_model(request: RecordedRequest) -> dict[str, Any]:
    """Writes floats unless the rule is somewhere in its conversation; fixes after a correction."""
    messages = request.body["messages"]
    last = messages[-1]
    if last["role"] == "tool":
        return completion("Added it.")
    said = _text(last)
    if "Previous attempt failed" in said and RULE not in said:
        return completion("I do not see what is wrong; the function is there.")
    asked = re.findall(r"Add a function (\w+)\(", "\n".join(_text(m) for m in messages if m["role"] == "user"))
    name = asked[-1]
    knows = any(RULE in _text(m) for m in messages)
    wrong, right = BODIES[name]
    written = f"return {wrong}" in json.dumps(messages)
    if written:  # a correction of the float version
        if not knows:
            return completion("It already returns the amount.")
        edit = {"path": "shop/prices.py", "old_string": f"return {wrong}", "new_string": f"return {right}"}
    else:
        body = right if knows else wrong
        edit = {"path": "shop/prices.py", "old_string": ANCHOR,
                "new_string": f"{ANCHOR}\n\ndef {SIGNATURES[name]}:\n    return {body}\n"}
    return completion(None, [tool_call("edit_file", edit, id=f"call_{len(messages)}")])


@pytest.fixture
def suite() -> dict[str, list[Any]]:
    return families_of(load_suite("learning", tags=["learning"]))


def test_the_bundled_families_are_ordered_and_their_checks_decide(suite: dict[str, list[Any]]) -> None:
    assert "cents" in suite
    orders = [t.family.order for t in suite["cents"]]
    assert orders == sorted(orders) == list(range(1, len(orders) + 1))
    for task in suite["cents"]:
        assert task.family.correction and RULE in task.family.correction


def test_a_correction_is_learned_and_later_members_pass_when_it_is_injected(
        suite: dict[str, list[Any]], tmp_path: Path) -> None:
    with FakeOpenAIServer([], fallback=cents_model) as server:
        arm = Arm("default", {"provider": "openai", "base_url": server.base_url, "model": "fake-coder"})
        plan = LearningPlan({"cents": suite["cents"]}, arm, RunSetup(out=tmp_path / "out", db=tmp_path / "x.db"))
        report = run_experiment(plan)
    assert report["problems"] == []
    members = {m["task"]: m for m in report["members"]}
    first = members["cents-tax"]
    # Nothing learned yet: the model writes floats, fails, and the correction unsticks it.
    assert first["passed_first"] is False and first["arm"] == "none"
    assert first["passed_after_correction"] is True
    later = [m for m in report["members"] if m["order"] > 1]
    assert later and all(m["entries"] for m in later), "agent learn wrote an entry that later prompts retrieve"
    for member in later:
        # The draw decides; the outcome follows the arm, because only injection tells the model.
        assert member["passed_first"] is (member["arm"] == "injected"), member
    injected = report["later"]["injected"]
    assert injected["total"] + report["later"]["holdout"]["total"] == len(later)
    # Paired: each later member also ran in the other arm, on a twin taken before it ran.
    for member in later:
        twin = member["twin"]
        assert twin is not None and twin["arm"] != member["arm"], member
        assert twin["passed_first"] is (twin["arm"] == "injected"), member
    paired = report["paired"]
    assert paired["members"] == len(later) == paired["injected_passed"] and paired["holdout_passed"] == 0
    assert paired["difference"] == 1.0 and paired["low"] > 0
    # The twins log to their own database: the experiment learned only from the members' sessions.
    assert not any(f"{m['task']}.twin" in str(run) for m in later for run in (tmp_path / "out").glob("round-1/runs/*"))


def test_the_report_counts_only_later_members_and_gives_newcombe_intervals() -> None:
    diff, low, high = newcombe(wilson(8, 10), wilson(2, 10))
    assert diff == pytest.approx(0.6)
    assert 0 < low < diff < high < 1
    same = newcombe(wilson(5, 10), wilson(5, 10))
    assert same[0] == 0 and same[1] < 0 < same[2]
    assert newcombe(wilson(0, 0), wilson(3, 4)) == (0.0, -1.0, 1.0)
    assert experiment_report([])["later"]["injected"]["total"] == 0


def test_paired_lift_matches_newcombes_published_example() -> None:
    # Newcombe (1998), paired proportions, method 10: 36 both, 12 and 2 discordant, 0 neither.
    pairs = [(True, True)] * 36 + [(True, False)] * 12 + [(False, True)] * 2
    diff, low, high = paired_newcombe(pairs)
    assert diff == pytest.approx(0.2)
    assert (round(low, 4), round(high, 4)) == (0.0569, 0.3404)
    assert paired_newcombe([(True, True), (False, False)])[0] == 0.0
    assert paired_newcombe([]) == (0.0, -1.0, 1.0)


def test_the_command_refuses_what_cannot_measure_learning(cli, tmp_path: Path) -> None:
    unknown = cli("eval", "learning", "--family", "nope", "--db", str(tmp_path / "x.db"))
    assert unknown.code == 2 and "no family 'nope'" in unknown.stderr and "cents" in unknown.stderr
    replayed = cli("eval", "learning", "--provider", "replay", "--db", str(tmp_path / "x.db"))
    assert replayed.code == 2 and "needs a live model" in replayed.stderr
    plain = tmp_path / "plain"
    (plain / "one" / "repo").mkdir(parents=True)
    (plain / "one" / "task.toml").write_text('prompt = "p"\ncheck = "true"\n')
    none = cli("eval", "learning", str(plain), "--db", str(tmp_path / "x.db"))
    assert none.code == 2 and "has no task families" in none.stderr
