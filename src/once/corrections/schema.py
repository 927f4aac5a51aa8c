"""Tables of this feature (one migration; never edit it once it has shipped)."""

from __future__ import annotations

import sqlite3


def m007_corrections(conn: sqlite3.Connection) -> None:
    pass  # filled in by the feature's first change
