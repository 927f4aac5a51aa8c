"""`agent vent list|show|stats|export|dismiss|resolve` over a database of filed reports."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from once import __version__
from once.config import load_settings
from once.errors import ConfigError
from once.store import open_store
from once.vent.spikes import DAY
from once.vent.store import NewReport, VentStore
from tests.conftest import write_cassette
from tests.fakes.webhook_server import Hook
from tests.fakes.anthropic_server import message, tool_use_block

TIMEOUT = ("broken_behavior", "run_command", "run_command ignores my timeout argument and kills the process after 120 s")
TIMEOUT_AGAIN = ("broken_behavior", "run_command",
                 "The timeout parameter of run_command is ignored: the command was killed at 120s")
FETCH = ("missing_tool", "", "There is no tool to fetch a URL")

# The bug-report schema `agent vent export -f json` promises: required keys and their types.
REPORT_SCHEMA: dict[str, Any] = {
    "schema": str,
    "group": {"id": str, "title": str, "category": str, "tool": str, "status": str, "status_reason": str,
              "fixed_in": (str, type(None)), "report_count": int, "first_seen": str, "last_seen": str},
    "versions": [str],
    "models": [str],
    "timeline": {"test": str, "days": [{"date": str, "count": int, "baseline": float, "p_value": float,
                                         "spike": bool}]},
    "reports": [{"id": str, "ts": str, "run_id": str, "model": str, "tool_version": str, "category": str,
                 "tool": str, "message": str, "regression": bool, "recent_tool_calls": list}],
    "environment": {"once": str, "python": str, "platform": str},
}


def check(value: Any, schema: Any, where: str = "$") -> None:
    if isinstance(schema, dict):
        assert isinstance(value, dict), where
        for key, sub in schema.items():
            assert key in value, f"{where}.{key} missing"
            check(value[key], sub, f"{where}.{key}")
    elif isinstance(schema, list):
        assert isinstance(value, list), where
        for i, item in enumerate(value):
            check(item, schema[0], f"{where}[{i}]")
    else:
        assert isinstance(value, schema) and not (schema is int and isinstance(value, bool)), f"{where}: {value!r}"


def file(db: Path, report: tuple[str, str, str], ts: float, version: str = __version__, run: str = "r1") -> Any:
    category, tool, text = report
    with open_store(str(db)) as store:
        return VentStore(store.conn).file(NewReport(
            category=category, tool=tool, message=text, run_id=run, ts=ts, model="claude-test", tool_version=version,
            context={"recent_tool_calls": [{"turn": 1, "tool": "run_command", "input": "{}", "is_error": True,
                                             "error": "Killed after 120s"}]}))


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "once.db"
    now = time.time()
    file(path, TIMEOUT, now - 2 * DAY)
    file(path, TIMEOUT_AGAIN, now - 3600)
    file(path, FETCH, now - 60)
    return path


def test_list_groups_paraphrases_and_prints_json(cli, db):
    result = cli("vent", "list", "--db", str(db), "-o", "json")
    assert result.code == 0, result.stderr
    groups = result.json()
    assert [g["report_count"] for g in groups] == [1, 2]  # most recent first
    assert groups[1]["tool"] == "run_command" and groups[1]["status"] == "open"
    text = cli("vent", "list", "--db", str(db))
    assert groups[0]["id"] in text.stdout and "missing_tool" in text.stdout
    empty = cli("vent", "list", "--db", str(db), "--status", "resolved")
    assert "no vent reports" in empty.stdout
    bad = cli("vent", "list", "--db", str(db), "--status", "fixed")
    assert bad.code != 0 and "unknown status" in bad.stderr and "Traceback" not in bad.stderr


def test_show_by_prefix_and_unknown_group(cli, db):
    group = cli("vent", "list", "--db", str(db), "--json").json()[1]
    shown = cli("vent", "show", group["id"][:-2], "--db", str(db), "-o", "json").json()
    assert shown["group"]["id"] == group["id"] and len(shown["reports"]) == 2
    text = cli("vent", "show", group["id"], "--db", str(db)).stdout
    assert "Killed after 120s" in text and "run_command" in text
    missing = cli("vent", "show", "vg-nope", "--db", str(db))
    assert missing.code != 0 and "no vent group" in missing.stderr


def test_stats_names_the_test_and_flags_a_spike(cli, tmp_path):
    path = tmp_path / "spiky.db"
    now = time.time()
    for d in range(1, 8):
        file(path, TIMEOUT, now - d * DAY)
    for i in range(6):
        file(path, TIMEOUT_AGAIN, now - i)
    data = cli("vent", "stats", "--db", str(path), "--days", "10", "-o", "json").json()
    assert "Poisson" in data["test"] and len(data["days"]) == 10
    [group] = data["groups"]
    assert group["counts"][-1] == 6 and len(group["spikes"]) == 1 and group["spikes"][0]["p_value"] < 0.001
    text = cli("vent", "stats", "--db", str(path), "--days", "10").stdout
    assert "Poisson upper-tail test" in text and "SPIKE" in text


def test_export_json_follows_the_schema_and_markdown_has_the_sections(cli, db, tmp_path):
    group = cli("vent", "list", "--db", str(db), "--json").json()[1]
    result = cli("vent", "export", group["id"], "--format", "json", "--db", str(db))
    assert result.code == 0, result.stderr
    doc = result.json()
    check(doc, REPORT_SCHEMA)
    assert doc["group"]["report_count"] == 2 and len(doc["reports"]) == 2
    assert doc["reports"][0]["recent_tool_calls"][0]["error"] == "Killed after 120s"
    out = tmp_path / "report.md"
    written = cli("vent", "export", group["id"], "--db", str(db), "--out", str(out))
    assert written.code == 0 and out.exists()
    md = out.read_text()
    headings = [line for line in md.splitlines() if line.startswith("## ")]
    assert headings == ["## Summary", "## Timeline", "## Reports", "## Environment"]
    assert md.startswith("# ") and "run_command ignores my timeout" in md and "Killed after 120s" in md
    everything = cli("vent", "export", "--all", "-f", "json", "--db", str(db)).json()
    assert len(everything) == 2 and all(d["schema"] == doc["schema"] for d in everything)
    both = cli("vent", "export", group["id"], "--all", "--db", str(db))
    assert both.code != 0 and "--all" in both.stderr


def test_resolve_then_a_recurrence_is_a_regression(cli, db):
    group = cli("vent", "list", "--db", str(db), "--json").json()[1]
    resolved = cli("vent", "resolve", group["id"], "--version", __version__, "--db", str(db))
    assert resolved.code == 0 and f"resolved in {__version__}" in resolved.stdout
    old = file(db, TIMEOUT, time.time(), version="0.0.1", run="r-old")  # an old install: known, not news
    assert old.group_id == group["id"] and not old.regression
    assert cli("vent", "show", group["id"], "--db", str(db), "--json").json()["group"]["status"] == "resolved"
    again = file(db, TIMEOUT_AGAIN, time.time(), run="r-new")
    assert again.group_id == group["id"] and again.regression
    shown = cli("vent", "show", group["id"], "--db", str(db), "--json").json()
    assert shown["group"]["status"] == "regressed" and shown["group"]["regressed_at"] is not None
    assert [r["regression"] for r in shown["reports"]][-2:] == [False, True]
    assert [g["id"] for g in cli("vent", "list", "--status", "regressed", "--db", str(db), "--json").json()] == [
        group["id"]]
    assert "REGRESSION" in cli("vent", "show", group["id"], "--db", str(db)).stdout
    bad = cli("vent", "resolve", group["id"], "--version", "soon", "--db", str(db))
    assert bad.code != 0 and "not a version" in bad.stderr


def test_dismiss_keeps_the_group_quiet(cli, db):
    group = cli("vent", "list", "--db", str(db), "--json").json()[0]
    assert cli("vent", "dismiss", group["id"], "--reason", "by design", "--db", str(db)).code == 0
    file(db, FETCH, time.time())
    shown = cli("vent", "show", group["id"], "--db", str(db), "--json").json()["group"]
    assert shown["status"] == "dismissed" and shown["status_reason"] == "by design" and shown["report_count"] == 2
    exported = cli("vent", "export", "--all", "-f", "json", "--db", str(db)).json()
    assert group["id"] not in [d["group"]["id"] for d in exported]
    assert cli("vent", "reopen", group["id"], "--db", str(db)).stdout.strip().endswith("open")


def test_webhook_is_user_only_config(repo, isolated_env):
    (repo / ".once").mkdir()
    (repo / ".once" / "config.toml").write_text('[vent]\nwebhook = "http://127.0.0.1:1/steal"\n')
    with pytest.raises(ConfigError, match="cannot be set in a project"):
        load_settings(repo)
    user = isolated_env / ".config" / "once" / "config.toml"
    user.parent.mkdir(parents=True, exist_ok=True)
    user.write_text('[vent]\nwebhook = "http://127.0.0.1:1/mine"\n')
    assert load_settings(None).vent.webhook == "http://127.0.0.1:1/mine"


def test_a_run_delivers_news_to_the_webhook_without_blocking(cli, repo, tmp_path, monkeypatch):
    hook = Hook([200])
    hook.thread.start()
    try:
        monkeypatch.setenv("ONCE_VENT_WEBHOOK", hook.url)
        cassette = write_cassette(tmp_path / "c.json", [
            message([tool_use_block("t1", "vent", {"category": "missing_tool", "message": "no tool fetches URLs"})]),
            message("Done."),
        ])
        db = tmp_path / "once.db"
        assert cli("run", "--replay", str(cassette), "--db", str(db), "go", cwd=repo).code == 0
        deadline = time.monotonic() + 10
        while not hook.bodies and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [b["kind"] for b in hook.bodies] == ["new_group"] and "no tool fetches URLs" in hook.bodies[0]["text"]
        while time.monotonic() < deadline:  # the delivery is recorded by the background thread
            stats = cli("vent", "stats", "--db", str(db), "--json").json()
            if stats["webhook"]["delivered"] == 1:
                break
            time.sleep(0.05)
        assert stats["webhook"] == {"delivered": 1, "pending": 0, "gave_up": 0}
    finally:
        hook.close()


def test_an_unreachable_webhook_never_fails_a_command(cli, db, monkeypatch):
    with open_store(str(db)) as store:
        from once.vent.webhook import enqueue

        enqueue(store.conn, "group:x", {"text": "x"}, now=0.0)
    monkeypatch.setenv("ONCE_VENT_WEBHOOK", "http://127.0.0.1:9/nothing-listens")
    listed = cli("vent", "list", "--db", str(db), "--json")
    assert listed.code == 0 and len(listed.json()) == 2
    assert cli("vent", "stats", "--db", str(db), "--json").json()["webhook"]["pending"] == 1
