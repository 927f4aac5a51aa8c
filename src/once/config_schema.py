"""The table of configuration keys and how raw values become typed ones.

Pure: no file or environment access here. `config.py` does the IO and the
layering; this module only answers "is this value allowed for this key, and
what is it once coerced".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

from once.errors import ConfigError

# Strings that mean "no value" for an optional key (from the CLI or an env var).
NONE_WORDS = frozenset({"", "none", "null"})
_TRUE_WORDS = frozenset({"true", "yes", "on", "1"})
_FALSE_WORDS = frozenset({"false", "no", "off", "0"})

PRICES = "prices"
PRICE_FIELDS: tuple[str, ...] = ("input", "output", "cache_write", "cache_read")
Check = Callable[[Any], "str | None"]


def _at_least(minimum: int) -> Check:
    def check(value: Any) -> str | None:
        return None if value >= minimum else f"must be at least {minimum}"

    return check


def _positive(value: Any) -> str | None:
    return None if value > 0 and math.isfinite(value) else "must be a finite number above 0"


def _http_url(value: Any) -> str | None:
    ok = isinstance(value, str) and value.startswith(("http://", "https://")) and len(value.split("://", 1)[1]) > 0
    return None if ok else "must be an http:// or https:// URL, e.g. http://127.0.0.1:11434/v1"


def _temperature(value: Any) -> str | None:
    return None if 0 <= value <= 2 and math.isfinite(value) else "must be a number from 0 to 2"


@dataclass(frozen=True)
class Key:
    """One known setting: its type, default, env var and a one-line help."""

    name: str
    type: type
    default: Any
    env: str | None
    help: str
    choices: tuple[str, ...] | None = None
    optional: bool = False  # None is a legal value ("not set")
    check: Check | None = None  # extra rule; returns what is wrong, or None
    user_only: bool = False  # a repository's own config may not set it (see USER_ONLY_WHY)
    merge: bool = False  # a list whose layers add up instead of replacing each other

    def allowed(self) -> str:
        """Say in words what this key accepts, for error messages and `list`."""
        if self.choices:
            text = "one of " + ", ".join(self.choices)
        else:
            text = {str: "a string", int: "an integer", float: "a number", bool: "true or false",
                    tuple: LIST_HELP}[self.type]
        return text + (" (or none to unset)" if self.optional else "")


_KEY_LIST: tuple[Key, ...] = (
    Key("provider", str, "anthropic", "ONCE_PROVIDER", "Model provider: anthropic, openai (any OpenAI-compatible server) or replay.",
        choices=("anthropic", "openai", "replay")),
    Key("model", str, "claude-sonnet-4-6", "ONCE_MODEL", "Model for generation (the main agent loop)."),
    Key("small_model", str, "claude-haiku-4-5", "ONCE_SMALL_MODEL", "Cheap model for routing, file selection, judging and extraction."),
    Key("base_url", str, None, "ONCE_BASE_URL", "Endpoint of an OpenAI-compatible server, e.g. http://localhost:11434/v1.",
        optional=True, check=_http_url, user_only=True),
    Key("max_turns", int, 50, "ONCE_MAX_TURNS", "Stop a run after this many model turns.", check=_at_least(1)),
    Key("max_cost", float, None, "ONCE_MAX_COST", "Stop a run once it has cost this many US dollars.",
        optional=True, check=_positive),
    # User only: a repository must not be able to switch its own commands to full-auto.
    Key("permission_mode", str, None, "ONCE_PERMISSION_MODE",
        "Who approves edits and commands: plan, ask, auto-edit or full-auto (headless default auto-edit).",
        choices=("plan", "ask", "auto-edit", "full-auto"), optional=True, user_only=True),
    Key("dirty", str, "commit", "ONCE_DIRTY", "With uncommitted user changes: commit them first, or refuse to start.",
        choices=("commit", "refuse")),
    Key("command_timeout", int, 120, "ONCE_COMMAND_TIMEOUT", "Default timeout in seconds for run_command.", check=_at_least(1)),
    Key("max_tokens", int, 8192, "ONCE_MAX_TOKENS", "Most tokens the model may write in one response.", check=_at_least(1)),
    Key("request_timeout", float, 600.0, "ONCE_REQUEST_TIMEOUT",
        "Seconds to wait for the model server's answer before giving up.", check=_positive),
    Key("max_files", int, 8, "ONCE_MAX_FILES",
        "Most files the small model may pick for the first model call (stage two of file selection).",
        check=_at_least(1)),
    Key("edit_format", str, "auto", "ONCE_EDIT_FORMAT",
        "How the model edits files: tools (edit_file/write_file calls), blocks (SEARCH/REPLACE blocks in its "
        "reply) or whole (whole files in fenced blocks); auto picks per provider.",
        choices=("auto", "tools", "blocks", "whole")),
    Key("prompt_style", str, "auto", "ONCE_PROMPT_STYLE",
        "full (every tool, skills loaded by routing) or lean (short prompt, fewer tools, skills only by /name) "
        "for small models; auto picks lean for OpenAI-compatible servers.",
        choices=("auto", "full", "lean")),
    Key("temperature", float, None, "ONCE_TEMPERATURE",
        "Sampling temperature sent with each request; unset sends 0 to OpenAI-compatible servers and nothing "
        "to Anthropic (its default).", optional=True, check=_temperature),
    Key("attempts", int, None, "ONCE_ATTEMPTS",
        "Times a run may try the task: when an attempt's edit and its one fix fail the checks, its commits "
        "are undone and the task asked again from the start. Unset: 3 with the lean prompt, 1 otherwise.",
        optional=True, check=_at_least(1)),
    Key("sandbox", str, "auto", "ONCE_SANDBOX",
        "Where commands and checks run: auto (in bubblewrap when it is installed and works here: read-only "
        "system and .git, private files hidden, no network), bwrap (the same, refusing to run without it) or off.",
        choices=("off", "auto", "bwrap"), user_only=True),
    Key("sandbox_network", bool, False, "ONCE_SANDBOX_NETWORK",
        "Let sandboxed commands and checks use the network (package installs, tests against live services).",
        user_only=True),
    Key("command_env", tuple, (), "ONCE_COMMAND_ENV",
        "Environment variables passed to commands and checks beyond the toolchain's own (PATH, HOME, the "
        "locale, PYTHON*, NODE_*, GIT_*...): names or globs, e.g. DATABASE_URL,MYAPP_*. Credentials "
        "(*_KEY, *TOKEN*, *SECRET*, URLs with a password) are never passed.", merge=True, user_only=True),
    Key("context_budget", int, 120_000, "ONCE_CONTEXT_BUDGET",
        "Tokens of conversation allowed before older turns are compacted.", check=_at_least(1)),
    # The [verify] table. A project's config may set these: the checks are the project's
    # own. Which commands may run at all is still up to the command policy.
    Key("verify.test_command", str, None, "ONCE_VERIFY_TEST_COMMAND",
        "Shell command that runs the project's tests, e.g. pytest -q; overrides detection "
        "(pytest, tox, nox, npm test, go test, cargo test, make test).", optional=True),
    Key("verify.lint_command", str, None, "ONCE_VERIFY_LINT_COMMAND",
        "Shell command for a lint check run after the tests, e.g. ruff check .", optional=True),
    Key("verify.max_retries", int, 3, "ONCE_VERIFY_MAX_RETRIES",
        "Failed fix attempts after which a run stops with exit 1.", check=_at_least(0)),
    Key("verify.when", str, "turn", "ONCE_VERIFY_WHEN",
        "When checks run: after each turn that changed files (turn), once at the end (end), or never (off).",
        choices=("turn", "end", "off")),
    Key("verify.timeout", int, 600, "ONCE_VERIFY_TIMEOUT", "Seconds before a check is stopped.", check=_at_least(1)),
    # The [policy] table: which shell commands run_command may run without asking. Rules
    # match each simple command of a compound line: a prefix (`npm test`) or a glob (`pytest*`).
    Key("policy.allow", tuple, (), "ONCE_POLICY_ALLOW",
        "Commands that run without asking, e.g. pytest*,npm test,git status. Only your user config, "
        "ONCE_POLICY_ALLOW or a flag may set it: a repository cannot allow its own commands.", user_only=True),
    Key("policy.deny", tuple, (), "ONCE_POLICY_DENY",
        "Commands that are always refused, e.g. git push*,curl*. Every layer adds to the list "
        "(a repository's config can add denials, never lift yours).", merge=True),
    # User only: a repository must not be able to send the agent's reports to a server of its choosing.
    Key("vent.webhook", str, None, "ONCE_VENT_WEBHOOK",
        "URL that receives each new vent group, spike and regression as JSON (Slack-compatible `text`).",
        optional=True, check=_http_url, user_only=True),
    # The [queue] table: how a draining queue rides out an overloaded or rate-limiting provider.
    Key("queue.overload_retries", int, 3, "ONCE_QUEUE_OVERLOAD_RETRIES",
        "Attempts of one queued item that may meet an overloaded or rate-limiting provider (429, 503, 529) "
        "in a row, with a wait between them, before the queue pauses.", check=_at_least(1)),
    Key("queue.max_backoff", float, 120.0, "ONCE_QUEUE_MAX_BACKOFF",
        "Longest wait in seconds before such a retry, a server's retry-after included.", check=_positive),
    # The [learn] table: how `agent learn` judges knowledge entries.
    Key("learn.alpha", float, 0.05, "ONCE_LEARN_ALPHA",
        "False-discovery level of irreversible moves (prune, skill) across the bank, by e-BH on the entries' e-values.",
        check=lambda v: None if 0 < v < 1 else "must be between 0 and 1"),
    Key("learn.change_holdout", float, 0.5, "ONCE_LEARN_CHANGE_HOLDOUT",
        "Holdout rate of entries sent back to probation by a new version of once.",
        check=lambda v: None if 0.1 <= v < 1 else "must be at least 0.1 and below 1"),
    Key("learn.decay_days", float, 60.0, "ONCE_LEARN_DECAY_DAYS",
        "Entries not retrieved for this many days are demoted (their weight halves every decay_days).",
        check=_positive),
    Key("learn.probation_budget", int, 150, "ONCE_LEARN_PROBATION_BUDGET",
        "Sessions on probation without a clear benefit after which an entry that leans to harm is held out more (7 sessions in 10).", check=_at_least(10)),
    Key("learn.arm", str, "draw", "ONCE_LEARN_ARM",
        "Which arm retrieved entries go to: a random draw (draw), or, for experiments such as "
        "`agent eval --arm`, always injected or always held out (those sessions stay out of the entries' evaluation).",
        choices=("draw", "injected", "holdout")),
    # User only: a repository must not send what this machine learned to a server of its choosing.
    Key("learn.team_url", str, None, "ONCE_TEAM_URL",
        "PostgreSQL URL of the team's shared knowledge (postgresql://user@host/db): entries and their evidence "
        "are pooled with teammates. Unset: learning stays on this machine.", optional=True, user_only=True,
        check=lambda v: None if v.startswith(("postgresql://", "postgres://")) else "must start with postgresql://"),
    Key("learn.team_repos", tuple, (), "ONCE_TEAM_REPOS",
        "Remote URLs (globs) of repositories whose project entries are shared with the team, e.g. "
        "github.com/acme/*. Global entries are always shared; other project entries never.", user_only=True),
    Key("learn.team_member", str, None, "ONCE_TEAM_MEMBER",
        "Your name in the team (the author of the entries you share). Unset: user@host.", optional=True,
        user_only=True),
)
USER_ONLY_WHY = ("a repository's own config could otherwise send your API key or the agent's reports to a server "
                 "of its choosing, allow commands on your behalf, or let them out of the sandbox (a command "
                 "inside it can write that file)")
LIST_HELP = 'a list of strings (comma-separated on the command line, or a JSON list like \'["a", "b,c"]\')'
KEYS: dict[str, Key] = {key.name: key for key in _KEY_LIST}
TABLES: tuple[str, ...] = ("verify", "policy", "vent", "queue", "learn")
"""Tables of keys: `[verify]` in TOML, `verify.when` on the command line and in KEYS."""
PRICES_HELP = "USD per million tokens for a model: input, output, cache_write, cache_read."


def known_keys_text() -> str:
    return ", ".join([*KEYS, f"{PRICES}.<model>.<{'|'.join(PRICE_FIELDS)}>"])


def _prefixed(where: str, text: str) -> str:
    return f"{where}: {text}" if where else text


def split_table_key(name: str) -> tuple[str, str] | None:
    """`verify.when` -> ("verify", "when"); None for a top-level key."""
    table, dot, rest = name.partition(".")
    return (table, rest) if dot and table in TABLES else None


def table_keys(table: str) -> list[str]:
    return [name for name in KEYS if name.startswith(table + ".")]


def unknown_key_error(name: str, where: str = "") -> ConfigError:
    if name in TABLES:
        return ConfigError(_prefixed(where, f"{name!r} is a table of settings; name one of them"),
                           hint=f"keys: {', '.join(table_keys(name))}")
    import difflib  # only a mistyped key needs a suggestion

    close = difflib.get_close_matches(name, [*KEYS, PRICES], n=1)
    guess = f" (did you mean {close[0]}?)" if close else ""
    return ConfigError(_prefixed(where, f"unknown key {name!r}{guess}"), hint=f"known keys: {known_keys_text()}")


def normalize_key(name: str) -> str:
    """Accept `max-turns` for `max_turns` on the command line; leave price keys alone."""
    if name not in KEYS and name.replace("-", "_") in KEYS:
        return name.replace("-", "_")
    return name


def _bad(key: Key, value: Any, where: str, why: str | None = None) -> ConfigError:
    reason = why or f"expected {key.allowed()}"
    return ConfigError(_prefixed(where, f"{key.name} = {value!r} is not allowed: {reason}"),
                       hint=f"{key.name}: {key.help}")


def check_value(key: Key, value: Any, where: str) -> Any:
    """Validate an already-typed value (from TOML or a flag); return it normalised."""
    if value is None:
        if key.optional:
            return None
        raise _bad(key, value, where)
    if isinstance(value, bool) and key.type is not bool:  # bool is an int subclass
        raise _bad(key, value, where)
    if key.type is tuple:
        return _check_list(key, value, where)
    if key.type is float and isinstance(value, int):
        value = float(value)
    if not isinstance(value, key.type):
        raise _bad(key, value, where)
    if key.choices and value not in key.choices:
        raise _bad(key, value, where)
    if isinstance(value, str) and not value.strip():
        raise _bad(key, value, where, "must not be empty")
    problem = key.check(value) if key.check else None
    if problem:
        raise _bad(key, value, where, problem)
    return value


def _check_list(key: Key, value: Any, where: str) -> tuple[str, ...]:
    """A list of non-empty strings (TOML array, or tuple from a flag), stored as a tuple."""
    if not isinstance(value, (list, tuple)):
        raise _bad(key, value, where)
    items: list[str] = []
    for item in value:
        if not isinstance(item, str):
            raise _bad(key, value, where, f"{item!r} is not a string")
        if not item.strip():
            raise _bad(key, value, where, "an entry is empty")
        if item.strip() not in items:  # duplicates say nothing new
            items.append(item.strip())
    return tuple(items)


def split_list_text(raw: str) -> list[str] | None:
    """`a, b` -> ["a", "b"]; a JSON list is taken as is (for entries holding commas);
    "none" or "" -> []; None when the text starts like JSON but is not a list of strings."""
    text = raw.strip()
    if text.lower() in NONE_WORDS:
        return []
    if text.startswith("["):
        import json  # rarely needed: settings are read before the app's first paint

        try:
            parsed = json.loads(text)
        except ValueError:
            return None
        return parsed if isinstance(parsed, list) else None
    return [part.strip() for part in text.split(",") if part.strip()]


def list_to_text(items: tuple[str, ...] | list[str]) -> str:
    """The CLI spelling of a list: comma-separated, or JSON when an entry holds a comma."""
    if any("," in item for item in items):
        import json

        return json.dumps(list(items))
    return ",".join(items)


def coerce_text(key: Key, raw: str, where: str) -> Any:
    """Turn a string (CLI argument, env var) into the key's type, then validate."""
    text = raw.strip()
    if key.optional and text.lower() in NONE_WORDS:
        return None
    if key.type is tuple:
        items = split_list_text(text)
        if items is None:
            raise _bad(key, raw, where, "not a JSON list of strings")
        return check_value(key, items, where)
    value: Any = text
    try:
        if key.type is int:
            value = int(text)
        elif key.type is float:
            value = float(text)
        elif key.type is bool:
            lowered = text.lower()
            if lowered not in _TRUE_WORDS | _FALSE_WORDS:
                raise ValueError(text)
            value = lowered in _TRUE_WORDS
    except ValueError:
        raise _bad(key, raw, where) from None
    return check_value(key, value, where)


