"""Index build time on a large repository: this interpreter's standard library (~1,800 .py files).

The library is copied into a temporary git repository (its .py files only, without
site-packages and caches), then indexed into a fresh database (cold) and refreshed
with nothing changed (warm), then refreshed after touching one file.
Targets: cold <= 3 s per 1,000 files, warm <= 0.3 s.

Run: python benchmarks/index_build.py [RUNS]      (median of RUNS, default 3)

Measured on a shared 2-core machine (load ~2): cold 2.3-2.4 s per 1,000 files, warm 0.04 s.
"""

from __future__ import annotations

import os
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


def main() -> None:
    from once.index.index import refresh_index
    from once.index.rank import rank_files
    from once.store.db import connect
    from once.store.migrations import migrate

    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    with tempfile.TemporaryDirectory(prefix="once-index-bench-") as tmp:
        repo = Path(tmp) / "stdlib"
        files = copy_stdlib(repo)
        cold: list[float] = []
        warm: list[float] = []
        one: list[float] = []
        rank: list[float] = []
        size = 0
        for run in range(runs):
            db = Path(tmp) / f"index-{run}.db"
            conn = connect(db)
            migrate(conn)
            stats = refresh_index(conn, repo)
            cold.append(stats.seconds)
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
    print(f"warm refresh  median {statistics.median(warm):6.3f} s   (nothing changed; target <= 0.3 s)")
    print(f"one file changed     {statistics.median(one):6.3f} s")
    print(f"rank a prompt median {statistics.median(rank) * 1000:6.1f} ms")
    print(f"database size        {size / 1e6:6.1f} MB")


if __name__ == "__main__":
    main()
