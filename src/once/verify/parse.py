"""Reading test runners' output: pass/fail counts, failing test ids, the first error.

Pure text in, text out. Understands pytest, unittest, go test, cargo test, jest and
vitest, and falls back to "N passed, N failed" or the first line that looks like an
error. ANSI colour codes are ignored.
"""

from __future__ import annotations

import re
from typing import Callable

from once.lazyre import LazyPattern

MAX_ERROR_CHARS = 300
_ANSI = LazyPattern(r"\x1b\[[0-?]*[ -/]*[@-~]")
_COUNT = LazyPattern(r"(\d+) (passed|failed|errors?)\b")

# ---------------------------------------------------------------- counts

_PYTEST_SUMMARY = LazyPattern(r"^=*\s*((?:\d+ \w+(?:, )?)+) in [\d.]+s(?: \([^)]*\))?\s*=*$")
_CARGO_RESULT = LazyPattern(r"^test result: \w+\. (\d+) passed; (\d+) failed")
_JEST_TESTS = LazyPattern(r"^\s*Tests:?\s+(.*\d+ (?:passed|failed).*)$")
_UNITTEST_RAN = LazyPattern(r"^Ran (\d+) tests? in ")
_UNITTEST_RESULT = LazyPattern(r"^(OK|FAILED)(?: \((.*)\))?\s*$")
_GO_RESULT = LazyPattern(r"^--- (PASS|FAIL): ")
_GO_PACKAGE_OK = LazyPattern(r"^ok\s+\S+")


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def parse_counts(output: str) -> tuple[int, int]:
    """(passed, failed) as the test runner reported them; (0, 0) when it said nothing.

    Errors (pytest's "1 error", unittest's errors=) count as failed. go test without
    -v names only failing tests, so passing packages are counted instead.
    """
    lines = strip_ansi(output).splitlines()
    parsers: list[Callable[[list[str]], tuple[int, int] | None]] = [
        _pytest_counts, _cargo_counts, _jest_counts, _unittest_counts, _go_counts, _plain_counts,
    ]
    for parse in parsers:
        found = parse(lines)
        if found is not None:
            return found
    return 0, 0


def _words_counts(text: str) -> tuple[int, int]:
    passed = failed = 0
    for number, word in _COUNT.findall(text):
        if word == "passed":
            passed += int(number)
        else:
            failed += int(number)
    return passed, failed


def _pytest_counts(lines: list[str]) -> tuple[int, int] | None:
    for line in reversed(lines):
        match = _PYTEST_SUMMARY.match(line.strip())
        if match:
            return _words_counts(match.group(1))
    return None


def _cargo_counts(lines: list[str]) -> tuple[int, int] | None:
    # One "test result:" per test binary (unit tests, each integration test, doc tests).
    results = [match for line in lines if (match := _CARGO_RESULT.match(line.strip()))]
    if not results:
        return None
    return sum(int(m.group(1)) for m in results), sum(int(m.group(2)) for m in results)


def _jest_counts(lines: list[str]) -> tuple[int, int] | None:
    # jest: "Tests:       1 failed, 2 passed, 3 total"; vitest: "Tests  1 failed | 2 passed (3)".
    for line in reversed(lines):
        match = _JEST_TESTS.match(line)
        if match and not line.strip().startswith("Test Files"):
            return _words_counts(match.group(1))
    return None


def _unittest_counts(lines: list[str]) -> tuple[int, int] | None:
    ran = next((int(m.group(1)) for line in reversed(lines) if (m := _UNITTEST_RAN.match(line.strip()))), None)
    if ran is None:
        return None
    details: dict[str, int] = {}
    for line in reversed(lines):
        match = _UNITTEST_RESULT.match(line.strip())
        if match:
            for part in (match.group(2) or "").split(","):
                name, _, number = part.strip().partition("=")
                if number.isdigit():
                    details[name] = int(number)
            break
    failed = details.get("failures", 0) + details.get("errors", 0) + details.get("unexpected successes", 0)
    not_passed = failed + details.get("skipped", 0) + details.get("expected failures", 0)
    return max(ran - not_passed, 0), failed


def _go_counts(lines: list[str]) -> tuple[int, int] | None:
    results = [m.group(1) for line in lines if (m := _GO_RESULT.match(line))]  # top level: not indented
    packages_ok = sum(1 for line in lines if _GO_PACKAGE_OK.match(line))
    if not results and not packages_ok:
        return None
    passed = results.count("PASS") or packages_ok
    return passed, results.count("FAIL")


def _plain_counts(lines: list[str]) -> tuple[int, int] | None:
    for line in reversed(lines):
        if _COUNT.search(line):
            return _words_counts(line)
    return None


# ---------------------------------------------------------------- failing tests

_FAILING_PATTERNS: tuple[LazyPattern, ...] = (
    LazyPattern(r"^(?:FAILED|ERROR) ([^\s(]\S*)"),  # pytest short summary (not unittest's "FAILED (errors=1)")
    LazyPattern(r"^\s*--- FAIL: (\S+)"),  # go test, subtests included
    LazyPattern(r"^test (\S+) \.\.\. FAILED$"),  # cargo test
    LazyPattern(r"^(?:FAIL|ERROR): (\S+ \([\w.]+\))"),  # unittest
    LazyPattern(r"^\s*● (?!Test suite failed to run)(.+?)\s*$"),  # jest failure headers
    LazyPattern(r"^\s*FAIL\s+(\S+ > .+?)\s*$"),  # vitest
)
_JEST_CROSS = LazyPattern(r"^\s*[✕×]\s+(.+?)(?:\s+\(?\d+\s*m?s\)?)?\s*$")


