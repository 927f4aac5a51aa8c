"""Edits landing through a writer (an editor that saves files itself): one file at a time,
checked on disk, all of a turn's files or none."""

from __future__ import annotations

from pathlib import Path

import pytest

from once.tools.workspace import FileChange, Workspace
from once.tools.write_through import LandingFailed


class Editor:
    """Saves what it is given, like an editor's `fs/write_text_file`; holds buffers of its own."""

    def __init__(self, buffers: dict[Path, bytes] | None = None, refuse: set[str] | None = None,
                 saves: bool = True) -> None:
        self.buffers = dict(buffers or {})
        self.refuse = refuse or set()
        self.saves = saves
        self.writes: list[tuple[str, bytes]] = []

    def write(self, path: Path, data: bytes) -> None:
        if path.name in self.refuse:
            raise OSError("the editor did not write it (read-only buffer)")
        self.writes.append((path.name, data))
        self.buffers[path] = data
        if self.saves:
            path.write_bytes(data)

    def read(self, path: Path) -> bytes | None:
        return self.buffers.get(path)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "a.py").write_text("a = 1\n")
    (tmp_path / "b.py").write_text("b = 1\n")
    return tmp_path


def workspace(root: Path, editor: Editor) -> Workspace:
    ws = Workspace(root)
    ws.writer, ws.reader = editor.write, editor.read
    return ws


def test_edits_land_through_the_writer_and_reads_see_them(root: Path) -> None:
    editor = Editor()
    ws = workspace(root, editor)
    ws.stage("a.py", b"a = 2\n")
    ws.stage("new/c.py", b"c = 1\n")
    assert ws.flush() == [FileChange("a.py", "modified"), FileChange("new/c.py", "created")]
    assert editor.writes == [("a.py", b"a = 2\n"), ("c.py", b"c = 1\n")]
    assert (root / "new" / "c.py").read_text() == "c = 1\n"  # the folder made for it
    assert ws.read_bytes("a.py") == b"a = 2\n"


def test_a_failed_write_puts_back_what_the_editor_held_and_removes_created_files(root: Path) -> None:
    unsaved = b"a = 1  # typed, not saved\n"
    editor = Editor({root / "a.py": unsaved}, refuse={"b.py"})
    ws = workspace(root, editor)
    ws.stage("a.py", b"a = 2  # typed, not saved\n")
    ws.stage("c.py", b"c = 1\n")
    ws.stage("b.py", b"b = 2\n")
    with pytest.raises(LandingFailed) as failed:
        ws.flush()
    assert str(failed.value) == ("b.py: the editor did not write it (read-only buffer); "
                                 "the files written before it were put back")
    assert failed.value.kept == []
    assert editor.writes[-1] == ("a.py", unsaved)  # the user's unsaved text, not the disk's
    assert editor.buffers[root / "a.py"] == unsaved
    assert not (root / "c.py").exists()
    assert (root / "b.py").read_text() == "b = 1\n"
    assert ws.take_turn_changes() == []


def test_an_editor_that_only_changes_its_buffer_has_not_landed_the_edit(root: Path) -> None:
    editor = Editor(saves=False)
    ws = workspace(root, editor)
    ws.stage("a.py", b"a = 2\n")
    with pytest.raises(LandingFailed, match="the file on disk does not hold it"):
        ws.flush()
    assert editor.buffers[root / "a.py"] == b"a = 1\n"  # its buffer is put back too
    assert (root / "a.py").read_text() == "a = 1\n"
    assert ws.take_turn_changes() == []


def test_a_file_that_cannot_be_put_back_is_named(root: Path) -> None:
    editor = Editor()
    ws = workspace(root, editor)
    ws.stage("a.py", b"a = 2\n")
    ws.stage("b.py", b"b = 2\n")
    editor.refuse = {"b.py"}
    original = editor.write

    def write_once(path: Path, data: bytes) -> None:
        if path.name == "a.py" and editor.writes:
            raise OSError("gone")  # the editor closed between the write and the put-back
        original(path, data)

    ws.writer = write_once
    with pytest.raises(LandingFailed) as failed:
        ws.flush()
    assert failed.value.kept == ["a.py"]
    assert "a.py could not be put back and hold the new content" in str(failed.value)
