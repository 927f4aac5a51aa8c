"""Arms: the configurations an eval compares, each a name and settings for the agent.

    --arm small=model=qwen2.5-coder-0.5b-instruct
    --arm big=model=qwen2.5-coder-1.5b-instruct,max_turns=20
    --arm held=learn.arm=holdout
    --arm rec=replay=cassettes/          (a folder of <task>.json cassettes)
    --arm old=agent=../old/.venv/bin/agent  (another install of once: two prompt versions)
    --arm lean=arm.toml                  (a TOML file of the same keys)

Every key is a config key (`agent config list`), given to the agent through its environment
variable, or `replay` (a folder of cassettes) or `agent` (the `agent` program to run).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from once.config_schema import KEYS, coerce_text, normalize_key
from once.errors import ConfigError, UsageError

REPLAY_KEY = "replay"
AGENT_KEY = "agent"


@dataclass(frozen=True)
class Arm:
    name: str
    settings: dict[str, str] = field(default_factory=dict)
    """Config key -> value as text (what its environment variable would hold)."""
    replay: Path | None = None
    """A folder of cassettes: `<task>.json` for the first step, `<task>.<n>.json` for step n."""
    agent: str | None = None
    """Another `agent` program (e.g. an older install, to compare prompt versions); None: this one."""

    def command(self, python: str) -> list[str]:
        return [self.agent] if self.agent else [python, "-m", "once"]

    def env(self) -> dict[str, str]:
        return {KEYS[key].env: value for key, value in self.settings.items() if KEYS[key].env}

    def describe(self) -> str:
        parts = [f"{k}={v}" for k, v in sorted(self.settings.items())]
        if self.replay is not None:
            parts.append(f"replay={self.replay}")
        if self.agent is not None:
            parts.append(f"agent={self.agent}")
        return ", ".join(parts) or "defaults"

    def cassette(self, task: str, step: int) -> Path | None:
        if self.replay is None:
            return None
        return self.replay / (f"{task}.json" if step == 1 else f"{task}.{step}.json")

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "settings": dict(self.settings),
                "replay": str(self.replay) if self.replay else None, "agent": self.agent}


def base_arm(flags: Mapping[str, Any]) -> Arm:
    """The arm the command's own flags describe (None flags are left to the config)."""
    settings = {}
    replay = None
    for key, value in flags.items():
        if value is None:
            continue
        if key == REPLAY_KEY:
            replay = _replay_dir(str(value), "--replay")
        else:
            settings[key] = _checked(key, str(value), f"--{key.replace('_', '-')}")
    return Arm("default", settings, replay)


def parse_arm(spec: str, base: Arm) -> Arm:
    """`NAME=key=value,key=value` or `NAME=FILE.toml`, layered over the command's flags."""
    name, sep, config = spec.partition("=")
    name = name.strip()
    if not sep or not name or not config.strip():
        raise UsageError(f"--arm {spec!r}: write NAME=key=value[,key=value] or NAME=FILE.toml",
                         hint="e.g. --arm big=model=qwen2.5-coder-1.5b-instruct")
    if not name.replace("-", "").replace("_", "").isalnum():
        raise UsageError(f"--arm {spec!r}: an arm's name is letters, digits, - and _")
    pairs = _pairs_from_file(Path(config.strip())) if config.strip().endswith(".toml") else _pairs(config, spec)
    settings, replay, agent = dict(base.settings), base.replay, base.agent
    for key, value in pairs:
        if key == REPLAY_KEY:
            replay = _replay_dir(value, f"--arm {name}")
        elif key == AGENT_KEY:
            agent = _program(value, f"--arm {name}")
        else:
            settings[normalize_key(key)] = _checked(normalize_key(key), value, f"--arm {name}")
    return Arm(name, settings, replay, agent)


def parse_arms(specs: list[str], base: Arm) -> list[Arm]:
    arms = [parse_arm(spec, base) for spec in specs] or [base]
    names = [arm.name for arm in arms]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate:
        raise UsageError(f"two arms are named {duplicate!r}")
    return arms


def _pairs(config: str, spec: str) -> list[tuple[str, str]]:
    pairs = []
    for part in config.split(","):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--arm {spec!r}: {part!r} is not key=value")
        pairs.append((key.strip(), value.strip()))
    return pairs


def _pairs_from_file(path: Path) -> list[tuple[str, str]]:
    try:
        data = tomllib.loads(path.expanduser().read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read the arm file {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"the arm file {path} is not valid TOML: {exc}") from None
    pairs = []
    for key, value in data.items():
        if isinstance(value, dict):  # [verify] and the like
            pairs += [(f"{key}.{sub}", _text(v)) for sub, v in value.items()]
        else:
            pairs.append((key, _text(value)))
    return pairs


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        import json

        return json.dumps(value)
    return str(value)


def _checked(key: str, value: str, where: str) -> str:
    if key not in KEYS:
        raise UsageError(f"{where}: unknown setting {key!r}",
                         hint="Any key of `agent config list`, replay=FOLDER or agent=PROGRAM.")
    try:
        coerce_text(KEYS[key], value, where)
    except ConfigError as exc:
        raise UsageError(exc.message, hint=exc.hint) from None
    return value


def _program(value: str, where: str) -> str:
    import os
    import shutil

    found = shutil.which(os.path.expanduser(value))
    if found is None:
        raise UsageError(f"{where}: agent={value} is not a program that can be run",
                         hint="Give the path of another install's `agent`, e.g. ../old/.venv/bin/agent.")
    return str(Path(found).resolve())


def _replay_dir(value: str, where: str) -> Path:
    path = Path(value).expanduser()
    if not path.is_dir():
        raise UsageError(f"{where}: replay={value} is not a folder of cassettes",
                         hint="Give a folder holding <task>.json (and <task>.<n>.json for later steps).")
    return path.resolve()
