"""Reading test runners' output: counts, failing ids, first error, signature, summary."""

from __future__ import annotations

import pytest

from once.verify import Check, build_outcome, summarize_attempts, summarize_failure
from once.verify.summarize import (
    MAX_SUMMARY_CHARS,
    MAX_TRACE_LINES,
    extract_trace,
    failing_tests,
    failure_signature,
    first_error,
    parse_counts,
)

# Captured from real runs (pytest 8, Python 3.11, cargo 1.9x); go and jest in their usual shape.
PYTEST_FAIL = """\
.FFF                                                                     [100%]
=================================== FAILURES ===================================
___________________________________ test_add ___________________________________

    def test_add():
>       assert add(2, 2) == 4
E       assert 0 == 4
E        +  where 0 = add(2, 2)

tests/test_a.py:10: AssertionError
___________________________________ test_key ___________________________________

tmp_path = PosixPath('/tmp/pytest-of-root/pytest-105/test_key0')

    def test_key(tmp_path):
        d = {"a": 1}
>       assert d["b"] == 1
               ^^^^^^
E       KeyError: 'b'

tests/test_a.py:14: KeyError
_________________________________ TestX.test_m _________________________________

self = <test_a.TestX object at 0x7fa59dea93d0>

    def test_m(self):
>       raise ValueError(f"bad object at {hex(id(self))} in {self}")
E       ValueError: bad object at 0x7fa59dea93d0 in <test_a.TestX object at 0x7fa59dea93d0>

tests/test_a.py:18: ValueError
=========================== short test summary info ============================
FAILED tests/test_a.py::test_add - assert 0 == 4
FAILED tests/test_a.py::test_key - KeyError: 'b'
FAILED tests/test_a.py::TestX::test_m - ValueError: bad object at 0x7fa59dea9...
3 failed, 1 passed in 2.31s
"""

PYTEST_COLLECTION_ERROR = """\

==================================== ERRORS ====================================
_______________________ ERROR collecting tests/test_b.py _______________________
ImportError while importing test module '/tmp/vpy/tests/test_b.py'.
Hint: make sure your test modules/packages have valid Python names.
Traceback:
/root/.pyenv/versions/3.11.7/lib/python3.11/importlib/__init__.py:126: in import_module
    return _bootstrap._gcd_import(name[level:], package, level)
           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
tests/test_b.py:1: in <module>
    import nosuchmod
E   ModuleNotFoundError: No module named 'nosuchmod'
=========================== short test summary info ============================
ERROR tests/test_b.py
!!!!!!!!!!!!!!!!!!!! Interrupted: 1 error during collection !!!!!!!!!!!!!!!!!!!!
1 error in 1.69s
"""

PYTEST_SYNTAX_ERROR = """\
/root/.pyenv/versions/3.11.7/lib/python3.11/ast.py:50: in parse
    return compile(source, filename, mode, flags,
E     File "/tmp/vpy/tests/test_c.py", line 1
E       def f(:
E             ^
E   SyntaxError: invalid syntax
=========================== short test summary info ============================
ERROR tests/test_c.py
!!!!!!!!!!!!!!!!!!!! Interrupted: 1 error during collection !!!!!!!!!!!!!!!!!!!!
1 error in 1.90s
"""

UNITTEST_FAIL = """\
F.Es
======================================================================
ERROR: test_c (test_u.T.test_c)
----------------------------------------------------------------------
Traceback (most recent call last):
  File "/tmp/vpy/tests/test_u.py", line 5, in test_c
    def test_c(self): raise KeyError("zz")
                      ^^^^^^^^^^^^^^^^^^^^
KeyError: 'zz'

======================================================================
FAIL: test_a (test_u.T.test_a)
----------------------------------------------------------------------
Traceback (most recent call last):
  File "/tmp/vpy/tests/test_u.py", line 3, in test_a
    def test_a(self): self.assertEqual(1, 2)
                      ^^^^^^^^^^^^^^^^^^^^^^
AssertionError: 1 != 2

----------------------------------------------------------------------
Ran 4 tests in 0.004s

FAILED (failures=1, errors=1, skipped=1)
"""

