"""The project's check."""
import pathlib

from text import util

if not hasattr(util, "initials"):
    raise SystemExit("check: text.util has no initials yet")
assert util.initials("portable network graphics") == "PNG", util.initials("portable network graphics")
lines = [line for line in pathlib.Path("CHANGES.md").read_text().splitlines() if line.startswith("- ")]
assert lines and "initials" in lines[0], f"CHANGES.md: the newest entry is {lines[0] if lines else None!r}"
print("check: ok")
