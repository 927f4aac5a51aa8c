"""What a new user sees on the command line: each message once, words that read right, hints
that fit the command."""

from __future__ import annotations

import io

from once.cli.render import ProgressRenderer
from once.events import ErrorEvent, RunFinished, ToolCall


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
    render(RunFinished(run_id="r", status="error", result="", turns=2, usage={}, cost_usd=0.0))
    shown = stream.getvalue()
    assert "bad tool call" in shown and "server gone" not in shown
