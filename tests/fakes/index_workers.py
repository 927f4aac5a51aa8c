"""Batch functions for the index's process pool that fail the ways a worker can fail.

They live in an importable module because spawned workers look functions up by name.
"""

from __future__ import annotations

import os
import time


def explode(batch: list[object]) -> list[object]:
    raise ValueError(f"cannot parse {batch!r}")


def explode_batch(root: str, batch: list[object]) -> list[object]:
    """Stands in for `look_batch(root, jobs)`."""
    raise ValueError(f"cannot parse a file under {os.path.basename(root)}")


def interrupt_batch(root: str, batch: list[object]) -> list[object]:
    raise KeyboardInterrupt


def die(batch: list[object]) -> list[object]:
    os._exit(3)  # a crash: no exception, no result, the process is gone


def slow(batch: list[int]) -> list[int]:
    time.sleep(0.5)
    return batch
