"""Settings: defaults < user config < project config < env vars < flags.

User config lives at `$XDG_CONFIG_HOME/once/config.toml`, project config at
`<repo>/.once/config.toml`. Every value remembers where it came from so
`agent config list` can say why a setting is what it is. The key table and
value rules live in `config_schema`; this module does the reading, layering
and writing. Kept light to import: no typer or rich here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

from once.atomic import atomic_write_text
from once.config_schema import (
    KEYS,
    NONE_WORDS,
    PRICE_FIELDS,
    PRICES,
    PRICES_HELP,
    TABLES,
    USER_ONLY_WHY,
    Key,
    check_prices_table,
    check_value,
    coerce_price_text,
    coerce_text,
    normalize_key,
    split_price_key,
    split_table_key,
    unknown_key_error,
)
from once.errors import ConfigError
from once.mcp.config import McpSettings, ServerSpec, merge as merge_mcp, parse_mcp_table
from once.paths import project_config_path, user_config_path

__all__ = [
    "KEYS", "Key", "Settings", "VerifySettings", "PolicySettings", "SCOPES", "load_settings", "get_value",
    "source_of", "set_value", "unset_value", "canonical_key", "config_path", "find_repo_root", "settings_rows",
    "configured_price", "read_toml",
]

SCOPES = ("user", "project")
MCP = "mcp"
Prices = dict[str, dict[str, float]]


@dataclass(frozen=True)
class VerifySettings:
    """The `[verify]` table: which checks prove an edit, when they run, how often to retry."""

    test_command: str | None = KEYS["verify.test_command"].default
    lint_command: str | None = KEYS["verify.lint_command"].default
    max_retries: int = KEYS["verify.max_retries"].default
    when: str = KEYS["verify.when"].default
    timeout: int = KEYS["verify.timeout"].default


@dataclass(frozen=True)
class PolicySettings:
    """The `[policy]` table: command rules for run_command (see once.safety.policy)."""

    allow: tuple[str, ...] = KEYS["policy.allow"].default
    deny: tuple[str, ...] = KEYS["policy.deny"].default


@dataclass(frozen=True)
class VentSettings:
    """The `[vent]` table: where the agent's reports about its tools are routed (see once.vent)."""

    webhook: str | None = KEYS["vent.webhook"].default


@dataclass(frozen=True)
class QueueSettings:
    """The `[queue]` table: retries of a queued item while the provider is overloaded (see once.queue.backoff)."""

    overload_retries: int = KEYS["queue.overload_retries"].default
    max_backoff: float = KEYS["queue.max_backoff"].default


@dataclass(frozen=True)
class LearnSettings:
    """The `[learn]` table: thresholds of the knowledge entries' evaluation (see once.learn.evaluate)."""

    alpha: float = KEYS["learn.alpha"].default
    change_holdout: float = KEYS["learn.change_holdout"].default
    decay_days: float = KEYS["learn.decay_days"].default
    probation_budget: int = KEYS["learn.probation_budget"].default
    arm: str = KEYS["learn.arm"].default
    team_url: str | None = KEYS["learn.team_url"].default
    team_repos: tuple[str, ...] = KEYS["learn.team_repos"].default
    team_member: str | None = KEYS["learn.team_member"].default


@dataclass
class Settings:
    """The effective configuration of one run."""

    provider: str = KEYS["provider"].default
    model: str = KEYS["model"].default
    small_model: str = KEYS["small_model"].default
    base_url: str | None = KEYS["base_url"].default
    max_turns: int = KEYS["max_turns"].default
    max_cost: float | None = KEYS["max_cost"].default
    permission_mode: str | None = KEYS["permission_mode"].default
    dirty: str = KEYS["dirty"].default
    command_timeout: int = KEYS["command_timeout"].default
    max_tokens: int = KEYS["max_tokens"].default
    request_timeout: float = KEYS["request_timeout"].default
    max_files: int = KEYS["max_files"].default
    context_budget: int = KEYS["context_budget"].default
    edit_format: str = KEYS["edit_format"].default
    prompt_style: str = KEYS["prompt_style"].default
    temperature: float | None = KEYS["temperature"].default
    attempts: int | None = KEYS["attempts"].default
    sandbox: str = KEYS["sandbox"].default
    sandbox_network: bool = KEYS["sandbox_network"].default
    command_env: tuple[str, ...] = KEYS["command_env"].default
    verify: VerifySettings = field(default_factory=VerifySettings)
    policy: PolicySettings = field(default_factory=PolicySettings)
    vent: VentSettings = field(default_factory=VentSettings)
    queue: QueueSettings = field(default_factory=QueueSettings)
    learn: LearnSettings = field(default_factory=LearnSettings)
    mcp: McpSettings = field(default_factory=McpSettings)
    """The `[mcp]` table: servers from the user's and the project's files (see once.mcp.config)."""
    prices: Prices = field(default_factory=dict)
    # key (or "prices.<model>.<field>") -> "default" | "user" | "project" | "env" | "flag"
    sources: dict[str, str] = field(default_factory=lambda: {name: "default" for name in KEYS})