def failing_tests(output: str) -> list[str]:
    """Ids of failing tests in the order reported, without repeats."""
    found: list[str] = []
    crossed: list[str] = []
    for line in strip_ansi(output).splitlines():
        for pattern in _FAILING_PATTERNS:
            match = pattern.match(line)
            if match:
                found.append(match.group(1))
                break
        else:
            cross = _JEST_CROSS.match(line)
            if cross:
                crossed.append(cross.group(1))
    # jest and vitest mark a failing test with a cross, then repeat it with its suite path.
    return list(dict.fromkeys(found or crossed))


# ---------------------------------------------------------------- the first error

_PYTEST_E = LazyPattern(r"^E\s+(\S.*)$")
_PYTEST_LOCATION = LazyPattern(r"^\S+:\d+: ([A-Za-z_][\w.]*)$")
_EXCEPTION = LazyPattern(r"^\s*([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Failure|Warning))(?::\s.*|:)?$")
_PANIC = LazyPattern(r"^thread '[^']*'(?: \(\d+\))? panicked at (.*)$")
_RUST_ERROR = LazyPattern(r"^error(?:\[E\d+\])?: (?!test failed|could not compile|aborting)")
_RUST_ARROW = LazyPattern(r"^\s*--> (\S+)")
_GO_LOG = LazyPattern(r"^\s+[\w./-]+\.go:\d+: \S")
_GO_PANIC = LazyPattern(r"^panic: ")
_FILE_LINE = LazyPattern(r"^(?=[^\s:]*[A-Za-z])[^\s:]+(?::\d+){1,2}:? \S.*|^\S+\(\d+,\d+\): .+")  # a name, not a time
_ERRORISH = LazyPattern(r"error|fail|panic|exception|traceback", re.IGNORECASE)

Located = tuple[str, int]


def first_error(output: str) -> str:
    """The one line that best says what went wrong first ("" for empty output)."""
    text, _ = locate_first_error(strip_ansi(output).splitlines())
    return text


def locate_first_error(lines: list[str]) -> Located:
    """(error text, index of its line) — the index anchors the trace excerpt."""
    finders: list[Callable[[list[str]], Located | None]] = [
        _pytest_error, _panic_error, _rust_compile_error, _jest_error, _go_error, _exception_line, _file_line_error,
    ]
    for find in finders:
        found = find(lines)
        if found is not None:
            return clip(found[0].strip(), MAX_ERROR_CHARS), found[1]
    for index, line in enumerate(lines):
        if _ERRORISH.search(line):
            return clip(line.strip(), MAX_ERROR_CHARS), index
    for index in range(len(lines) - 1, -1, -1):
        if lines[index].strip():
            return clip(lines[index].strip(), MAX_ERROR_CHARS), index
    return "", 0


def _pytest_error(lines: list[str]) -> Located | None:
    """pytest's first `E` block: its exception line, or its first line plus the exception type."""
    start = next((i for i, line in enumerate(lines) if _PYTEST_E.match(line)), None)
    if start is None:
        return None
    end = start
    block: list[str] = []
    while end < len(lines) and lines[end].startswith("E "):
        block.append(lines[end][1:].strip())
        end += 1
    for offset, text in enumerate(block):
        if _EXCEPTION.match(text):
            return text, start + offset
    kind = next((m.group(1) for line in lines[end:end + 3] if (m := _PYTEST_LOCATION.match(line))), None)
    text = block[0]
    return (f"{kind}: {text}" if kind and not text.startswith(kind) else text), start


def _panic_error(lines: list[str]) -> Located | None:
    for index, line in enumerate(lines):
        match = _PANIC.match(line.strip())
        if match:
            where = match.group(1)
            # Newer Rust: "panicked at src/lib.rs:9:21:" with the message on the next line.
            if where.endswith(":") and index + 1 < len(lines):
                return f"panicked at {where} {lines[index + 1].strip()}", index
            return f"panicked at {where}", index
    return None


def _rust_compile_error(lines: list[str]) -> Located | None:
    for index, line in enumerate(lines):
        if _RUST_ERROR.match(line):
            arrow = next((m.group(1) for later in lines[index + 1:index + 3] if (m := _RUST_ARROW.match(later))), None)
            return (f"{line.strip()} ({arrow})" if arrow else line), index
    return None


def _jest_error(lines: list[str]) -> Located | None:
    for index, line in enumerate(lines):
        if line.strip().startswith("● "):
            for later in range(index + 1, min(index + 8, len(lines))):
                if lines[later].strip():
                    return lines[later], later
    return None


def _go_error(lines: list[str]) -> Located | None:
    if not any(line.lstrip().startswith("--- FAIL:") or _GO_PANIC.match(line) for line in lines):
        return None
    for index, line in enumerate(lines):
        if _GO_LOG.match(line) or _GO_PANIC.match(line):
            return line, index
    return None


def _exception_line(lines: list[str]) -> Located | None:
    for index, line in enumerate(lines):
        if not line.startswith((" ", "\t")) and _EXCEPTION.match(line):
            return line, index
    return None


def _file_line_error(lines: list[str]) -> Located | None:
    # Compilers and linters: "src/a.py:3:1: F401 ...", "./x.go:5:9: undefined: y", "a.ts(3,5): error ..."
    for index, line in enumerate(lines):
        if _FILE_LINE.match(line):
            return line, index
    return None


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."
