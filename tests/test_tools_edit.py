"""edit_file, write_file and the pure matching logic behind edit_file."""

from __future__ import annotations

from pathlib import Path

import pytest

from once.tools.base import ToolContext
from once.tools.edit import edit_file, write_file
from once.tools.matching import apply_edit, closest_region, reindent
from once.tools.read import read_file
from once.tools.workspace import Workspace


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path


def ctx(root: Path) -> ToolContext:
    return ToolContext(workspace=Workspace(root))


PY = "def f(x):\n    if x:\n        return 1\n    return 2\n"


# ---- apply_edit (pure) ------------------------------------------------------------


def test_unique_exact_match() -> None:
    result = apply_edit(PY, "return 1", "return 10")
    assert result.new_text == PY.replace("return 1", "return 10")
    assert (result.count, result.lines, result.fuzzy, result.error) == (1, [3], False, None)


def test_several_matches_without_replace_all_is_an_error() -> None:
    result = apply_edit("a = 1\nb = 1\nc = 1\n", "= 1", "= 2")
    assert result.new_text is None
    assert result.error is not None and "3 times" in result.error and "lines 1, 2, 3" in result.error
    assert "replace_all" in result.error


def test_replace_all_reports_lines_in_the_new_text() -> None:
    result = apply_edit("x\nold\nold\n", "old", "new\nline", replace_all=True)
    assert result.new_text == "x\nnew\nline\nnew\nline\n"
    assert (result.count, result.lines) == (2, [2, 4])


@pytest.mark.parametrize(("old", "new", "needle"), [("", "x", "empty"), ("same", "same", "identical")])
def test_empty_or_identical_old_string(old: str, new: str, needle: str) -> None:
    result = apply_edit("same text", old, new)
    assert result.new_text is None and result.error is not None and needle in result.error


def test_whitespace_tolerant_fallback_reindents() -> None:
    # The model dropped the indentation and added a trailing space.
    result = apply_edit(PY, "if x: \n    return 1", "if x and y:\n    return 11")
    assert result.fuzzy and result.count == 1 and result.lines == [2]
    assert result.new_text == "def f(x):\n    if x and y:\n        return 11\n    return 2\n"


def test_fallback_with_tabs_in_the_file() -> None:
    text = "def f():\n\tif a:\n\t\tgo()\n"
    result = apply_edit(text, "    if a:\n        go()\n", "    if b:\n        stop()\n")
    assert result.fuzzy
    assert result.new_text == "def f():\n\tif b:\n\t\tstop()\n"


def test_fallback_when_the_model_dropped_all_indentation() -> None:
    text = "def f():\n\tif a:\n\t\tgo()\n"
    result = apply_edit(text, "if a:\ngo()", "if b:\n\tstop()")
    assert result.new_text == "def f():\n\tif b:\n\t\tstop()\n"


def test_fallback_deleting_whole_lines() -> None:
    result = apply_edit("a\n  b\n  c\nd", "b\nc\n", "")
    assert result.new_text == "a\nd" and result.fuzzy


def test_fallback_keeps_a_missing_final_newline() -> None:
    result = apply_edit("a\n  b", " b\n", " c\n")
    assert result.new_text == "a\n  c"


def test_fallback_with_several_regions_is_an_error() -> None:
    result = apply_edit("  x = 1\n    x = 1\n", "x = 1 ", "x = 2")
    assert result.new_text is None and result.error is not None and "2 places" in result.error


def test_did_you_mean_shows_the_closest_region_with_numbers() -> None:
    text = "".join(f"unrelated_{i} = {i}\n" for i in range(30)) + "def compute_total(items):\n    pass\n"
    result = apply_edit(text, "def compute_totals(item):\n    pass", "x")
    assert result.new_text is None and result.error is not None
    assert "Did you mean lines 31-32" in result.error
    assert "    31\tdef compute_total(items):" in result.error


def test_line_number_prefixes_are_pointed_out() -> None:
    result = apply_edit("alpha\nbeta\n", "     1\talpha\n     2\tbeta", "x")
    assert result.error is not None and "line-number prefixes" in result.error


def test_closest_region_on_a_short_file() -> None:
    region = closest_region("only\n", "one\ntwo\nthree")
    assert region is not None and region[:2] == (1, ["only"])
    assert closest_region("", "x") is None


def test_reindent() -> None:
    assert reindent("a\n  b\n\nc", "", "    ") == "    a\n      b\n\n    c"
    assert reindent("    a\n      b", "    ", "  ") == "  a\n    b"
    assert reindent("  a\n    b", "  ", "\t") == "\ta\n\t  b"
    assert reindent("  a\n    b", "  ", "\t", {"    ": "\t\t"}) == "\ta\n\t\tb"