# ---------------------------------------------------------------- reading


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a config file; a missing file is empty, a broken one is a ConfigError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc}") from None
    import tomllib  # most runs have no config file to parse

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}",
                          hint="fix the file by hand, or delete it to start over") from None


def _parse_file(data: Mapping[str, Any], where: str) -> tuple[dict[str, Any], Prices]:
    """Validate one file's contents; return its scalar settings and its prices."""
    scalars: dict[str, Any] = {}
    prices: Prices = {}
    for name, value in data.items():
        if name == MCP:
            continue  # parsed on its own in load_settings: servers are tables of any name
        if name == PRICES:
            prices = check_prices_table(value, where)
        elif name in TABLES:
            scalars.update(_parse_table(name, value, where))
        elif name in KEYS:
            scalars[name] = check_value(KEYS[name], value, where)
        else:
            raise unknown_key_error(name, where)
    return scalars, prices


def _parse_table(table: str, value: Any, where: str) -> dict[str, Any]:
    """`[verify]` -> {"verify.when": ..., ...}, each value checked like a top-level key."""
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: {table} must be a table, e.g. [{table}]", hint="see: agent config list")
    scalars: dict[str, Any] = {}
    for sub, item in value.items():
        dotted = f"{table}.{sub}"
        if dotted not in KEYS:
            raise unknown_key_error(dotted, where)
        scalars[dotted] = check_value(KEYS[dotted], item, where)
    return scalars


def _from_env(key: Key, env: Mapping[str, str]) -> tuple[bool, Any]:
    raw = env.get(key.env) if key.env else None
    if not raw:  # unset or empty: an empty env var means "not set", as usual in shells
        return False, None
    return True, coerce_text(key, raw, f"environment variable {key.env}")


def _from_flag(name: str, value: Any) -> Any:
    if name not in KEYS:
        # Flags come from our own CLI code, so this is a bug, not a user error.
        raise ValueError(f"unknown setting {name!r} passed as a flag")
    where = f"flag --{name.replace('_', '-')}"
    if isinstance(value, str):
        return coerce_text(KEYS[name], value, where)
    return check_value(KEYS[name], value, where)


def load_settings(
    repo_root: Path | None,
    *,
    env: Mapping[str, str] | None = None,
    flags: Mapping[str, Any] | None = None,
) -> Settings:
    """Layer defaults, user file, project file, env vars and flags (None flags are skipped)."""
    env = os.environ if env is None else env
    settings = Settings()
    layers = [("user", user_config_path(env))]
    if repo_root is not None:
        layers.append(("project", project_config_path(repo_root)))
    mcp_layers: dict[str, tuple[dict[str, ServerSpec], tuple[str, ...]]] = {}
    for label, path in layers:
        data = read_toml(path)
        scalars, prices = _parse_file(data, str(path))
        if MCP in data:
            mcp_layers[label] = parse_mcp_table(data[MCP], str(path), label)
        if label == "project":
            for name in scalars:
                check_scope(name, "project", where=str(path))
        for name, value in scalars.items():
            _assign(settings, name, value, label)
        for model, fields in prices.items():  # merged field by field across layers
            for price_field, number in fields.items():
                settings.prices.setdefault(model, {})[price_field] = number
                settings.sources[f"{PRICES}.{model}.{price_field}"] = label
    user_servers, trusted = mcp_layers.get("user", ({}, ()))
    settings.mcp = merge_mcp(user_servers, mcp_layers.get("project", ({}, ()))[0], trusted)
    for name, key in KEYS.items():
        found, value = _from_env(key, env)
        if found:
            _assign(settings, name, value, "env")
    for name, value in (flags or {}).items():
        if value is not None:
            _assign(settings, name, _from_flag(name, value), "flag")
    return settings


