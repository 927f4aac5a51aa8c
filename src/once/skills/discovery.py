"""Find, parse and validate skills (Agent Skills format: `<dir>/<name>/SKILL.md`).

Search order, later overriding earlier ones of the same name: the bundled skills,
`$XDG_CONFIG_HOME/once/skills/`, `<repo>/.once/skills/`, `<repo>/.claude/skills/`.
A bad SKILL.md never stops a run: it becomes a warning naming the file and the rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from once.errors import OnceError
from once.skills.frontmatter import FrontmatterError, parse_frontmatter

SKILL_FILE = "SKILL.md"
NAME_MAX = 64
DESCRIPTION_MAX = 1024
FILE_MAX_BYTES = 256_000  # a skill body goes into a prompt; anything bigger is a mistake
SOURCES = ("bundled", "user", "project", "claude")
_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


class SkillError(OnceError):
    """A SKILL.md that cannot be used; the message is the rule it breaks."""


@dataclass(frozen=True)
class Skill:
    name: str
    description: str
    path: Path
    source: str  # "bundled" | "user" | "project" | "claude"

    def body(self) -> str:
        """The instructions after the frontmatter, read now (skills load on demand)."""
        return _read_skill(self.path)[1]

    def frontmatter(self) -> dict[str, Any]:
        return _read_skill(self.path)[0]


def bundled_dir() -> Path:
    return Path(__file__).resolve().parent / "bundled"


def skill_roots(repo_root: Path | None, config_dir: Path) -> list[tuple[str, Path]]:
    """(source, directory) in search order; later ones win."""
    roots = [("bundled", bundled_dir()), ("user", config_dir / "skills")]
    if repo_root is not None:
        roots += [("project", repo_root / ".once" / "skills"), ("claude", repo_root / ".claude" / "skills")]
    return roots


def discover_skills(repo_root: Path | None, config_dir: Path) -> tuple[list[Skill], list[str]]:
    """(every usable skill sorted by name, a warning for each one skipped)."""
    found: dict[str, Skill] = {}
    warnings: list[str] = []
    for source, root in skill_roots(repo_root, config_dir):
        for skill_dir in _skill_dirs(root, warnings):
            path = skill_dir / SKILL_FILE
            if not path.is_file():
                warnings.append(f"{skill_dir}: no {SKILL_FILE} in this skill directory; skipped")
                continue
            try:
                skill = load_skill(path, source)
            except SkillError as exc:
                warnings.append(f"{path}: {exc.message}; skipped")
                continue
            found[skill.name] = skill  # a later place overrides an earlier one
    return sorted(found.values(), key=lambda s: s.name), warnings


def _skill_dirs(root: Path, warnings: list[str]) -> list[Path]:
    if not root.is_dir():
        return []
    try:
        entries = sorted(root.iterdir())
    except OSError as exc:
        warnings.append(f"{root}: cannot list skills: {exc.strerror or exc}")
        return []
    # Hidden and underscore directories (.git, __pycache__) are never skills.
    return [entry for entry in entries if entry.is_dir() and not entry.name.startswith((".", "_"))]


def load_skill(path: Path, source: str) -> Skill:
    """One validated skill; raises SkillError naming the broken rule."""
    meta, _ = _read_skill(path)
    name = _check_name(meta.get("name"), path.parent.name)
    description = _check_description(meta.get("description"))
    return Skill(name=name, description=description, path=path, source=source)


def _read_skill(path: Path) -> tuple[dict[str, Any], str]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SkillError(f"cannot be read: {exc.strerror or exc}") from None
    if len(data) > FILE_MAX_BYTES:
        raise SkillError(f"is larger than {FILE_MAX_BYTES // 1000} KB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SkillError("is not UTF-8 text") from None
    try:
        parsed = parse_frontmatter(text)
    except FrontmatterError as exc:
        raise SkillError(f"invalid frontmatter: {exc}") from None
    if parsed is None:
        raise SkillError("has no YAML frontmatter (the file must start with a '---' line)")
    return parsed


def _check_name(name: Any, dir_name: str) -> str:
    if name is None or name == "":
        raise SkillError("frontmatter has no 'name'")
    if not isinstance(name, str):
        raise SkillError("'name' must be a string")
    if len(name) > NAME_MAX:
        raise SkillError(f"'name' is longer than {NAME_MAX} characters")
    if not _NAME.fullmatch(name):
        raise SkillError(f"'name' must be lowercase letters, digits and single hyphens, "
                         f"not starting or ending with a hyphen (got '{name}')")
    if name != dir_name:
        raise SkillError(f"'name' is '{name}' but its directory is '{dir_name}'; they must match")
    return name


def _check_description(description: Any) -> str:
    if description is None or (isinstance(description, str) and not description.strip()):
        raise SkillError("frontmatter has no 'description'")
    if not isinstance(description, str):
        raise SkillError("'description' must be a string")
    description = description.strip()
    if len(description) > DESCRIPTION_MAX:
        raise SkillError(f"'description' is {len(description)} characters, more than {DESCRIPTION_MAX}")
    return description
