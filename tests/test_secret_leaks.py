"""Ways a secret slipped past redaction or the commit guard, each reproduced before it was closed:
an allowlist comment the model writes itself, a commit message, a secret used as a key or under a
made-up base64 block, output cut through a secret, an approval note, an imported entry's names,
a file name in the index."""

from __future__ import annotations

import json
import string
from pathlib import Path

import pytest

from once.safety.redact import cut_before_secret, redact, redact_obj, start_after_secret
from once.safety.secrets import new_secret_kinds
from tests.test_secrets import fake

TOKEN = "ghp_" + fake(36)
SLACK = "xoxb-" + fake(11, string.digits) + "-" + fake(24)


@pytest.mark.parametrize("marker", ["  # pragma: allowlist secret", "  # gitleaks:allow"])
def test_an_allowlist_comment_beside_a_new_secret_does_not_let_it_into_a_commit(marker: str) -> None:
    new = f'TOKEN = "{TOKEN}"{marker}\n'.encode()
    assert new_secret_kinds(None, new) == ["github_token"]
    assert new_secret_kinds(b"# pragma: allowlist nextline secret\n", b"# pragma: allowlist nextline secret\n"
                            + f'KEY = "{TOKEN}"\n'.encode()) == ["github_token"]
    assert new_secret_kinds(new, new) == []  # already committed: not new


def test_a_commit_message_holds_no_secret() -> None:
    from once.vcs.messages import format_commit_message

    message = format_commit_message(f"use {TOKEN} as the staging password", ["a.py"], "r-1", "m")
    assert TOKEN not in message and "[REDACTED:" in message.splitlines()[0]


def test_keys_and_made_up_base64_blocks_are_redacted_real_ones_kept() -> None:
    stored = json.dumps(redact_obj({"headers": {f"Authorization: token {TOKEN}": True},
                                    "meta": {"type": "base64", "data": SLACK}}))
    assert TOKEN not in stored and SLACK not in stored
    image = {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgoAAAANSUhEUgAA"}
    assert redact_obj(image) == image


def test_output_is_never_cut_through_a_secret() -> None:
    text = "x" * 100 + f'\npassword = "Tr0ub4dor3horseQ7vXz9"\n' + "y" * 100
    inside = text.index("Tr0ub") + 5
    head_end = cut_before_secret(text, inside)
    assert head_end == text.index("Tr0ub") and "Tr0ub" not in text[:head_end]
    tail_start = start_after_secret(text, inside)
    assert text[tail_start:].startswith('"\n')
    # Cut from its closing quote, or from its name, the rest would not be recognised either.
    closing = text.index('"\n', inside)
    assert cut_before_secret(text, closing) == text.index("Tr0ub")
    assert start_after_secret(text, text.index("password") + 3) == closing


def test_trimmed_command_output_and_logged_results_keep_no_piece_of_a_secret() -> None:
    from once.agent.turn import EVENT_OUTPUT_CHARS, _trim_for_log
    from once.tools.command import MAX_OUTPUT_CHARS, trim_output

    half = MAX_OUTPUT_CHARS // 2
    body = "a" * (half - 11) + " " + TOKEN + " " + "b" * (MAX_OUTPUT_CHARS * 2)
    trimmed = trim_output(body)
    assert TOKEN[:20] not in trimmed and "characters trimmed" in trimmed
    logged = _trim_for_log("c" * (EVENT_OUTPUT_CHARS - 11) + " " + TOKEN + " " + "d" * 100)
    assert TOKEN[:8] not in logged and "more characters" in logged
    assert redact(logged) == logged  # nothing left for storage to redact, and nothing half-kept


def test_an_imported_entry_cannot_carry_a_secret_in_its_names(tmp_path: Path) -> None:
    from once.errors import UsageError
    from once.learn.bank import Bank
    from once.learn.markdown_io import import_files
    from once.store.store import Store

    def entry(**front: str) -> Path:
        path = tmp_path / f"{len(list(tmp_path.iterdir()))}.md"
        fields = {"id": f"k-entry{len(list(tmp_path.iterdir()))}", "title": "t", "scope": "global", **front}
        header = "\n".join(f"{k}: {v}" for k, v in fields.items())
        path.write_text(f"---\n{header}\n---\n\n## Description\nd\n\n## Knowledge\nk\n")
        return path

    with Store(tmp_path / "db") as store:
        bank = Bank(store.conn)
        for bad in ({"kind": TOKEN}, {"id": "k-AKIA" + fake(16, string.ascii_uppercase + "234567")}):
            with pytest.raises(UsageError):
                import_files(bank, [entry(**bad)], "")
        import_files(bank, [entry(model=SLACK, tool_version=TOKEN)], "")
        dump = "\n".join(store.conn.iterdump())
    assert TOKEN not in dump and SLACK not in dump


def test_a_file_whose_name_holds_a_secret_is_not_indexed(tmp_path: Path) -> None:
    from once.index.index import refresh_index
    from once.store.store import Store
    from tests.conftest import make_repo

    repo = make_repo(tmp_path / "repo", {f"keys/{TOKEN}.txt": "x\n", "app.py": "def f():\n    pass\n"})
    with Store(tmp_path / "db") as store:
        refresh_index(store.conn, repo, workers=1)
        dump = "\n".join(store.conn.iterdump())
        paths = [row[0] for row in store.conn.execute("SELECT path FROM file_index")]
    assert TOKEN not in dump and paths == ["app.py"]