def check_scope(name: str, scope: str, where: str = "") -> None:
    """Refuse keys that only the user (not a repository) may set."""
    if scope == "project" and name in KEYS and KEYS[name].user_only:
        prefix = f"{where}: " if where else ""
        raise ConfigError(
            f"{prefix}{name} cannot be set in a project's config: {USER_ONLY_WHY}",
            hint=f"Set it in your user config (agent config set {name} VALUE), with {KEYS[name].env} or a flag.",
        )


def _assign(settings: Settings, name: str, value: Any, source: str) -> None:
    key = KEYS.get(name)
    previous = settings.sources.get(name, "default")
    if key is not None and key.merge and previous != "default":
        # A merging list (policy.deny): this layer adds entries, it cannot drop lower ones.
        value = (*_read(settings, name), *(item for item in value if item not in _read(settings, name)))
        source = f"{previous},{source}"
    split = split_table_key(name)
    if split is None:
        setattr(settings, name, value)
    else:  # the table's dataclass is frozen: swap in an updated copy
        table, sub = split
        setattr(settings, table, replace(getattr(settings, table), **{sub: value}))
    settings.sources[name] = source


def _read(settings: Settings, name: str) -> Any:
    """The value of a key of KEYS, top-level (`model`) or in a table (`verify.when`)."""
    split = split_table_key(name)
    if split is None:
        return getattr(settings, name)
    return getattr(getattr(settings, split[0]), split[1])


# ---------------------------------------------------------------- querying


def canonical_key(name: str) -> str:
    """The key as stored (`max-turns` -> `max_turns`); unknown keys are a ConfigError."""
    name = normalize_key(name)
    if name in KEYS or name == PRICES:
        return name
    if name.startswith(PRICES + "."):
        split_price_key(name)  # raises on `prices.` with no model
        return name
    raise unknown_key_error(name)


def get_value(settings: Settings, key: str) -> Any:
    """The effective value of `key`; price keys give a number, a model's table, or None."""
    name = canonical_key(key)
    if name in KEYS:
        return _read(settings, name)
    if name == PRICES:
        return {model: dict(fields) for model, fields in settings.prices.items()}
    model, price_field = split_price_key(name)
    fields = settings.prices.get(model)
    if fields is None:
        return None
    return dict(fields) if price_field is None else fields.get(price_field)


def source_of(settings: Settings, key: str) -> str:
    """Where `key`'s value came from; a price table whose fields differ gives e.g. "project,user"."""
    name = canonical_key(key)
    if name in KEYS:
        return settings.sources.get(name, "default")
    prefix = name + "."
    found = sorted({src for k, src in settings.sources.items() if k == name or k.startswith(prefix)})
    return ",".join(found) if found else "default"


def configured_price(settings: Settings, model: str) -> dict[str, float] | None:
    """The configured price of `model`, or None unless both input and output are set."""
    fields = settings.prices.get(model)
    if not fields or "input" not in fields or "output" not in fields:
        return None
    return dict(fields)


def settings_rows(settings: Settings) -> list[dict[str, Any]]:
    """One row per key (and per configured price), for `config list` as table or JSON."""
    rows: list[dict[str, Any]] = []
    for name, key in KEYS.items():
        rows.append({"key": name, "value": _read(settings, name), "source": settings.sources.get(name, "default"),
                     "env": key.env, "allowed": key.allowed(), "help": key.help})
    for model in sorted(settings.prices):
        for price_field in PRICE_FIELDS:
            if price_field in settings.prices[model]:
                dotted = f"{PRICES}.{model}.{price_field}"
                rows.append({"key": dotted, "value": settings.prices[model][price_field],
                             "source": settings.sources.get(dotted, "default"), "env": None,
                             "allowed": "a non-negative number", "help": PRICES_HELP})
    return rows


