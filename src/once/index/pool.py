"""Running the index's batches on a process pool sized to the machine, or in this process.

Workers are started with "spawn": a fresh interpreter inherits no threads, locks or open
database from the parent (the app runs threads), and builds its own tree-sitter parsers.
Workers ignore SIGINT, so Ctrl-C reaches the parent alone, which cancels the batches not
started and waits for the few under way (each is small) before re-raising. A worker that
dies or raises becomes a StoreError; nothing has been written by then.

Spawn imports the program's main module again in each worker, so a script that builds a
large index keeps its top-level code under `if __name__ == "__main__":` (the `agent`
command does); otherwise the workers fail and the build stops with that StoreError.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

from once.errors import OnceError, StoreError

T = TypeVar("T")
R = TypeVar("R")

PER_WORKER = 150
"""Files to parse per extra process: below that, starting one costs more than it saves."""

_KEPT = "The index was left as it was."
_HINT = "Run it again; ONCE_INDEX_WORKERS=1 builds the index in this process only."


def cpu_count() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def pool_size(jobs: int, cpus: int, forced: int | None = None) -> int:
    """How many processes: `forced` when given (1: none), else a core per PER_WORKER files."""
    if forced is not None:
        return max(1, forced)
    return max(1, min(cpus, jobs // PER_WORKER))


def batches(items: Sequence[T], workers: int) -> list[list[T]]:
    """About eight batches per worker, so one slow file does not leave the other cores idle;
    in this process, batches of 200 so progress is still reported as the build goes."""
    size = max(8, min(64, -(-len(items) // (workers * 8)))) if workers > 1 else 200
    return [list(items[i:i + size]) for i in range(0, len(items), size)]


def map_batches(fn: Callable[[list[T]], R], work: list[list[T]], workers: int,
                on_done: Callable[[int], None] | None = None) -> list[R]:
    """`fn` over each batch, results in order; on `workers` processes when more than one."""
    if workers <= 1 or len(work) <= 1:
        out = []
        for batch in work:
            out.append(fn(batch))
            if on_done is not None:
                on_done(len(batch))
        return out
    return _map_in_pool(fn, work, workers, on_done)


def _map_in_pool(fn: Callable[[list[T]], R], work: list[list[T]], workers: int,
                 on_done: Callable[[int], None] | None) -> list[R]:
    import multiprocessing  # lazy: most refreshes are a few files, parsed in this process
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    executor = None
    try:
        with _safe_path():  # its resource tracker starts here, the workers (all of them) as map submits
            executor = ProcessPoolExecutor(min(workers, len(work)), mp_context=multiprocessing.get_context("spawn"),
                                           initializer=_ignore_sigint)
            results = executor.map(fn, work)
        out = []
        for batch, result in zip(work, results):
            out.append(result)
            if on_done is not None:
                on_done(len(batch))
        return out
    except BrokenProcessPool:
        raise StoreError(f"A process building the file index stopped unexpectedly. {_KEPT}", hint=_HINT) from None
    except OnceError:
        raise
    except Exception as exc:
        raise StoreError(f"Building the file index failed in a worker process: {type(exc).__name__}: {exc}. "
                         f"{_KEPT}", hint=_HINT) from exc
    finally:
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)


@contextmanager
def _safe_path() -> Iterator[None]:
    """A spawned worker starts as `python -c ...` in the repository, and `-c` puts the current
    folder first on sys.path: a `multiprocessing.py` (or `pickle.py`...) the repository holds would
    run, outside any sandbox, before a line of ours. PYTHONSAFEPATH keeps it off."""
    before = os.environ.get("PYTHONSAFEPATH")
    os.environ["PYTHONSAFEPATH"] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("PYTHONSAFEPATH", None)
        else:
            os.environ["PYTHONSAFEPATH"] = before


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
