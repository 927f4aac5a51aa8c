"""`agent skills list|show`: the playbooks the agent can load, and where each comes from."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Optional

import typer

from once.cli.common import print_json, repo_dir, reported, terminal_safe

app = typer.Typer(
    name="skills",
    no_args_is_help=True,
    rich_markup_mode=None,
    help=(
        "List and show skills: playbooks whose names and descriptions are in every prompt, "
        "and whose instructions load when a prompt says /NAME or the task fits.\n\n"
        "Searched in this order, a later one replacing an earlier one of the same name: "
        "bundled, $XDG_CONFIG_HOME/once/skills/, <repo>/.once/skills/, <repo>/.claude/skills/. "
        "Each skill is a directory NAME/ holding SKILL.md with 'name' and 'description' frontmatter.\n\n"
        "\b\nExamples:\n"
        "  agent skills list\n"
        "  agent skills show python-tests"
    ),
)

RepoOption = typer.Option(None, "--repo", "-C", help="The repository (default: the one around the cwd).")
DESCRIPTION_WIDTH = 90



def _discover(repo: Path | None) -> tuple[list[Any], list[str]]:
    from once.config import find_repo_root
    from once.paths import config_dir
    from once.skills import discover_skills

    return discover_skills(find_repo_root(repo_dir(repo)), config_dir())


def _skill_dict(skill: Any) -> dict[str, str]:
    return {"name": skill.name, "source": skill.source, "description": skill.description, "path": str(skill.path)}


@app.command("list")
def list_command(
    json_out: bool = typer.Option(False, "--json", help="Print name, source, description and path as JSON."),
    repo: Optional[Path] = RepoOption,
) -> None:
    """List every skill: name, where it comes from, what it is for, and its file.

    Files that are not valid skills are reported on stderr and left out.
    """
    with reported():
        skills, warnings = _discover(repo)
    for warning in warnings:
        typer.echo(terminal_safe(f"warning: {warning}"), err=True)
    if json_out:
        print_json([_skill_dict(skill) for skill in skills])
        return
    if not skills:
        typer.echo("no skills found")
        return
    width = max(len(skill.name) for skill in skills)
    for skill in skills:
        description = " ".join(skill.description.split())
        if len(description) > DESCRIPTION_WIDTH:
            description = description[:DESCRIPTION_WIDTH - 1].rstrip() + "…"
        typer.echo(terminal_safe(f"{skill.name:<{width}}  {skill.source:<7}  {description}"))
        typer.echo(terminal_safe(f"{'':<{width}}  {'':<7}  {skill.path}"))


@app.command("show")
def show_command(
    name: str = typer.Argument(..., help="The skill's name (a leading / is allowed, as in prompts)."),
    json_out: bool = typer.Option(False, "--json", help="Print the frontmatter, body, source and path as JSON."),
    repo: Optional[Path] = RepoOption,
) -> None:
    """Show one skill: its frontmatter and the instructions that load into the prompt.

    Example: agent skills show git-hygiene
    """
    with reported():
        skills, _ = _discover(repo)
        skill = _find(name.lstrip("/"), skills)
        frontmatter, body = skill.frontmatter(), skill.body()
    if json_out:
        print_json({**_skill_dict(skill), "frontmatter": frontmatter, "body": body})
        return
    typer.echo(terminal_safe(f"{skill.name}  ({skill.source}: {skill.path})"))
    for key, value in frontmatter.items():
        if key != "name":
            typer.echo(terminal_safe(f"{key}: {' '.join(str(value).split())}"))
    typer.echo("")
    typer.echo(terminal_safe(body))


def _find(name: str, skills: list[Any]) -> Any:
    from once.errors import UsageError

    by_name = {skill.name: skill for skill in skills}
    if name in by_name:
        return by_name[name]
    close = difflib.get_close_matches(name, list(by_name), n=1, cutoff=0.5)
    hint = f"Did you mean '{close[0]}'? " if close else ""
    raise UsageError(f"no skill named '{name}'", hint=f"{hint}List the skills with `agent skills list`.")
