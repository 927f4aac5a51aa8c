"""The verification loop's parts: which checks to run, running one, reading its output.

The agent loop decides when checks run and what to do with a failure; see
`detect_checks`, `run_check` and `summarize_failure`.
"""

from once.lazymod import lazy_exports
from once.verify.detect import Check, detect_checks

# Every run detects its checks; running them and reading their output waits for a check to run.
__getattr__ = lazy_exports(globals(), {
    **{name: "once.verify.run" for name in ("CheckOutcome", "build_outcome", "run_check")},
    **{name: "once.verify.summarize" for name in ("failing_tests", "failure_signature", "first_error", "parse_counts",
                                                   "summarize_attempts", "summarize_failure")},
})

__all__ = [
    "Check", "CheckOutcome", "build_outcome", "detect_checks", "failing_tests", "failure_signature", "first_error",
    "parse_counts", "run_check", "summarize_attempts", "summarize_failure",
]
