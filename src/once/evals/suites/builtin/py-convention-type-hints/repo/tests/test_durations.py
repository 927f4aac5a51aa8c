from durations import format_seconds


def test_format_seconds():
    assert format_seconds(3723) == "1:02:03"
    assert format_seconds(59) == "0:00:59"
