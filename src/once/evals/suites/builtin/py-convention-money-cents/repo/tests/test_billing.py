from billing import format_cents, line_total_cents


def test_line_total():
    assert line_total_cents(250, 3) == 750


def test_format_cents():
    assert format_cents(1234) == "$12.34"
    assert format_cents(5) == "$0.05"
