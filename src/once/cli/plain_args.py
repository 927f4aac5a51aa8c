"""Reading the plain forms of a command's options without the full parser (see launch.py).

Each option spelled as the help lists it (`--name value`, `--name=value`, `-x value`, a flag),
given once; up to `positionals` arguments that do not start with `-` (or are `-` itself).
Anything else returns None, and the full parser decides, with its own messages.
"""

from __future__ import annotations

from typing import Callable


def scan(args: list[str], value_options: dict[str, str], flag_options: dict[str, str],
         convert: Callable[[str, str], object], positionals: int = 0) -> tuple[dict[str, object], list[str]] | None:
    """The options' values by field (`convert(field, text)`; None: it does not convert) and the
    positional arguments, or None when `args` hold anything else."""
    values: dict[str, object] = {}
    given: list[str] = []
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if arg == "-" or not arg.startswith("-"):
            given.append(arg)
            if len(given) > positionals:
                return None  # one too many: the full parser says so
            continue
        name, eq, inline = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if name in flag_options and not eq:
            field = flag_options[name]
            value: object = True
        elif name in value_options:
            field = value_options[name]
            if not eq:
                if not rest or rest[0].startswith("-"):
                    return None  # a missing value: the full parser says what is wrong
                inline = rest.pop(0)
            if not inline:
                return None
            value = convert(field, inline)
            if value is None:
                return None  # not a valid value: the full parser says so
        else:
            return None
        if field in values:
            return None  # given twice: leave the rules for that to the full parser
        values[field] = value
    return values, given
