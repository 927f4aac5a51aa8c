"""The project's check."""
import pathlib

from text import util

if not hasattr(util, "shout"):
    raise SystemExit("check: text.util has no shout yet")
assert util.shout("hi there") == "HI THERE!", util.shout("hi there")
lines = [line for line in pathlib.Path("CHANGES.md").read_text().splitlines() if line.startswith("- ")]
assert lines and "shout" in lines[0], f"CHANGES.md: the newest entry is {lines[0] if lines else None!r}"
print("check: ok")