CARGO_FAIL = """\
   Compiling vcrate v0.1.0 (/tmp/vcrate)
    Finished `test` profile [unoptimized + debuginfo] target(s) in 0.41s
     Running unittests src/lib.rs (target/debug/deps/vcrate-6becf7fc5357cf03)

running 3 tests
test tests::it_fails ... FAILED
test tests::it_works ... ok
test tests::it_panics ... FAILED

failures:

---- tests::it_fails stdout ----

thread 'tests::it_fails' (16822) panicked at src/lib.rs:9:21:
assertion `left == right` failed
  left: 4
 right: 5
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace

---- tests::it_panics stdout ----

thread 'tests::it_panics' (16823) panicked at src/lib.rs:11:56:
index out of bounds: the len is 0 but the index is 3


failures:
    tests::it_fails
    tests::it_panics

test result: FAILED. 1 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s

error: test failed, to rerun pass `--lib`
"""

CARGO_TWO_BINARIES_OK = """\
running 2 tests
test a ... ok
test b ... ok

test result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s

   Doc-tests vcrate

running 1 test
test src/lib.rs - add (line 3) ... ok

test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.10s
"""

CARGO_COMPILE_ERROR = """\
   Compiling vcrate v0.1.0 (/tmp/vcrate)
error[E0425]: cannot find value `undefined_x` in this scope
  --> src/lib.rs:11:61
   |
11 |     fn it_panics() { let v: Vec<u8> = vec![]; let _ = v[3]; undefined_x; }
   |                                                             ^^^^^^^^^^^ not found in this scope

For more information about this error, try `rustc --explain E0425`.
error: could not compile `vcrate` (lib test) due to 1 previous error
"""

GO_FAIL = """\
--- FAIL: TestAdd (0.00s)
    calc_test.go:12: Add(2, 2) = 5; want 4
--- FAIL: TestTable (0.00s)
    --- FAIL: TestTable/negative (0.00s)
        calc_test.go:25: got -1, want 1
FAIL
FAIL\texample.com/calc\t0.003s
ok  \texample.com/calc/util\t0.002s
FAIL
"""

GO_VERBOSE = """\
=== RUN   TestAdd
    calc_test.go:12: Add(2, 2) = 5; want 4
--- FAIL: TestAdd (0.00s)
=== RUN   TestSub
--- PASS: TestSub (0.00s)
=== RUN   TestMul
--- PASS: TestMul (0.00s)
FAIL
exit status 1
FAIL\texample.com/calc\t0.004s
"""

JEST_FAIL = """\
FAIL src/sum.test.js
  sum
    ✓ adds 1 + 2 to equal 3 (2 ms)
    ✕ adds 2 + 2 to equal 5 (3 ms)

  ● sum › adds 2 + 2 to equal 5

    expect(received).toBe(expected) // Object.is equality

    Expected: 5
    Received: 4

      4 |
      5 | test('adds 2 + 2 to equal 5', () => {
    > 6 |   expect(sum(2, 2)).toBe(5);
        |                     ^
      7 | });

      at Object.toBe (src/sum.test.js:6:21)

Test Suites: 1 failed, 1 total
Tests:       1 failed, 1 passed, 2 total
Snapshots:   0 total
Time:        0.512 s
Ran all test suites.
"""

VITEST_FAIL = """\
 ❯ src/sum.test.ts (2 tests | 1 failed) 5ms
   × sum > adds 2 + 2 to equal 5 3ms
     → expected 4 to be 5 // Object.is equality

⎯⎯⎯⎯⎯⎯⎯ Failed Tests 1 ⎯⎯⎯⎯⎯⎯⎯

 FAIL  src/sum.test.ts > sum > adds 2 + 2 to equal 5
AssertionError: expected 4 to be 5 // Object.is equality
 ❯ src/sum.test.ts:6:21

 Test Files  1 failed (1)
      Tests  1 failed | 1 passed (2)
   Start at  10:12:01
   Duration  312ms
"""


