from calendar_view import render
from events import Event
from utils import fmt_date


def test_fmt_date_pads():
    assert fmt_date(2024, 3, 7) == "2024-03-07"


def test_label():
    assert Event("Launch", 2025, 1, 2).label() == "2025-01-02 Launch"


def test_render_sorts_by_date():
    out = render([Event("B", 2024, 5, 1), Event("A", 2024, 1, 9)])
    assert out == "2 events\n- 2024-01-09: A\n- 2024-05-01: B"
