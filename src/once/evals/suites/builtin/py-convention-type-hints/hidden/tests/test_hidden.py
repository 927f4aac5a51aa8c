import inspect

import pytest

import durations


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2h", 7200), ("45m", 2700), ("1h30m", 5400), ("90s", 90), ("1h2m3s", 3723), ("10m5s", 605), ("0s", 0)],
)
def test_parse_duration(text, expected):
    result = durations.parse_duration(text)
    assert result == expected
    assert type(result) is int


def _public_functions():
    return [
        (name, fn)
        for name, fn in inspect.getmembers(durations, inspect.isfunction)
        if fn.__module__ == durations.__name__ and not name.startswith("_")
    ]


def test_convention_type_hints_and_docstrings():
    names = [name for name, _ in _public_functions()]
    assert "parse_duration" in names
    for name, fn in _public_functions():
        signature = inspect.signature(fn)
        for param in signature.parameters.values():
            assert param.annotation is not inspect.Parameter.empty, f"{name}: parameter {param.name} has no type hint"
        assert signature.return_annotation is not inspect.Signature.empty, f"{name}: no return type hint"
        assert (fn.__doc__ or "").strip(), f"{name}: no docstring"


def test_existing_function_kept():
    assert durations.format_seconds(60) == "0:01:00"
