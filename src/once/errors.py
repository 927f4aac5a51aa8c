"""The error tree of once. Only the CLI turns these into messages and exit codes.

    OnceError                      exit 1
    +-- UsageError                 exit 2  bad flags, bad config, bad input
    |   +-- ConfigError
    |   +-- NotARepoError          not inside a git repository
    +-- ProviderError              exit 3  the model could not be reached or used
    |   +-- AuthenticationError    no key, or the key was refused
    |   +-- ProviderUnavailableError  overloaded or rate limited (429, 503, 529): try later
    |   +-- CassetteError          a cassette is missing or malformed
    |   |   +-- ReplayMismatchError  exit 4  the run asked for more responses than were recorded
    |   +-- ModelOutputError       the server could not parse what the model generated
    +-- VcsError                   exit 1  git refused, or undo is unsafe (README: Exit codes)
    |   +-- DirtyWorktreeError     uncommitted user changes and --dirty refuse
    |   +-- UndoRefusedError
    +-- StoreError                 exit 1  the database could not be opened or migrated

Tools never raise into the agent loop: their failures become error tool results.
"""

from __future__ import annotations


class OnceError(Exception):
    """Root of every error once raises on purpose."""

    exit_code = 1
    run_status = "error"
    """The status a run ends with when this error stops it."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(OnceError):
    exit_code = 2


class ConfigError(UsageError):
    pass


class NotARepoError(UsageError):
    pass


class ProviderError(OnceError):
    exit_code = 3


class AuthenticationError(ProviderError):
    pass


class ProviderUnavailableError(ProviderError):
    """The provider is overloaded or rate limiting (HTTP 429, 503, 529), still after its own retries.

    Temporary by nature: a caller that can wait (the queue) waits and tries again.
    `retry_after` is the wait in seconds the server asked for, when it named one.
    """

    def __init__(self, message: str, *, hint: str | None = None, retry_after: float | None = None,
                 status: int | None = None) -> None:
        super().__init__(message, hint=hint)
        self.retry_after = retry_after
        self.status = status


class CassetteError(ProviderError):
    pass


class ReplayMismatchError(CassetteError):
    """A replayed run went another way than the recording: it ran out of recorded responses."""

    exit_code = 4
    run_status = "replay_mismatch"


class ModelOutputError(ProviderError):
    """The server failed on the model's own output (e.g. a malformed tool call).

    The loop feeds this back to the model as an error instead of ending the run.
    """


class VcsError(OnceError):
    pass


class DirtyWorktreeError(VcsError):
    pass


class UndoRefusedError(VcsError):
    pass


class StoreError(OnceError):
    pass


# Exit codes, in one place.
EXIT_DONE = 0
EXIT_NOT_FINISHED = 1
EXIT_USAGE = 2
EXIT_PROVIDER = 3
EXIT_REPLAY_MISMATCH = 4


def exit_code_for(status: str) -> int:
    """The exit code of a run that ended with `status` (one that raised exits with its error's)."""
    return {"done": EXIT_DONE, "replay_mismatch": EXIT_REPLAY_MISMATCH}.get(status, EXIT_NOT_FINISHED)
