"""Skills: playbooks in the Agent Skills format (`<dir>/<name>/SKILL.md`).

Only names and descriptions sit in the base prompt; a body loads when the prompt
names it as `/name` or the router picks it.
"""

from once.skills.discovery import Skill, SkillError, discover_skills, load_skill, skill_roots
from once.skills.routing import (
    Routing,
    explicit_skills,
    match_lexical,
    render_skill_bodies,
    route,
    route_skills,
    skills_prompt,
)

__all__ = [
    "Routing",
    "Skill",
    "SkillError",
    "discover_skills",
    "explicit_skills",
    "load_skill",
    "match_lexical",
    "render_skill_bodies",
    "route",
    "route_skills",
    "skill_roots",
    "skills_prompt",
]
