"""The environment handed to commands the agent runs, without provider credentials.

A command the model chooses (a test run, a script from the repo) must never see the
key that pays for the model: it could print it into the transcript or send it away.
"""

from __future__ import annotations

from typing import Mapping

_ALWAYS_REMOVED = frozenset({"ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "OPENAI_API_KEY"})
_OUR_PREFIXES = ("ANTHROPIC_", "OPENAI_", "ONCE_")
_SECRET_WORDS = ("TOKEN", "SECRET", "PASSWORD")


def is_credential_name(name: str) -> bool:
    """True for variables that hold provider credentials.

    Removed: the named provider keys, every `*_API_KEY` (any provider's key), and
    variables of our own prefixes (ANTHROPIC_, OPENAI_, ONCE_) that mention a token,
    secret or password. Harmless settings such as ANTHROPIC_BASE_URL are kept.
    """
    upper = name.upper()
    if upper in _ALWAYS_REMOVED or upper.endswith("_API_KEY"):
        return True
    return upper.startswith(_OUR_PREFIXES) and any(word in upper for word in _SECRET_WORDS)


def scrubbed_env(environ: Mapping[str, str]) -> dict[str, str]:
    """A copy of `environ` without provider credentials."""
    return {name: value for name, value in environ.items() if not is_credential_name(name)}
