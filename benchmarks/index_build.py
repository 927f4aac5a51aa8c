"""Index build time on a large repository: this interpreter's standard library (~1,800 .py files).

The library is copied into a temporary git repository (its .py files only, without
site-packages and caches), then indexed into a fresh database (cold) and refreshed
with nothing changed (warm), then refreshed after touching one file.
Targets: cold <= 3 s per 1,000 files, warm <= 0.3 s.

Run: python benchmarks/index_build.py [RUNS]      (median of RUNS, default 3)
     ONCE_INDEX_WORKERS=1 python benchmarks/index_build.py    (the serial build, to compare)

Wall time depends on what else the machine runs; the CPU line (this process and its
workers) does much less, and the load average is printed with the figures.

Measured on a shared 2-core machine, Python 3.11, 1,790 files:
- serial, before the pool (load 2.5-3.8): cold 5.7 s per 1,000 files; the old figure
  here (2.3-2.4 s) did not reproduce.
- pool of 2, three benchmark runs under load 5-7 (the cores were taken by other jobs):
  cold 4.7, 4.9 and 7.1 s per 1,000 files, serial interleaved 6.6, 5.2 and 6.9; CPU of
  the cold build 6.2-6.6 s with the pool (3.5-3.7 s per 1,000 files; starting two
  workers costs ~0.5 s), 5.7-6.1 s serial. Of the CPU, tree-sitter's parse is ~45% and redacting the
  text the body's terms come from ~23%. Warm refresh 0.06-0.09 s, one file changed
  0.05-0.06 s. On two free cores the pool's wall time would be about the parent's
  0.4 s plus half of the workers' 6 s, ~2 s per 1,000 files.
- pool of 2 on two free cores (load ~1): cold 3.51 s for 1,790 files = 1.96 s per 1,000
  files (target met), CPU 6.54 s; warm refresh 0.044 s, one file changed 0.048 s. Of the
  cold build's wall time, 0.29 s is the write (one transaction) and 0.03 s the listing.
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path


def copy_stdlib(target: Path) -> int:
    source = Path(sysconfig.get_paths()["stdlib"])

    def ignore(folder: str, names: list[str]) -> list[str]:
        return [name for name in names if name in ("site-packages", "__pycache__")
                or (os.path.isfile(os.path.join(folder, name)) and not name.endswith(".py"))]

    shutil.copytree(source, target, ignore=ignore)
    subprocess.run(["git", "init", "-q", str(target)], check=True)
    return sum(1 for _ in target.rglob("*.py"))


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the index's workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    from once.index.index import WORKERS_ENV, refresh_index
    from once.index.pool import cpu_count, pool_size
    from once.index.rank import rank_files
    from once.store.db import connect
    from once.store.migrations import migrate

    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    forced = int(os.environ[WORKERS_ENV]) if os.environ.get(WORKERS_ENV, "").isdigit() else None
    with tempfile.TemporaryDirectory(prefix="once-index-bench-") as tmp:
        repo = Path(tmp) / "stdlib"
        files = copy_stdlib(repo)
        cold: list[float] = []
        cpu: list[float] = []
        warm: list[float] = []
        one: list[float] = []
        rank: list[float] = []
        size = 0
        for run in range(runs):
            db = Path(tmp) / f"index-{run}.db"
            conn = connect(db)
            migrate(conn)
            before = cpu_seconds()
            stats = refresh_index(conn, repo)
            cold.append(stats.seconds)
            cpu.append(cpu_seconds() - before)
            warm.extend(refresh_index(conn, repo).seconds for _ in range(3))
            target = repo / "json" / "decoder.py"
            target.write_text(target.read_text() + f"\n# touched {run}\n")
            one.append(refresh_index(conn, repo).seconds)
            for _ in range(3):
                start = time.perf_counter()
                rank_files(conn, repo, "JSONDecodeError raised by json.loads on a trailing comma: "
                                       "scanner.py py_scanstring", limit=50)
                rank.append(time.perf_counter() - start)
            conn.close()
            size = db.stat().st_size + sum(p.stat().st_size for p in Path(tmp).glob(f"index-{run}.db-*"))
    cold_s = statistics.median(cold)
    print(f"files indexed            {stats.files} ({stats.parsed} parsed; {files} .py files copied)")
    print(f"cold build    median {cold_s:6.2f} s   = {cold_s / stats.files * 1000:5.2f} s per 1,000 files"
          "   (target <= 3 s)")
    print(f"cold build CPU median {statistics.median(cpu):6.2f} s   (all processes; "
          f"{pool_size(stats.parsed, cpu_count(), forced)} process(es) on {cpu_count()} cores)")
    print(f"warm refresh  median {statistics.median(warm):6.3f} s   (nothing changed; target <= 0.3 s)")
    print(f"one file changed     {statistics.median(one):6.3f} s")
    print(f"rank a prompt median {statistics.median(rank) * 1000:6.1f} ms")
    print(f"database size        {size / 1e6:6.1f} MB")
    print(f"load average         {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
