"""Properties of edits: exactly `str.replace`, a flagged fuzzy edit, or an error that changes nothing."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from once.tools.base import ToolContext
from once.tools.edit import edit_file
from once.tools.matching import apply_edit
from once.tools.workspace import Workspace

# A small alphabet so that substrings repeat and whitespace differences are common.
TEXT = st.text(alphabet="ab \t\n\rx", max_size=60)
TEXT_NO_CR = st.text(alphabet="ab \t\nx", max_size=60)
LINE = st.text(alphabet="ab \tx", max_size=8)
PROPERTY = settings(max_examples=200, deadline=None)


def draw_old(data: st.DataObject, text: str, any_text: st.SearchStrategy[str]) -> str:
    """Often a real substring of `text` (so exact matches happen), sometimes anything."""
    if text and data.draw(st.booleans()):
        start = data.draw(st.integers(0, len(text) - 1))
        end = data.draw(st.integers(start, len(text)))
        return text[start:end]
    return data.draw(any_text)


@PROPERTY
@given(st.data())
def test_apply_edit_is_replace_or_fuzzy_or_error(data: st.DataObject) -> None:
    text = data.draw(TEXT)
    old = draw_old(data, text, TEXT)
    new = data.draw(TEXT)
    replace_all = data.draw(st.booleans())
    result = apply_edit(text, old, new, replace_all)
    occurrences = text.count(old) if old else 0
    if result.new_text is None:
        assert result.error
        assert old == "" or old == new or occurrences == 0 or (occurrences > 1 and not replace_all)
    elif result.fuzzy:
        # Only when there is no exact match, and then one region of whole lines.
        assert occurrences == 0 and result.count == 1 and result.error is None
        assert result.new_text != text
        first = result.lines[0]
        assert result.new_text.split("\n")[:first - 1] == text.split("\n")[:first - 1]
    else:
        assert old and old != new
        assert occurrences == 1 or (replace_all and occurrences > 1)
        assert result.new_text == text.replace(old, new)
        assert result.count == occurrences == len(result.lines)
        assert result.error is None


def run_tool(content: bytes, old: str, new: str, replace_all: bool) -> tuple[bool, bytes]:
    """(is_error, bytes on disk after the edit landed)."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "f.txt").write_bytes(content)
        ctx = ToolContext(workspace=Workspace(root))
        out = edit_file(ctx, "f.txt", old, new, replace_all)
        ctx.workspace.flush()
        return out.is_error, (root / "f.txt").read_bytes()


@PROPERTY
@given(st.data())
def test_edit_tool_leaves_the_replacement_or_the_original(data: st.DataObject) -> None:
    text = data.draw(TEXT_NO_CR)
    old = draw_old(data, text, TEXT_NO_CR)
    new = data.draw(TEXT_NO_CR)
    replace_all = data.draw(st.booleans())
    is_error, after = run_tool(text.encode(), old, new, replace_all)
    expected = apply_edit(text, old, new, replace_all)
    if is_error:
        assert after == text.encode() and expected.new_text is None
    else:
        assert expected.new_text is not None and after == expected.new_text.encode()
        if not expected.fuzzy:
            assert after == text.replace(old, new).encode()


@settings(max_examples=100, deadline=None)
@given(st.lists(LINE, max_size=8), st.booleans(), st.data())
def test_crlf_files_stay_crlf(lines: list[str], final_newline: bool, data: st.DataObject) -> None:
    text = "\n".join(lines) + ("\n" if final_newline and lines else "")
    old = draw_old(data, text, TEXT_NO_CR)
    new = data.draw(TEXT_NO_CR)
    crlf = text.replace("\n", "\r\n").encode()
    is_error, after = run_tool(crlf, old, new, False)
    expected = apply_edit(text, old, new)
    if is_error:
        assert after == crlf
    else:
        assert expected.new_text is not None
        # A file without any line break has no line ending to keep.
        ending = "\r\n" if "\n" in text else "\n"
        assert after == expected.new_text.replace("\n", ending).encode()
