"""The environment handed to commands the agent runs, without credentials.

A command the model chooses (a test run, a script from the repo) must never see the key
that pays for the model, nor the user's other credentials: it could print them into the
transcript (`env`, `printenv`) or send them away.
"""

from __future__ import annotations

import re
from typing import Mapping

_ALWAYS_REMOVED = frozenset({"ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "OPENAI_API_KEY", "SSH_AUTH_SOCK",
                             "GPG_AGENT_INFO", "AWS_ACCESS_KEY_ID", "KUBECONFIG", "DOCKER_AUTH_CONFIG"})
_SECRET_WORDS = frozenset({"TOKEN", "TOKENS", "SECRET", "SECRETS", "PASSWORD", "PASSWD", "PASS", "PASSPHRASE",
                           "CREDENTIAL", "CREDENTIALS", "CREDS", "APIKEY", "PRIVATE", "AUTH", "COOKIE"})
_URL_WITH_PASSWORD = re.compile(r"://[^/\s:@]+:[^/\s@]+@")


def is_credential_name(name: str) -> bool:
    """True for variables named like a credential: the provider keys, the ssh agent's socket,
    any `*_KEY` / `*_KEY_ID` (API and access keys), and any name with a word such as TOKEN,
    SECRET, PASSWORD, CREDENTIALS or AUTH in it (GITHUB_TOKEN, AWS_SECRET_ACCESS_KEY,
    NPM_AUTH...). Harmless settings such as ANTHROPIC_BASE_URL or PWD are kept."""
    upper = name.upper()
    if upper in _ALWAYS_REMOVED:
        return True
    words = [word for word in re.split(r"[^A-Z0-9]+", upper) if word]
    if words and (words[-1] == "KEY" or words[-2:] == ["KEY", "ID"] or "ACCESS" in words and "KEY" in words):
        return True
    return any(word in _SECRET_WORDS for word in words)


def scrubbed_env(environ: Mapping[str, str]) -> dict[str, str]:
    """A copy of `environ` without credentials: by name (`is_credential_name`) or a URL that
    carries a password (DATABASE_URL=postgres://user:pw@host/db)."""
    return {name: value for name, value in environ.items()
            if not is_credential_name(name) and not _URL_WITH_PASSWORD.search(value)}
