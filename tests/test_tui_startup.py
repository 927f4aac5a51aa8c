"""What `agent` (the app) loads before its first frame, found by launching it in a pseudo-terminal.

The launch is the real one (launch.py, the app's own options); the app's after-first-paint step is
replaced by one that lists the imported modules and quits.
"""

from __future__ import annotations

import fcntl
import gc
import json
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from tests.conftest import write_cassette

NOT_BEFORE_FIRST_PAINT = (
    "typer", "click", "anthropic", "openai", "httpx", "pygments", "markdown_it", "rich.syntax", "rich.markdown",
    "textual.widgets._markdown", "textual.widgets._data_table", "sqlite_utils", "git", "numpy", "psycopg",
    "once.events", "once.store", "once.providers", "once.agent.runner", "once.index", "once.learn",
    "once.queue.store", "once.skills", "once.tui.adapter", "once.tui.widgets.answer",
    "once.tui.widgets.plan_panel", "once.tui.widgets.queue_panel", "once.tui.widgets.learned",
)
"""Modules the first frame does not need: the model's SDK and the run (at the first prompt), the
database (just after the first paint), Markdown and syntax highlighting (the first answer), the
hidden side tabs (mounted just after the first paint), the full command-line parser (never)."""

PROBE = """
import gc, json, sys
from once.tui.app import OnceApp

after_first_paint = OnceApp._after_first_paint

def first_paint(app):
    seen = {"modules": sorted(sys.modules), "collecting": gc.isenabled()}
    after_first_paint(app)
    seen["collecting_after"] = gc.isenabled()
    with open(sys.argv[1], "w") as out:
        json.dump(seen, out)
    app.exit()

OnceApp._after_first_paint = first_paint
from once.cli.launch import main
main(sys.argv[2:])
"""


def at_first_paint(repo: Path, out: Path, args: list[str]) -> dict:
    """Launch the app in a 120x40 pseudo-terminal; what the probe saw at its first paint."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    proc = subprocess.Popen([sys.executable, "-c", PROBE, str(out), *args], cwd=repo, stdin=slave, stdout=slave,
                            stderr=slave, env={**os.environ, "TERM": "xterm-256color"}, start_new_session=True)
    os.close(slave)
    shown = b""
    deadline = time.monotonic() + 120
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if select.select([master], [], [], 0.1)[0]:
                try:
                    shown += os.read(master, 65536)  # read, or a full terminal would block the app
                except OSError:
                    break
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        os.close(master)
    assert out.exists(), f"the app never painted; its terminal showed: {shown[-2000:]!r}"
    return json.loads(out.read_text())


@pytest.mark.parametrize("provider", ["anthropic", "openai", "replay"])
def test_the_first_frame_imports_none_of_what_it_does_not_show(provider: str, repo: Path, tmp_path: Path) -> None:
    args = {"anthropic": [], "openai": ["--provider", "openai", "-m", "some-model"],
            "replay": ["--replay", str(write_cassette(tmp_path / "c.json", []))]}[provider]
    seen = at_first_paint(repo, tmp_path / "seen.json", args)
    loaded = [name for name in seen["modules"]
              if any(name == heavy or name.startswith(heavy + ".") for heavy in NOT_BEFORE_FIRST_PAINT)]
    assert loaded == [], f"{len(seen['modules'])} modules imported by the first paint"
    assert not seen["collecting"] and seen["collecting_after"]  # no collections during the start, then back on


def test_collection_resumes_after_the_first_paint_only_if_the_launcher_stopped_it() -> None:
    from once.tui.app import resume_collection

    assert gc.isenabled()
    resume_collection()  # under a test (or any caller that left the collector on): nothing frozen
    assert gc.get_freeze_count() == 0
    gc.disable()
    try:
        resume_collection()
        assert gc.isenabled() and gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.enable()
