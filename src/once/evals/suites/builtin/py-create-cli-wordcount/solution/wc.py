"""Count lines, words and characters of a file: python wc.py PATH"""

import sys
from pathlib import Path

from textstats import count_chars, count_lines, count_words


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python wc.py PATH", file=sys.stderr)
        return 2
    path = Path(args[0])
    if not path.is_file():
        print(f"error: file not found: {args[0]}", file=sys.stderr)
        return 1
    text = path.read_text(encoding="utf-8")
    print(f"lines={count_lines(text)} words={count_words(text)} chars={count_chars(text)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
