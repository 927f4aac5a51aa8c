"""The learning simulator with a team: three users pooled through a real PostgreSQL (the test
server). Every user's evidence reaches the others, the pooled evaluation counts each user's
sessions once, and the same seed reproduces the run exactly."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests import pg_server

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import learning_sim  # noqa: E402
import learning_team  # noqa: E402
from once.learn.pipe_evaluate import entry_figures  # noqa: E402
from once.team.payload import SHARED_STATUSES  # noqa: E402

pytestmark = pytest.mark.skipif(pg_server.why_not() is not None, reason=pg_server.why_not() or "-")


def _args(url: str, seed: int = 7):
    return learning_sim.parser().parse_args(
        ["--users", "3", "--sessions-per-user", "100", "--learn-every", "20", "--problem-types", "6",
         "--window", "100", "--seed", str(seed), "--team-url", url])


def _figures(result: dict) -> dict:
    return {key: value for key, value in result.items() if not key.endswith("seconds")}


def _settle(users: list) -> None:
    """Two rounds of syncs: everyone has pushed before anyone's last pull."""
    for _ in range(2):
        for user in users:
            learning_team.sync(user.store.conn, user.team, user.bank)


def _own_exposures(user) -> dict[tuple[str, str, str], tuple[str, int | None]]:
    marks = ", ".join("?" for _ in SHARED_STATUSES)
    rows = user.store.conn.execute(
        f"SELECT x.entry_id, x.session_id, x.run_id, x.arm, x.outcome FROM exposures x JOIN knowledge k"
        f" ON k.id = x.entry_id WHERE k.status IN ({marks})", SHARED_STATUSES)
    return {(r[0], r[1], r[2]): (r[3], r[4]) for r in rows}


def _mirror(user) -> dict[tuple[str, str, str], tuple[str, int | None]]:
    rows = user.store.conn.execute("SELECT entry_id, session_id, run_id, arm, outcome FROM team_exposures")
    return {(r[0], r[1], r[2]): (r[3], r[4]) for r in rows}


def _comparable_entries(users: list) -> list[str]:
    """Entries live in every store and measured from the start everywhere (no evaluation window)."""
    live = None
    for user in users:
        ids = {r[0] for r in user.store.conn.execute(
            "SELECT id FROM knowledge WHERE status IN ('probation', 'active', 'demoted')")}
        windowed = {r[0] for r in user.store.conn.execute(
            "SELECT entry_id FROM knowledge_log WHERE action IN ('version_change', 'relearn')")}
        live = (ids if live is None else live & ids) - windowed
    return sorted(live or ())


def test_three_users_pool_their_evidence_and_the_run_reproduces(team_url: str, pg_server) -> None:
    facts: dict = {}

    def inspect(users: list) -> None:
        _settle(users)
        facts["own"] = [_own_exposures(u) for u in users]
        facts["mirror"] = [_mirror(u) for u in users]
        facts["members"] = [u.team.member for u in users]
        entries = _comparable_entries(users)
        facts["pooled"] = {e: [entry_figures(u.store.conn, e) for u in users] for e in entries[:5]}

    result = learning_sim.run(_args(team_url), inspect)
    assert result["team"] is True and result["users"] == 3 and result["sessions"] == 300

    # Every user's exposures (of shared entries) reach both others' mirrors, outcomes included.
    for k, own in enumerate(facts["own"]):
        assert len(own) > 20, "each user was exposed to entries"
        for j, mirror in enumerate(facts["mirror"]):
            if j == k:
                assert not set(own) & set(mirror), "an install's own exposures are not mirrored back to it"
                continue
            missing = {key for key in own if mirror.get(key) != own[key]}
            assert not missing, f"{facts['members'][k]}'s exposures missing at {facts['members'][j]}: {len(missing)}"

    # The pooled evaluation counts each user's sessions once: pooled n == the sum of the users' own n.
    assert facts["pooled"], "some entries are live in every store"
    measured = 0
    for entry_id, figures in facts["pooled"].items():
        own_n = sum(f["here"].n for f in figures if f["here"] is not None)
        for f in figures:
            assert f["team"] is not None and f["team"].n == own_n, entry_id
        measured += own_n
    assert measured > 0, "the compared entries have evidence"

    # The same seed reproduces the run exactly (a fresh team database: the team's salt is seeded).
    with learning_team.database(pg_server.url, "team_sim_again") as again:
        repeated = learning_sim.run(_args(again))
    assert _figures(repeated) == _figures(result)
