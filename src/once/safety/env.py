"""The environment handed to commands the agent runs: an allow list, without credentials.

A command the model chooses (a test run, a script from the repo) must never see the key
that pays for the model, nor the user's other credentials: it could print them into the
transcript (`env`, `printenv`) or send them away. So the child environment is built from
what toolchains need (PATH, HOME, the locale, the interpreters' and build tools' settings),
plus what the user names in `command_env`; credentials are dropped even from those.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Iterable, Mapping

_ALWAYS_REMOVED = frozenset({"ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "OPENAI_API_KEY", "SSH_AUTH_SOCK",
                             "GPG_AGENT_INFO", "AWS_ACCESS_KEY_ID", "KUBECONFIG", "DOCKER_AUTH_CONFIG"})
_SECRET_WORDS = frozenset({"TOKEN", "TOKENS", "SECRET", "SECRETS", "PASSWORD", "PASSWD", "PASS", "PASSPHRASE",
                           "CREDENTIAL", "CREDENTIALS", "CREDS", "APIKEY", "PRIVATE", "AUTH", "COOKIE"})
_URL_WITH_PASSWORD = re.compile(r"://[^/\s:@]+:[^/\s@]+@")

# The shell, the locale and the terminal; temporary folders; proxies and certificate bundles
# (a proxy URL with a password is still dropped); CI markers tests look at.
_KEPT_NAMES = frozenset({
    "PATH", "HOME", "USER", "LOGNAME", "SHELL", "PWD", "LANG", "LANGUAGE", "TZ", "TERM", "COLORTERM",
    "COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR", "CLICOLOR", "TMPDIR", "TEMP", "TMP", "EDITOR", "VISUAL",
    "PAGER", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "no_proxy",
    "all_proxy", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS",
    "CI", "VIRTUAL_ENV", "CC", "CXX", "LD", "AR", "CFLAGS", "CXXFLAGS", "CPPFLAGS", "LDFLAGS", "MAKEFLAGS",
    "LD_LIBRARY_PATH", "LIBRARY_PATH", "CPATH", "JAVA_HOME", "GOPATH", "GOROOT", "GOBIN", "GOCACHE",
    "GOMODCACHE", "GOFLAGS", "GOPROXY", "GOPRIVATE", "GONOSUMDB", "GOTOOLCHAIN", "GO111MODULE", "GOOS", "GOARCH",
    "PERL5LIB", "DJANGO_SETTINGS_MODULE",
})
# Families of toolchain settings: interpreters, package managers, build and test tools.
_KEPT_PREFIXES = (
    "LC_", "XDG_", "PYTHON", "PIP_", "UV_", "POETRY_", "PIPX_", "PYENV", "CONDA", "PDM_", "HATCH_", "TOX_",
    "NOX_", "PYTEST_", "COVERAGE_", "HYPOTHESIS_", "MYPY", "RUFF_", "NODE_", "NPM_CONFIG_", "NVM_", "YARN_",
    "PNPM_", "COREPACK_", "BUN_", "DENO_", "CARGO", "RUST", "CGO_", "MAVEN_", "GRADLE_", "DOTNET_", "NUGET_",
    "GEM_", "BUNDLE_", "RBENV_", "RUBY", "CMAKE_", "PKG_CONFIG", "CCACHE_", "GIT_", "ONCE_",
)


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


def is_toolchain_name(name: str, extra: Iterable[str] = ()) -> bool:
    """Whether a variable belongs in a command's environment: a built-in toolchain name, or
    one the user names in `command_env` (an exact name or a glob such as `MYAPP_*`)."""
    if name in _KEPT_NAMES or name.startswith(_KEPT_PREFIXES):
        return True
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in extra)


def without_credentials(environ: Mapping[str, str]) -> dict[str, str]:
    """A copy of `environ` without credentials: by name (`is_credential_name`) or a URL that
    carries a password (DATABASE_URL=postgres://user:pw@host/db)."""
    return {name: value for name, value in environ.items()
            if not is_credential_name(name) and not _URL_WITH_PASSWORD.search(value)}


def scrubbed_env(environ: Mapping[str, str], extra: Iterable[str] = ()) -> dict[str, str]:
    """The environment for a command: the toolchain's variables (and `extra` names), no credential."""
    names = tuple(extra)
    return without_credentials({name: value for name, value in environ.items() if is_toolchain_name(name, names)})
