"""Where once finds the public evaluation data: beside the checkout, not beside the installed package."""

from __future__ import annotations

from pathlib import Path

from once.paths import EVAL_DATA_ENV, eval_data_dir


def test_eval_data_is_found_going_up_from_the_checkout(tmp_path: Path) -> None:
    data = tmp_path / "shared" / "eval"
    (data / "aider-chats").mkdir(parents=True)
    checkout = tmp_path / "main" / "tests"
    checkout.mkdir(parents=True)
    assert eval_data_dir(env={}, start=checkout) == data.resolve()
    assert eval_data_dir(env={}, start=tmp_path / "main") == data.resolve()


def test_the_environment_wins_and_absence_is_none(tmp_path: Path) -> None:
    lonely = tmp_path / "clone"
    lonely.mkdir()
    assert eval_data_dir(env={EVAL_DATA_ENV: str(tmp_path / "x")}, start=lonely) == tmp_path / "x"
    found = eval_data_dir(env={}, start=lonely)
    assert found is None or found.parent.name == "shared"  # only an ancestor's shared/eval, never a guess


def test_the_chat_transcript_path_follows_the_working_directory(tmp_path: Path, monkeypatch) -> None:
    from once.learn.aider_chats import eval_chat_path

    (tmp_path / "shared" / "eval" / "aider-chats").mkdir(parents=True)
    (tmp_path / "main").mkdir()
    monkeypatch.chdir(tmp_path / "main")
    monkeypatch.delenv(EVAL_DATA_ENV, raising=False)
    assert eval_chat_path() == (tmp_path / "shared" / "eval" / "aider-chats" / "chat-history.md").resolve()
