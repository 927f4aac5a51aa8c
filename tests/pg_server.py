"""A real PostgreSQL for the team tests: initdb + pg_ctl on a private port and data directory,
stopped at the end. Run as the `postgres` user when the tests run as root (the server refuses
root). Skips, saying why, where PostgreSQL or psycopg is not installed (`.ci/run` installs it)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass
class PgServer:
    url: str
    """postgresql:// URL of the `postgres` database, for creating per-test databases."""
    data: Path
    pg_ctl: str
    as_user: list[str]
    port: int

    def database_url(self, name: str) -> str:
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def stop(self, mode: str = "fast") -> None:
        subprocess.run([*self.as_user, self.pg_ctl, "-D", str(self.data), "-m", mode, "-w", "stop"],
                       capture_output=True, timeout=60, check=False)

    def start(self) -> None:
        log = self.data.parent / "server.log"
        options = f"-p {self.port} -k {self.data.parent} -c listen_addresses=127.0.0.1 -c fsync=off"
        done = subprocess.run([*self.as_user, self.pg_ctl, "-D", str(self.data), "-o", options, "-l", str(log),
                               "-w", "-t", "60", "start"], capture_output=True, text=True, timeout=90, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"PostgreSQL did not start: {done.stderr or done.stdout}\n{_tail(log)}")


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-2000:] if path.exists() else ""


def find_binaries() -> tuple[str, str] | None:
    for folder in [None, *sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]:
        initdb = shutil.which("initdb", path=folder)
        pg_ctl = shutil.which("pg_ctl", path=folder)
        if initdb and pg_ctl:
            return initdb, pg_ctl
    return None


def why_not() -> str | None:
    """Why the team tests cannot run here, or None."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install 'psycopg[binary]')"
    if find_binaries() is None:
        return "PostgreSQL is not installed (apt install postgresql)"
    if os.geteuid() == 0 and not _has_user("postgres"):
        return "running as root and there is no postgres user to run the server as"
    return None


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server() -> PgServer:
    initdb, pg_ctl = find_binaries() or ("initdb", "pg_ctl")
    base = Path(tempfile.mkdtemp(prefix="once-pg-"))
    data = base / "data"
    as_user: list[str] = []
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        os.chown(base, entry.pw_uid, entry.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    done = subprocess.run([*as_user, initdb, "-D", str(data), "-U", "once", "--auth=trust", "-E", "UTF8",
                           "--no-sync", "--locale=C"], capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        raise RuntimeError(f"initdb failed: {done.stderr or done.stdout}")
    port = _free_port()
    server = PgServer(f"postgresql://once@127.0.0.1:{port}/postgres", data, pg_ctl, as_user, port)
    server.start()
    return server


def remove(server: PgServer) -> None:
    server.stop("immediate")
    shutil.rmtree(server.data.parent, ignore_errors=True)
