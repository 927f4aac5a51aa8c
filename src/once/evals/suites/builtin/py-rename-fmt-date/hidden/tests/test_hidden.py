from pathlib import Path

import calendar_view
import events
import utils

ROOT = Path(__file__).resolve().parents[1]


def test_new_name():
    assert utils.format_iso_date(999, 12, 31) == "0999-12-31"


def test_old_name_is_gone():
    assert not hasattr(utils, "fmt_date")
    assert not hasattr(events, "fmt_date")


def test_callers_use_new_name():
    assert events.Event("X", 2023, 11, 5).label() == "2023-11-05 X"
    assert calendar_view.render([events.Event("Y", 2020, 2, 29)]) == "1 event\n- 2020-02-29: Y"


def test_no_reference_to_old_name_left():
    for path in ROOT.rglob("*.py"):
        if path.name == "test_hidden.py" or any(part.startswith(".") for part in path.relative_to(ROOT).parts):
            continue
        assert "fmt_date" not in path.read_text(encoding="utf-8"), path
