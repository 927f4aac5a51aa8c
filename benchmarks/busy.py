"""Synthetic load for the benchmarks that measure under it: one core kept busy by a child process."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator


@contextlib.contextmanager
def busy_core(on: bool) -> Iterator[None]:
    """A child process spinning one core for the duration (synthetic load), if `on`."""
    if not on:
        yield
        return
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.2)  # let it get going before the clock starts
        yield
    finally:
        spinner.kill()
        spinner.wait()
