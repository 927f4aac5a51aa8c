"""Commit message helpers: summaries, subject truncation, trailers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from once.vcs.messages import (
    format_commit_message,
    format_revert_message,
    format_wip_message,
    is_agent_commit,
    is_wip_commit,
    parse_trailers,
    run_of,
    summary_from_text,
    truncate_subject,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I'll fix the off-by-one in `parse()`. Then run the tests.", "fix the off-by-one in parse()"),
        ("Now I will update the README to mention --json.", "update the README to mention --json"),
        ("**Let me** look at the CLI:", "look at the CLI"),
        ("Sure! Let me add a retry to fetch.", "add a retry to fetch"),
        ("```python\nx = 1\n```\n## Plan\n- Add retry logic to `fetch()`", "add retry logic to fetch()"),
        ("I've fixed the [parser](src/parse.py).", "fixed the parser"),
        ("JSON output is now sorted by key.", "JSON output is now sorted by key"),
        ("First-class support for TOML", "first-class support for TOML"),
        ("> Renamed Config to Settings", "renamed Config to Settings"),
    ],
)
def test_summary_from_text(text: str, expected: str) -> None:
    assert summary_from_text(text, ["a.py"]) == expected


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (["src/once/cli.py"], "edit cli.py"),
        (["src/cli.py", "src/util.py"], "edit cli.py, util.py"),
        ([f"f{i}.py" for i in range(5)], "edit 5 files"),
        ([], "edit files"),
    ],
)
def test_summary_falls_back_to_files(files: list[str], expected: str) -> None:
    assert summary_from_text("", files) == expected
    assert summary_from_text("Done.\n\n```\ncode only\n```", files) == expected


def test_format_commit_message_layout() -> None:
    message = format_commit_message("add retries", ["a.py", "b.py"], "r-1", "claude-test")
    assert message == (
        "agent: add retries\n\nFiles:\n- a.py\n- b.py\n\nAgent-Run: r-1\nAgent-Model: claude-test\n"
    )


def test_long_summary_is_truncated_on_a_word_boundary() -> None:
    summary = "rework the configuration loader so that project settings override user settings everywhere"
    subject = format_commit_message(summary, ["a.py"], "r-1", "m").split("\n", 1)[0]
    assert len(subject) <= 72
    assert subject.endswith("…")
    assert subject.startswith("agent: rework the configuration loader")
    words = subject[len("agent: ") : -1].split(" ")
    assert all(word in summary.split(" ") for word in words)


def test_multiline_summary_becomes_one_line() -> None:
    subject = format_commit_message("fix\nthe   bug", ["a.py"], "r-1", "m").split("\n", 1)[0]
    assert subject == "agent: fix the bug"


@given(st.text(min_size=0, max_size=300))
def test_subject_is_always_one_short_line(summary: str) -> None:
    message = format_commit_message(summary, ["x.py"], "r-1", "m")
    subject = message.split("\n", 1)[0]
    assert len(subject) <= 72
    assert subject.startswith("agent: ")
    assert parse_trailers(message) == {"Agent-Run": "r-1", "Agent-Model": "m"}


def test_truncate_keeps_short_subjects() -> None:
    assert truncate_subject("agent: short") == "agent: short"
    assert len(truncate_subject("agent: " + "x" * 100)) == 72


def test_parse_trailers_and_agent_detection() -> None:
    agent = format_commit_message("s", ["a.py"], "r-7", "m")
    wip = format_wip_message(["a.py"], "r-7")
    revert = format_revert_message("agent: s", "abc123", "r-7")
    assert run_of(agent) == "r-7" and run_of(wip) == "r-7" and run_of(revert) is None
    assert is_agent_commit(agent) and not is_wip_commit(agent)
    assert is_wip_commit(wip) and not is_agent_commit(wip)
    assert not is_agent_commit(revert)
    assert parse_trailers(wip) == {"Agent-Run": "r-7", "Agent-Wip": "true"}


def test_parse_trailers_ignores_non_trailer_text() -> None:
    assert parse_trailers("agent: subject only") == {}
    assert parse_trailers("fix: thing\n\nsome prose here\nAgent-Run: r-1") == {}
    assert not is_agent_commit("user commit\n\nmentions Agent-Run: r-1 in prose")
    assert parse_trailers("s\n\nbody\n\nagent-run: r-2\nSigned-off-by: A <a@b>\n") == {
        "agent-run": "r-2",
        "Signed-off-by": "A <a@b>",
    }
    assert is_agent_commit("s\n\nagent-run: r-2\n")
