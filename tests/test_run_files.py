"""Two-stage file selection in a run: the index ranks, the small model (if any) picks."""

from __future__ import annotations

import json

from tests.conftest import make_repo, write_cassette
from tests.fakes.anthropic_server import FakeAnthropicServer, by_model, main_requests, message

FILES = {
    "app/billing.py": '"""Invoices and payments."""\n\n\ndef compute_invoice_total(lines):\n    return sum(lines)\n',
    "app/users.py": '"""User accounts."""\n\n\nclass UserService:\n    def rename(self, user, name):\n        user.name = name\n',
    "app/mail.py": '"""Sending mail."""\n\n\ndef send_welcome(user):\n    return f"hi {user}"\n',
    "docs/guide.md": "# Guide\n\nHow to run the app.\n",
}


def test_the_file_named_by_an_identifier_goes_into_the_first_call_offline(cli, tmp_path):
    repo = make_repo(tmp_path / "r", FILES)
    cassette = write_cassette(tmp_path / "c.json", [message("ok")])
    result = cli("run", "--replay", str(cassette), "--db", str(tmp_path / "db"), "-o", "stream-json",
                 "compute_invoice_total ignores discounts", cwd=repo)
    assert result.code == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    (selected,) = [e for e in events if e["type"] == "files_selected"]
    assert selected["files"][0] == "app/billing.py" and selected["method"] == "bm25"


def test_the_small_model_picks_from_the_candidates(cli, tmp_path):
    repo = make_repo(tmp_path / "r", FILES)
    main = write_cassette(tmp_path / "main.json", [message("ok")])
    # the small model answers the skill router first, then the file picker
    small = write_cassette(tmp_path / "small.json", [message("[]"), message('["app/mail.py"]')])
    result = cli("run", "--replay", str(main), "--replay-small", str(small), "--db", str(tmp_path / "db"),
                 "-o", "stream-json", "the welcome message is rude", cwd=repo)
    assert result.code == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    (selected,) = [e for e in events if e["type"] == "files_selected"]
    assert selected == {**selected, "files": ["app/mail.py"], "method": "small_model"}


def test_selected_files_are_in_the_first_message_with_line_numbers(cli, tmp_path, monkeypatch):
    repo = make_repo(tmp_path / "r", FILES)
    with FakeAnthropicServer([], fallback=by_model([message("ok"), message("ok")])) as server:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-0000")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)
        result = cli("run", "--db", str(tmp_path / "db"), "UserService.rename must strip spaces", cwd=repo)
        request = main_requests(server)[0]
    assert result.code == 1, "an answer of 'ok' that changes nothing leaves the run incomplete"
    first = request.body["messages"][0]["content"]
    assert "app/users.py" in first[0]["text"] and "class UserService" in first[0]["text"]
    assert first[-1]["text"] == "UserService.rename must strip spaces"


def test_agent_files_explains_the_choice(cli, tmp_path):
    repo = make_repo(tmp_path / "r", FILES)
    result = cli("files", "--db", str(tmp_path / "db"), "--json", "send_welcome crashes", cwd=repo)
    assert result.code == 0, result.stderr
    data = result.json()
    top = data[0] if isinstance(data, list) else data["candidates"][0]
    assert top["path"] == "app/mail.py" and top["reasons"]


def test_small_model_calls_count_toward_the_runs_usage(cli, tmp_path):
    repo = make_repo(tmp_path / "r", FILES)
    main = write_cassette(tmp_path / "main.json", [message("ok", usage={"input_tokens": 100, "output_tokens": 10})])
    small = write_cassette(tmp_path / "small.json", [
        message("[]", usage={"input_tokens": 7, "output_tokens": 1}),
        message('["app/mail.py"]', usage={"input_tokens": 9, "output_tokens": 2})])
    result = cli("run", "--replay", str(main), "--replay-small", str(small), "--db", str(tmp_path / "db"),
                 "-o", "json", "the welcome message is rude", cwd=repo)
    usage = result.json()["usage"]
    assert usage["input_tokens"] == 116 and usage["output_tokens"] == 13
    assert usage["cost_usd"] == 0  # replayed: tokens count, nothing was billed
