"""Writing an approved skill proposal to `<repo>/.once/skills/<name>/SKILL.md`.

The document is checked with the same rules discovery uses (a staged copy is loaded
first), so a learned skill never shows up later as a "not a valid skill" warning.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from once.atomic import atomic_write_text
from once.errors import UsageError
from once.skills.discovery import SkillError, load_skill
from once.skills.frontmatter import split_frontmatter


def skill_path(repo_root: Path, name: str) -> Path:
    return Path(repo_root) / ".once" / "skills" / name / "SKILL.md"


def merged_document(existing: str, document: str) -> str:
    """An existing skill keeps its frontmatter; the new instructions are appended to its body."""
    split = split_frontmatter(document)
    body = split[1] if split else document
    return existing.rstrip("\n") + "\n\n" + body.strip("\n") + "\n"


def validate(name: str, document: str) -> None:
    """Raise UsageError when `document` would not load as the skill `name`."""
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / name / "SKILL.md"
        staged.parent.mkdir(parents=True)
        staged.write_text(document, encoding="utf-8")
        try:
            load_skill(staged, "project")
        except SkillError as exc:
            raise UsageError(f"the proposed skill '{name}' is not a valid skill: {exc}",
                             hint="Reject it, or fix the text and propose it again.") from None


def write_skill(repo_root: Path, name: str, document: str) -> Path:
    """Create the skill, or append to it when it exists; returns its path."""
    path = skill_path(repo_root, name)
    text = merged_document(path.read_text(encoding="utf-8"), document) if path.exists() else document
    validate(name, text)
    atomic_write_text(path, text)
    return path
