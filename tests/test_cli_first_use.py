"""What a new user sees on the command line: each message once, words that read right, hints
that fit the command."""

from __future__ import annotations

import ast
import io
import re
from pathlib import Path

import once
from once.cli.render import ProgressRenderer
from once.events import ErrorEvent, RunFinished, ToolCall
from once.words import cost_text, plural
from tests.conftest import write_cassette
from tests.fakes.anthropic_server import message, tool_use_block


def test_a_provider_error_is_printed_once(cli, repo, tmp_path):
    result = cli("run", "--provider", "openai", "-m", "x", "--base-url", "http://127.0.0.1:9/v1",
                 "--db", str(tmp_path / "db"), "hi", cwd=repo)
    assert result.code == 3
    assert result.stderr.count("could not connect") == 1, result.stderr
    assert "hint: check the server" in result.stderr


def test_an_error_the_run_goes_on_after_is_still_shown():
    stream = io.StringIO()
    render = ProgressRenderer(stream, errors_reported=True)
    render(ErrorEvent(run_id="r", kind="model_output", message="bad tool call"))
    render(ToolCall(run_id="r", turn=2, tool_use_id="t", name="read_file", input={"path": "a.py"}))
    render(ErrorEvent(run_id="r", kind="ProviderError", message="server gone"))
    render(RunFinished(run_id="r", status="error", result="server gone", turns=2, usage={}, cost_usd=0.0))
    shown = stream.getvalue()
    assert "bad tool call" in shown and "server gone" not in shown


def test_plural_gives_the_noun_its_number():
    assert [plural(1, "run"), plural(2, "run"), plural(0, "match")] == ["1 run", "2 runs", "0 matches"]
    assert [plural(1, "repository"), plural(3, "repository"), plural(2, "day")] == [
        "1 repository", "3 repositories", "2 days"]
    assert plural(2, "teammate entry", "teammate entries") == "2 teammate entries"


def test_statuses_and_unknown_costs_read_as_words():
    stream = io.StringIO()
    ProgressRenderer(stream)(RunFinished(run_id="r", status="plan_incomplete", result="", turns=1,
                                         usage={"input_tokens": 10, "output_tokens": 5}, cost_usd=0.0))
    line = stream.getvalue()
    assert "plan steps left after 1 turn · 10 in / 5 out · cost unknown" in line, line
    assert cost_text(0.01234) == "$0.0123" and cost_text(0.0, "-") == "-"


def test_log_and_sessions_count_in_words(cli, repo, tmp_path):
    db = str(tmp_path / "db")
    replay = write_cassette(tmp_path / "c.json", [message("the answer", model="local-model")])
    assert cli("run", "--replay", str(replay), "--db", db, "what is this?", cwd=repo).code == 0
    listing = cli("log", "--db", db, cwd=repo).stdout
    assert " 1 turn " in listing and "turns" not in listing and "$0.0000" not in listing, listing
    run_id = listing.split()[0]
    shown = cli("log", run_id, "--db", db, cwd=repo).stdout
    assert "1 turn · " in shown and "not billed (replayed)" in shown, shown
    sessions = cli("sessions", "--db", db, cwd=repo).stdout
    assert " 1 run " in sessions, sessions


