"""Admission's precision sample: sessions with the same recurring problem are not "unrelated"."""

from __future__ import annotations

from pathlib import Path

from once.learn.admit import sessions_with_signatures, unrelated_prompts
from once.learn.embed import HashedNgramEmbedder
from once.learn.pipeline import LearnOptions, run_learn
from once.store.store import Store
from tests.test_cli_learn import STUCK_TURNS, T0, _record

SIGNATURE = "AssertionError: expected 3 got 2"
UNRELATED = ["add a dark mode toggle to the settings page", "write a README section about deployment",
             "rename the User model to Account everywhere", "speed up the CSV export for large files",
             "add type hints to the billing module", "upgrade the logging setup to structured json",
             "make the signup form validate emails", "add pagination to the orders API",
             "remove the unused legacy payment adapter", "document the cache invalidation rules"]


def test_unrelated_leaves_out_sessions_that_met_the_same_failure(tmp_path: Path) -> None:
    with Store(tmp_path / "db") as store:
        own, _ = _record(store, str(tmp_path), STUCK_TURNS, T0)
        quoted, _ = _record(store, str(tmp_path), [(f"test_parse fails with {SIGNATURE.lower()}", [("pass", "")])],
                            T0 + 1000)
        failed, _ = _record(store, str(tmp_path), [("the parser is off", [("fail", SIGNATURE), ("pass", "")])],
                            T0 + 2000)
        _record(store, str(tmp_path), [("add a dark mode toggle", [("pass", "")])], T0 + 3000)
        assert sessions_with_signatures(store.conn, [SIGNATURE.lower()]) == {own, failed}
        assert unrelated_prompts(store.conn, [own], signatures=[SIGNATURE]) == ["add a dark mode toggle"]
        # Without the signature, the same problem's sessions counted as unrelated.
        assert len(unrelated_prompts(store.conn, [own])) == 3
        # A signature too short to tell problems apart excludes nothing.
        assert len(unrelated_prompts(store.conn, [own], signatures=["error"])) == 3


def test_a_recurring_problem_is_admitted_not_called_too_broad(tmp_path: Path) -> None:
    with Store(tmp_path / "db") as store:
        t = T0
        for i in range(3):  # stuck, then fixed the same way: the lesson
            _record(store, str(tmp_path), STUCK_TURNS, t)
            t += 10_000
        for i in range(5):  # the same problem, no stuck episode: not evidence against precision
            _record(store, str(tmp_path), [(f"test_parse fails: {SIGNATURE}", [("fail", SIGNATURE), ("pass", "")])], t)
            t += 10_000
        for prompt in UNRELATED:
            _record(store, str(tmp_path), [(prompt, [("pass", "")])], t)
            t += 10_000
        report = run_learn(store.conn, LearnOptions(model="m1", now=t + 86_400, embedder=HashedNgramEmbedder()))
        assert [line.status for line in report.added] == ["probation"], report.not_admitted
        assert "0/10 unrelated" in report.added[0].detail
        assert len(report.merged) == 2 and report.not_admitted == []
        status = store.conn.execute("SELECT status, merged_count FROM knowledge").fetchall()
        assert [tuple(row) for row in status] == [("probation", 3)]


def test_a_candidate_that_gains_an_episode_is_checked_again(tmp_path: Path) -> None:
    embedder = HashedNgramEmbedder()
    with Store(tmp_path / "db") as store:
        _record(store, str(tmp_path), STUCK_TURNS, T0)
        run_learn(store.conn, LearnOptions(model="m1", now=T0 + 86_400, embedder=embedder))
        with store.conn:  # as if an earlier sample had called it too broad
            store.conn.execute("UPDATE knowledge SET status = 'candidate', status_reason = 'not admitted: too broad'")
        _record(store, str(tmp_path), STUCK_TURNS, T0 + 100_000)
        report = run_learn(store.conn, LearnOptions(model="m1", now=T0 + 200_000, embedder=embedder))
        assert len(report.merged) == 1 and [line.status for line in report.added] == ["probation"]
        row = store.conn.execute("SELECT status, merged_count FROM knowledge").fetchone()
        assert tuple(row) == ("probation", 2)
