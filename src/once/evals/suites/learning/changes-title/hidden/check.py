"""The project's check."""
import pathlib

from text import util

if not hasattr(util, "title"):
    raise SystemExit("check: text.util has no title yet")
assert util.title("hello big world") == "Hello Big World", util.title("hello big world")
lines = [line for line in pathlib.Path("CHANGES.md").read_text().splitlines() if line.startswith("- ")]
assert lines and "title" in lines[0], f"CHANGES.md: the newest entry is {lines[0] if lines else None!r}"
print("check: ok")