# ---- the tools --------------------------------------------------------------------


def test_edit_is_staged_visible_to_read_and_lands_on_flush(root: Path) -> None:
    (root / "m.py").write_text(PY)
    c = ctx(root)
    out = edit_file(c, "m.py", "return 2", "return 20")
    assert not out.is_error
    assert out.text.startswith("Edited m.py: 1 replacement at line 4.")
    assert "     4\t    return 20" in out.text  # the snippet of the result
    assert (root / "m.py").read_text() == PY  # not on disk yet
    assert "     4\t    return 20" in read_file(c, "m.py").text
    # A second edit in the same turn builds on the first.
    assert not edit_file(c, "m.py", "return 20", "return 200").is_error
    changes = c.workspace.flush()
    assert [(ch.path, ch.action) for ch in changes] == [("m.py", "modified")]
    assert (root / "m.py").read_text() == PY.replace("return 2", "return 200")


def test_edit_errors_name_the_count_and_leave_the_file(root: Path) -> None:
    (root / "m.py").write_text("x = 1\nx = 1\n")
    c = ctx(root)
    out = edit_file(c, "m.py", "x = 1", "x = 2")
    assert out.is_error and "2 times" in out.text and "lines 1, 2" in out.text
    assert c.workspace.pending_paths() == []
    done = edit_file(c, "m.py", "x = 1", "x = 2", replace_all=True)
    assert done.text.startswith("Edited m.py: 2 replacements at lines 1, 2.")


def test_edit_fuzzy_result_is_flagged_in_the_message(root: Path) -> None:
    (root / "m.py").write_text(PY)
    c = ctx(root)
    out = edit_file(c, "m.py", "if x:\n    return 1", "if not x:\n    return 1")
    assert not out.is_error and "whitespace" in out.text
    assert c.workspace.read_bytes("m.py").decode() == PY.replace("if x:", "if not x:")


def test_edit_did_you_mean_through_the_tool(root: Path) -> None:
    (root / "m.py").write_text(PY)
    out = edit_file(ctx(root), "m.py", "retrun 2", "return 4")
    assert out.is_error and "'m.py'" in out.text
    assert "Did you mean line 4" in out.text and "     4\t    return 2" in out.text


def test_edit_preserves_crlf_and_missing_final_newline(root: Path) -> None:
    (root / "w.txt").write_bytes(b"one\r\ntwo\r\nthree")
    c = ctx(root)
    out = edit_file(c, "w.txt", "two\nthree", "2\nthree and more")
    assert not out.is_error
    assert c.workspace.read_bytes("w.txt") == b"one\r\n2\r\nthree and more"
    # read_file shows the lines without the CR, and the model's \r\n is accepted too.
    assert read_file(c, "w.txt").text.splitlines()[1] == "     2\t2"
    assert not edit_file(c, "w.txt", "one\r\n2", "1\r\n2").is_error
    c.workspace.flush()
    assert (root / "w.txt").read_bytes() == b"1\r\n2\r\nthree and more"


def test_edit_mixed_line_endings_are_left_alone(root: Path) -> None:
    (root / "m.txt").write_bytes(b"a\r\nb\nc\n")
    c = ctx(root)
    assert not edit_file(c, "m.txt", "b", "B").is_error
    assert c.workspace.read_bytes("m.txt") == b"a\r\nB\nc\n"


def test_edit_missing_file_points_to_write_file(root: Path) -> None:
    out = edit_file(ctx(root), "nope.py", "a", "b")
    assert out.is_error and "write_file" in out.text


def test_edit_refuses_binary(root: Path) -> None:
    (root / "b.bin").write_bytes(b"\x00\x01abc")
    out = edit_file(ctx(root), "b.bin", "abc", "xyz")
    assert out.is_error and "binary" in out.text


def test_write_file_creates_directories_and_counts_lines(root: Path) -> None:
    c = ctx(root)
    out = write_file(c, "deep/er/new.py", "a\nb\nc\n")
    assert (out.is_error, out.text) == (False, "Created deep/er/new.py (3 lines).")
    assert not (root / "deep").exists()  # staged only
    assert write_file(c, "deep/er/new.py", "one line").text == "Overwrote deep/er/new.py (1 line)."
    c.workspace.flush()
    assert (root / "deep/er/new.py").read_text() == "one line"


def test_write_file_refuses_a_file_in_the_way_and_directories(root: Path) -> None:
    (root / "a.txt").write_text("x")
    (root / "d").mkdir()
    c = ctx(root)
    blocked = write_file(c, "a.txt/b.txt", "x")
    assert blocked.is_error and "'a.txt' is a file" in blocked.text
    folder = write_file(c, "d", "x")
    assert folder.is_error and "directory" in folder.text
    assert c.workspace.pending_paths() == []
