"""The project's check: `python3 check.py` exits 1 when a greeting is wrong.

.once/config.toml names it, so the agent runs it after every turn that edits files.
"""

import sys

import greet

CASES = [
    ("greet", "World", "en", "Hello, World!"),
    ("greet", "Ana", "es", "¡Hola, Ana!"),
    ("farewell", "Ana", "es", "¡Adiós, Ana!"),
]


def main() -> int:
    ran = failed = 0
    for name, person, lang, expected in CASES:
        function = getattr(greet, name, None)
        if function is None:
            continue  # a case runs once its function exists
        ran += 1
        try:
            got = function(person, lang=lang) if lang != "en" else function(person)
        except TypeError as exc:
            got = f"TypeError ({exc})"
        if got != expected:
            print(f"FAIL: {name} {person} lang={lang}: expected {expected} but got {got}")
            failed += 1
    print(f"{ran - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