def split_price_key(name: str) -> tuple[str, str | None]:
    """`prices.gpt-4.1.input` -> ("gpt-4.1", "input"); `prices.m` -> ("m", None).

    Model names may contain dots, so the field is the last segment only when it
    is one of the known price fields.
    """
    rest = name[len(PRICES) + 1:] if name.startswith(PRICES + ".") else ""
    if not rest:
        raise ConfigError(f"{name!r} needs a model name", hint=f"e.g. {PRICES}.my-model.input")
    model, _, last = rest.rpartition(".")
    if model and last in PRICE_FIELDS:
        return model, last
    return rest, None


def check_price(model: str, field: str, value: Any, where: str) -> float:
    path = f"{PRICES}.{model}.{field}"
    if field not in PRICE_FIELDS:
        raise ConfigError(_prefixed(where, f"unknown price field {path!r}"),
                          hint=f"price fields: {', '.join(PRICE_FIELDS)}")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ConfigError(_prefixed(where, f"{path} = {value!r} is not allowed: expected a non-negative number"),
                          hint=PRICES_HELP)
    return float(value)


def coerce_price_text(model: str, field: str, raw: str, where: str) -> float:
    try:
        value: Any = float(raw.strip())
    except ValueError:
        value = raw
    return check_price(model, field, value, where)


def check_prices_table(table: Any, where: str) -> dict[str, dict[str, float]]:
    """Validate a `[prices]` table from a file: {model: {field: number}}."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: {PRICES} must be a table of models", hint=PRICES_HELP)
    result: dict[str, dict[str, float]] = {}
    for model, fields in table.items():
        if not isinstance(fields, dict):
            raise ConfigError(f"{where}: {PRICES}.{model} must be a table like {{ input = 3.0, output = 15.0 }}",
                              hint=PRICES_HELP)
        result[model] = {field: check_price(model, field, value, where) for field, value in fields.items()}
    return result