def _ad_hoc_plurals(tree: ast.AST) -> list[int]:
    """Lines that pluralize by hand: `{'s' if n != 1 else ''}` or a `file(s)` in a string."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.IfExp) and {"s", "ies"} & {
                getattr(part, "value", None) for part in (node.body, node.orelse)}:
            found.append(node.lineno)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and re.search(r"[a-z]\(s\)", node.value):
            found.append(node.lineno)
    return found


def test_plurals_come_from_one_helper():
    """Every count a person reads goes through once.words.plural, not a copy of it."""
    src = Path(once.__file__).parent
    found = [f"{path.relative_to(src)}:{line}" for path in sorted(src.rglob("*.py")) if "suites" not in path.parts
             for line in _ad_hoc_plurals(ast.parse(path.read_text()))]
    assert found == []


def test_a_prompt_from_stdin_is_stored_without_its_newline(cli, repo, tmp_path, monkeypatch):
    db = str(tmp_path / "db")
    monkeypatch.setattr("sys.stdin", io.StringIO("what is this?\n"))
    replay = write_cassette(tmp_path / "c.json", [message("a sample")])
    assert cli("run", "--replay", str(replay), "--db", db, "-", cwd=repo).code == 0
    [run] = cli("log", "--json", "--db", db, cwd=repo).json()
    assert run["prompt"] == "what is this?"


def test_outside_a_repository_each_command_says_what_it_needs(cli, tmp_path, monkeypatch):
    plain = tmp_path / "plain"
    plain.mkdir()
    monkeypatch.setenv("ONCE_DB", str(tmp_path / "db"))
    hints = {}
    for args in (["undo"], ["files", "cli"], ["queue", "list"], ["plan", "x"], ["memory", "show"],
                 ["feedback", "up"]):
        result = cli(*args, cwd=plain)
        assert result.code == 2 and "not inside a git repository" in result.stderr, (args, result.stderr)
        hints[args[0]] = result.stderr.split("hint: ", 1)[1]
    assert not any("--init" in hint for hint in hints.values()), hints
    assert "undo" in hints["undo"] and "queue" in hints["queue"] and "--run ID" in hints["feedback"]
    assert "-C PATH" in hints["files"]
    assert "agent run --init" in cli("run", "x", cwd=plain).stderr  # a run may create one


def test_queue_move_takes_a_target_number(cli, repo, tmp_path):
    db = str(tmp_path / "db")
    for text in ("first", "second"):
        assert cli("queue", "add", "--db", db, text, cwd=repo).code == 0
    moved = cli("queue", "move", "--db", db, "2", "1", cwd=repo)
    assert moved.code == 0, moved.stderr
    items = cli("queue", "list", "--json", "--db", db, cwd=repo).json()["items"]
    assert [item["text"] for item in items] == ["second", "first"]
    assert "up|down|top|bottom|N" in cli("queue", "move", "--help").stdout


def test_the_files_the_contributor_guide_names_exist():
    root = Path(__file__).resolve().parent.parent
    named = re.findall(r"(?:tests|benchmarks|scripts)/[\w./]+\.py", (root / "AGENTS.md").read_text())
    assert named and [path for path in named if not (root / path).is_file()] == []


def test_a_replayed_run_reports_tokens_but_no_cost(cli, repo, tmp_path):
    priced = {"input_tokens": 100_000, "output_tokens": 1_000}  # claude-sonnet-4-5: $0.315 if billed
    replay = write_cassette(tmp_path / "c.json", [message("the answer", usage=priced, model="claude-sonnet-4-5")])
    result = cli("run", "--replay", str(replay), "--db", str(tmp_path / "db"), "what is this?", cwd=repo)
    assert result.code == 0
    assert "100.0k in / 1.0k out · not billed (replayed)" in result.stderr and "$" not in result.stderr
    data = cli("run", "--replay", str(replay), "--db", str(tmp_path / "db"), "-o", "json", "again", cwd=repo).json()
    assert data["usage"]["input_tokens"] == 100_000 and data["usage"]["cost_usd"] == 0


def _recorded(cli, repo, tmp_path, responses):
    """A cassette recorded the way `--record` records one, here from a replay of `responses`."""
    source = write_cassette(tmp_path / "source.json", responses)
    recorded = tmp_path / "recorded.json"
    result = cli("run", "--replay", str(source), "--record", str(recorded), "--db", str(tmp_path / "rec.db"),
                 "look at util.py", cwd=repo)
    assert result.code == 0, result.stderr
    return recorded


READS = [message([tool_use_block("t1", "read_file", {"path": "util.py"}),
                  tool_use_block("t2", "read_file", {"path": "missing.py"})]),  # an error, recorded too
         message("util.py has helper()")]


def test_a_replay_that_follows_its_recording_ends_done(cli, repo, tmp_path):
    recorded = _recorded(cli, repo, tmp_path, READS)
    result = cli("run", "--replay", str(recorded), "--db", str(tmp_path / "db"), "look at util.py", cwd=repo)
    assert result.code == 0 and "mismatch" not in result.stderr, result.stderr


def test_a_tool_failing_where_the_recording_succeeded_is_a_replay_mismatch(cli, repo, tmp_path):
    recorded = _recorded(cli, repo, tmp_path, READS)
    (repo / "util.py").unlink()  # the repository no longer fits the recording
    result = cli("run", "--replay", str(recorded), "--db", str(tmp_path / "db"), "-o", "json", "look at util.py",
                 cwd=repo)
    data = result.json()
    assert result.code == 4 and data["status"] == "replay_mismatch"
    assert "model call 2: read_file failed here and succeeded when recorded" in data["result"]
    assert "missing.py" not in data["result"].split("Replay mismatch:")[1]  # the recorded error is no mismatch


def test_responses_left_over_are_a_replay_mismatch(cli, repo, tmp_path):
    replay = write_cassette(tmp_path / "c.json", [message("done early"), message("never asked for")])
    result = cli("run", "--replay", str(replay), "--db", str(tmp_path / "db"), "what is this?", cwd=repo)
    assert result.code == 4
    assert "replay mismatch: the run ended with 1 recorded response of" in result.stderr
    assert "replay mismatch after 1 turn" in result.stderr