@pytest.mark.parametrize(
    ("output", "counts"),
    [
        (PYTEST_FAIL, (1, 3)),
        (PYTEST_COLLECTION_ERROR, (0, 1)),
        ("==== 2 failed, 10 passed, 1 skipped, 3 warnings in 0.52s ====\n", (10, 2)),
        ("12 passed in 0.20s\n", (12, 0)),
        (UNITTEST_FAIL, (1, 2)),
        ("....\n------\nRan 4 tests in 0.001s\n\nOK (skipped=1)\n", (3, 0)),
        (CARGO_FAIL, (1, 2)),
        (CARGO_TWO_BINARIES_OK, (3, 0)),
        (GO_FAIL, (1, 2)),
        (GO_VERBOSE, (2, 1)),
        (JEST_FAIL, (1, 1)),
        (VITEST_FAIL, (1, 1)),
        ("lint: 4 passed, 2 failed\ndone\n", (4, 2)),
        ("nothing to see here\n", (0, 0)),
        ("\x1b[31m1 failed\x1b[0m, \x1b[32m5 passed\x1b[0m in 0.1s\n", (5, 1)),
    ],
)
def test_parse_counts(output: str, counts: tuple[int, int]) -> None:
    assert parse_counts(output) == counts


@pytest.mark.parametrize(
    ("output", "ids"),
    [
        (PYTEST_FAIL, ["tests/test_a.py::test_add", "tests/test_a.py::test_key", "tests/test_a.py::TestX::test_m"]),
        (PYTEST_COLLECTION_ERROR, ["tests/test_b.py"]),
        (UNITTEST_FAIL, ["test_c (test_u.T.test_c)", "test_a (test_u.T.test_a)"]),
        (CARGO_FAIL, ["tests::it_fails", "tests::it_panics"]),
        (GO_FAIL, ["TestAdd", "TestTable", "TestTable/negative"]),
        (JEST_FAIL, ["sum › adds 2 + 2 to equal 5"]),
        (VITEST_FAIL, ["src/sum.test.ts > sum > adds 2 + 2 to equal 5"]),
        ("   ✕ works alone (4 ms)\n", ["works alone"]),
        ("all good\n", []),
    ],
)
def test_failing_tests(output: str, ids: list[str]) -> None:
    assert failing_tests(output) == ids


@pytest.mark.parametrize(
    ("output", "error"),
    [
        (PYTEST_FAIL, "AssertionError: assert 0 == 4"),
        (PYTEST_COLLECTION_ERROR, "ModuleNotFoundError: No module named 'nosuchmod'"),
        (PYTEST_SYNTAX_ERROR, "SyntaxError: invalid syntax"),
        (UNITTEST_FAIL, "KeyError: 'zz'"),
        (CARGO_FAIL, "panicked at src/lib.rs:9:21: assertion `left == right` failed"),
        (CARGO_COMPILE_ERROR, "error[E0425]: cannot find value `undefined_x` in this scope (src/lib.rs:11:61)"),
        (GO_FAIL, "calc_test.go:12: Add(2, 2) = 5; want 4"),
        (GO_VERBOSE, "calc_test.go:12: Add(2, 2) = 5; want 4"),
        ("./calc.go:5:9: undefined: foo\nFAIL\texample.com/calc [build failed]\n", "./calc.go:5:9: undefined: foo"),
        (JEST_FAIL, "expect(received).toBe(expected) // Object.is equality"),
        (VITEST_FAIL, "AssertionError: expected 4 to be 5 // Object.is equality"),
        ("src/app.py:3:8: F401 [*] `os` imported but unused\nFound 1 error.\n",
         "src/app.py:3:8: F401 [*] `os` imported but unused"),
        ("building...\nsomething went wrong: disk full\n", "something went wrong: disk full"),  # the last line
        ("", ""),
    ],
)
def test_first_error(output: str, error: str) -> None:
    assert first_error(output) == error


