"""Regular expressions compiled on first use.

Compiling every module-level pattern at import made each start pay for patterns the command
never reaches (secret rules, test-output parsers). A LazyPattern is a stand-in with the
Pattern's methods; it compiles on the first attribute asked for.
"""

from __future__ import annotations

import re
from typing import Any


class LazyPattern:
    """`re.compile(pattern, flags)`, deferred. Pass `.compiled` where the re module's own
    functions need a real Pattern (re.sub(p, ...)); methods (p.sub(...)) work directly."""

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self._source = (pattern, flags)
        _made.append(self)

    @property
    def compiled(self) -> re.Pattern[str]:
        compiled = self.__dict__.get("_compiled")
        if compiled is None:
            compiled = self.__dict__["_compiled"] = re.compile(*self._source)
        return compiled

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.compiled, name)
        self.__dict__[name] = value  # later lookups skip __getattr__
        return value

    def __repr__(self) -> str:
        return f"LazyPattern({self._source[0]!r})"


_made: list[LazyPattern] = []


def compile_all() -> None:
    """Compile every pattern made so far: for a process forked per run (once.warm), each run
    would compile them again."""
    for pattern in _made:
        pattern.compiled
