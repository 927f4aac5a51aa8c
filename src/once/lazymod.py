"""Names a package re-exports from submodules that a run may never need, imported on first use.

`from once.vcs import undo_run` still works: Python asks the package's `__getattr__` (PEP 562)
for a name it does not hold yet, which imports the submodule then.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable


def lazy_exports(namespace: dict[str, Any], sources: dict[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` for `namespace` (a package's globals()) that imports each name in
    `sources` from the submodule named there, and keeps it."""
    def __getattr__(name: str) -> Any:
        module = sources.get(name)
        if module is None:
            raise AttributeError(f"module {namespace['__name__']!r} has no attribute {name!r}")
        value = namespace[name] = getattr(importlib.import_module(module), name)
        return value

    return __getattr__