def test_first_error_prefers_error_words_over_the_last_line() -> None:
    assert first_error("step 1\nFatal error: config missing\nstep 3 done\n") == "Fatal error: config missing"
    assert first_error("10:12:01 starting\n10:12:02 build failed: no space\n") == "10:12:02 build failed: no space"


def test_first_error_reads_typescript_compiler_output() -> None:
    output = "src/a.ts(3,5): error TS2322: Type 'string' is not assignable to type 'number'.\n"
    assert first_error(output).startswith("src/a.ts(3,5): error TS2322")
    assert failure_signature(first_error(output)) == "src/a.ts: error TS2322: Type '?' is not assignable to type '?'."


# ---------------------------------------------------------------- signatures


def test_signature_ignores_line_numbers_addresses_and_temp_paths() -> None:
    first = failure_signature('ValueError: bad object at 0x7fa59dea93d0 in /tmp/pytest-of-root/pytest-105/t0/a.py:12')
    second = failure_signature('ValueError: bad object at 0x7f00aa11bb22 in /tmp/pytest-of-root/pytest-7/t3/a.py:98')
    assert first == second
    assert "0x7f" not in first and "/tmp" not in first
    assert failure_signature(first_error(PYTEST_FAIL)) == "AssertionError: assert N == N"


def test_signature_is_stable_across_two_runs_of_the_same_failure() -> None:
    run_two = (CARGO_FAIL.replace("src/lib.rs:9:21", "src/lib.rs:14:9").replace("(16822)", "(20411)")
               .replace("left: 4", "left: 7"))
    assert failure_signature(first_error(CARGO_FAIL)) == failure_signature(first_error(run_two))
    moved = PYTEST_COLLECTION_ERROR.replace("'nosuchmod'", "'othermod'").replace("/tmp/vpy", "/tmp/abc123")
    assert failure_signature(first_error(PYTEST_COLLECTION_ERROR)) == failure_signature(first_error(moved))
    a = failure_signature('File "/home/u/proj/src/mod.py", line 12, in run')
    b = failure_signature('File "/home/u/proj/src/mod.py", line 40, in run')
    assert a == b


def test_signature_tells_different_errors_apart() -> None:
    signatures = {failure_signature(first_error(text)) for text in
                  (PYTEST_FAIL, PYTEST_COLLECTION_ERROR, UNITTEST_FAIL, CARGO_FAIL, CARGO_COMPILE_ERROR, GO_FAIL)}
    assert len(signatures) == 6
    assert failure_signature("KeyError: 'b'") != failure_signature("IndexError: list index out of range")
    assert failure_signature("error[E0425]: x") != failure_signature("error[E0308]: x")


def test_signature_of_nothing_is_empty() -> None:
    assert failure_signature("") == ""
    assert failure_signature("  \n") == ""


def test_signature_keeps_relative_paths_whole() -> None:
    assert failure_signature("tests/unit/test_x.py:3: in test_y") == "tests/unit/test_x.py: in test_y"
    assert failure_signature("/usr/lib/python3/x.py:3: boom") == "x.py: boom"


# ---------------------------------------------------------------- trace and summaries

CHECK = Check("pytest", "python -m pytest -q", "detected: pyproject.toml [tool.pytest.ini_options]")


def test_trace_is_the_first_failing_section() -> None:
    trace = extract_trace(PYTEST_FAIL)
    assert trace.splitlines()[0].startswith("___") and "test_add" in trace.splitlines()[0]
    assert "E       assert 0 == 4" in trace
    assert "test_key" not in trace  # the next test's section is left out
    cargo = extract_trace(CARGO_FAIL)
    assert cargo.startswith("---- tests::it_fails stdout ----") and "left: 4" in cargo and "it_panics" not in cargo


@pytest.mark.parametrize("frames", [50, 500])
def test_trace_of_a_long_section_keeps_the_error(frames: int) -> None:
    body = "\n".join(f"    frame {n}" for n in range(frames))
    error = "E   RecursionError: maximum recursion depth exceeded"
    output = f"_____ test_deep _____\n{body}\n{error}\nx.py:1: RecursionError\n"
    trace = extract_trace(output).splitlines()
    assert len(trace) <= MAX_TRACE_LINES
    assert "E   RecursionError: maximum recursion depth exceeded" in trace
    if frames == 50:  # the header is near: kept, and the middle is cut
        assert trace[0] == "_____ test_deep _____"
        assert any("lines trimmed" in line for line in trace)