# ---------------------------------------------------------------- writing


def find_repo_root(start: Path) -> Path | None:
    """The nearest directory at or above `start` holding `.git` (a dir, or a file in worktrees)."""
    here = start.resolve()
    for candidate in (here, *here.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def config_path(scope: str, repo_root: Path | None, env: Mapping[str, str] | None = None) -> Path:
    """The file that `config set --user|--project` writes."""
    if scope == "user":
        return user_config_path(env)
    if scope == "project":
        if repo_root is None:
            raise ConfigError("project config needs a git repository, and this is not inside one",
                              hint="run the command inside a git repository, or use --user")
        return project_config_path(repo_root)
    raise ConfigError(f"unknown config scope {scope!r}", hint=f"use one of: {', '.join(SCOPES)}")


def _write_toml(path: Path, data: Mapping[str, Any]) -> None:
    import tomli_w  # only needed when writing; keeps startup light

    atomic_write_text(path, tomli_w.dumps(dict(data)))


def _prices_table(data: dict[str, Any], path: Path) -> dict[str, Any]:
    table = data.setdefault(PRICES, {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: {PRICES} must be a table of models", hint=PRICES_HELP)
    return table


def set_value(path: Path, key: str, raw: str) -> Any:
    """Coerce `raw` for `key`, write it into the TOML file at `path`, return the stored value.

    "none" or "" unsets an optional key. The file is rewritten atomically; comments
    in it are not preserved.
    """
    name = canonical_key(key)
    if name == PRICES:
        raise ConfigError("set one price at a time", hint=f"e.g. {PRICES}.my-model.input 3.0")
    if raw.strip().lower() in NONE_WORDS and (name not in KEYS or KEYS[name].optional):
        unset_value(path, name)
        return None
    data = read_toml(path)
    if name in KEYS:
        value: Any = coerce_text(KEYS[name], raw, "")
        stored = list(value) if isinstance(value, tuple) else value  # a TOML array
        split = split_table_key(name)
        if split is None:
            data[name] = stored
        else:
            _table(data, split[0], path)[split[1]] = stored
    else:
        model, price_field = split_price_key(name)
        if price_field is None:
            raise ConfigError(f"{name!r} names a model, not a price",
                              hint=f"set one field: {name}.<{'|'.join(PRICE_FIELDS)}>")
        value = coerce_price_text(model, price_field, raw, "")
        _prices_table(data, path).setdefault(model, {})[price_field] = value
    _write_toml(path, data)
    return value


def unset_value(path: Path, key: str) -> bool:
    """Remove `key` (or a price, a model's prices, or all prices) from `path`; True if it was there."""
    name = canonical_key(key)
    if not path.exists():
        return False
    data = read_toml(path)
    split = split_table_key(name)
    if split is not None:
        removed = _unset_in_table(data, path, *split)
    elif name in KEYS or name == PRICES:
        removed = data.pop(name, None) is not None
    else:
        removed = _unset_price(data, path, name)
    if removed:
        _write_toml(path, data)
    return removed


def _table(data: dict[str, Any], table: str, path: Path) -> dict[str, Any]:
    found = data.setdefault(table, {})
    if not isinstance(found, dict):
        raise ConfigError(f"{path}: {table} must be a table, e.g. [{table}]",
                          hint="fix the file by hand, or delete the line")
    return found


def _unset_in_table(data: dict[str, Any], path: Path, table: str, sub: str) -> bool:
    if table not in data:
        return False
    found = _table(data, table, path)
    if found.pop(sub, None) is None:
        return False
    if not found:
        del data[table]  # don't leave an empty [verify] behind
    return True


def _unset_price(data: dict[str, Any], path: Path, name: str) -> bool:
    if PRICES not in data:
        return False
    table = _prices_table(data, path)
    model, price_field = split_price_key(name)
    if model not in table:
        return False
    if price_field is None:
        del table[model]
    elif isinstance(table[model], dict) and price_field in table[model]:
        del table[model][price_field]
        if not table[model]:
            del table[model]  # don't leave an empty [prices.model] behind
    else:
        return False
    if not table:
        del data[PRICES]
    return True