def test_failure_block_names_check_tests_and_error() -> None:
    outcome = build_outcome(CHECK, 1, PYTEST_FAIL, 2310.0)
    block = summarize_failure(outcome)
    assert block.startswith("Previous attempt failed: the check pytest (`python -m pytest -q`) exited with code 1")
    assert "3 failed, 1 passed" in block
    assert "- tests/test_a.py::TestX::test_m" in block
    assert "First error: AssertionError: assert 0 == 4" in block
    assert "E       assert 0 == 4" in block  # the trace


def test_failure_block_stays_small_with_many_failures_and_huge_lines() -> None:
    lines = [f"FAILED tests/test_m.py::test_{n} - AssertionError: {'x' * 5000}" for n in range(300)]
    sections = "\n".join(f"_____ test_{n} _____\nE   AssertionError: {'y' * 5000}\nt.py:{n}: AssertionError"
                         for n in range(50))
    banner = f"{'=' * 20} short test summary info {'=' * 20}"
    output = f"{sections}\n{banner}\n" + "\n".join(lines) + "\n300 failed in 9.1s\n"
    outcome = build_outcome(CHECK, 1, output, 9100.0)
    block = summarize_failure(outcome)
    assert len(block) <= MAX_SUMMARY_CHARS
    assert "Failing tests (300):" in block
    assert "- ... and 290 more" in block
    assert block.count("\n- tests/test_m.py::test_") == 10
    assert block.rstrip().endswith("the checks run again after your next change.")


def test_timeout_block_shows_the_last_lines() -> None:
    output = "\n".join(f"progress {n}" for n in range(100)) + "\nwaiting for server...\n"
    outcome = build_outcome(CHECK, -15, output, 602_100.0, timed_out=True, timeout=600)
    assert not outcome.passed
    assert outcome.summary == "pytest timed out after 600 s"
    assert outcome.signature == "pytest timed out after N s"
    block = summarize_failure(outcome)
    assert "ran too long: pytest timed out after 600 s, and it was stopped" in block
    assert "waiting for server..." in block and "progress 10\n" not in block


def test_passing_outcome_has_no_failure_block() -> None:
    outcome = build_outcome(CHECK, 0, "12 passed in 0.20s\n", 200.0)
    assert (outcome.passed, outcome.signature, outcome.first_error, outcome.trace) == (True, "", "", "")
    assert outcome.summary == "pytest passed: 12 passed (0.2 s)"
    assert summarize_failure(outcome) == ""


def test_exit_code_decides_even_when_the_output_looks_fine() -> None:
    outcome = build_outcome(CHECK, 2, "", 10.0)
    assert not outcome.passed
    assert outcome.first_error == "exit code 2 with no output"
    assert build_outcome(CHECK, 0, "FAILED tests/x.py::test_y - boom", 10.0).passed


def test_attempts_summary_marks_repeated_failures() -> None:
    first = build_outcome(CHECK, 1, PYTEST_FAIL, 2310.0)
    again = build_outcome(CHECK, 1, PYTEST_FAIL.replace("tests/test_a.py:10", "tests/test_a.py:11"), 2000.0)
    other = build_outcome(CHECK, 1, PYTEST_COLLECTION_ERROR, 1690.0)
    text = summarize_attempts([first, again, other])
    lines = text.splitlines()
    assert lines[0] == "Checks still failing after 3 failed check runs:"
    assert lines[1].startswith("1. pytest failed (exit 1, 2.3 s): 3 failed, 1 passed; first error: AssertionError")
    assert lines[2].endswith("(the same failure as run 1)")
    assert "ModuleNotFoundError" in lines[3] and "same failure" not in lines[3]
    assert summarize_attempts([build_outcome(CHECK, 0, "ok", 1.0)]) == "All checks passed."
