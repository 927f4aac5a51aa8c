"""Skills: frontmatter parsing, discovery and validation, `/name`, lexical and small-model routing."""

from __future__ import annotations

import fnmatch
import json
import tomllib
from pathlib import Path

import pytest

from once.errors import ProviderError
from once.skills import (
    Skill,
    discover_skills,
    explicit_skills,
    match_lexical,
    render_skill_bodies,
    route,
    route_skills,
    skills_prompt,
)
from once.skills.discovery import bundled_dir
from once.skills.frontmatter import FrontmatterError, parse_frontmatter

REQUIRED_BUNDLED = {"python-tests", "git-hygiene", "secrets-and-config", "debug-failing-test"}


def write_skill(root: Path, dirname: str, text: str) -> Path:
    path = root / dirname / "SKILL.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def skill_text(name: str, description: str = "A test skill. Use when testing.", body: str = "Do the thing.") -> str:
    return f"---\nname: {name}\ndescription: {description}\n---\n{body}\n"


@pytest.fixture()
def places(tmp_path: Path) -> tuple[Path, Path]:
    """(a temp repo root, a temp config dir), both empty."""
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    return repo, tmp_path / "xdg" / "once"


@pytest.fixture(scope="module")
def bundled() -> list[Skill]:
    skills, warnings = discover_skills(None, Path("/nonexistent-config-dir"))
    assert warnings == []
    return skills


def meta(text: str) -> dict[str, object]:
    parsed = parse_frontmatter(text)
    assert parsed is not None
    return parsed[0]


# --- frontmatter ---------------------------------------------------------------------------------

def test_frontmatter_scalars_quotes_and_colons() -> None:
    data = meta('---\n'
                'name: my-skill   # trailing comment\n'
                'plain: Use when: the tests fail\n'
                'url: https://example.com:8080/x#frag\n'
                "single: 'it''s: quoted # not a comment'\n"
                'double: "tab\\there \\"q\\" \\u00e9 #x"\n'
                'version: 1.0\n'
                'empty:\n'
                '---\nbody\n')
    assert data == {"name": "my-skill", "plain": "Use when: the tests fail", "url": "https://example.com:8080/x#frag",
                    "single": "it's: quoted # not a comment", "double": 'tab\there "q" é #x',
                    "version": "1.0", "empty": None}


def test_frontmatter_block_scalars_and_chomping() -> None:
    data = meta("---\n"
                "folded: >\n  first line\n  same paragraph\n\n  second paragraph\n    kept indented\n  end\n"
                "literal: |\n  line one\n    indented\n  line three\n\n"
                "stripped: |-\n  no newline\n"
                "kept: >+\n  trailing\n\n\n"
                "digit: |2\n    four spaces\n"
                "---\n")
    assert data["folded"] == "first line same paragraph\nsecond paragraph\n  kept indented\nend\n"
    assert data["literal"] == "line one\n  indented\nline three\n"
    assert data["stripped"] == "no newline"
    assert data["kept"] == "trailing\n\n\n"
    assert data["digit"] == "  four spaces\n"


def test_frontmatter_lists_nesting_and_multiline_plain() -> None:
    data = meta("---\n"
                "description: a long description\n  continued here\n  # a comment line\n  and here\n"
                "tools:\n- read_file\n- 'search'\n"
                "indented:\n  - one\n  - two\n"
                "flow: [a, \"b, c\", 'd']\n"
                "metadata:\n  author: someone\n  tags: [x]\n  nested:\n    deep: yes\n"
                "items:\n  - key: v1\n    other: v2\n  - plain\n"
                "---\n")
    assert data["description"] == "a long description continued here and here"
    assert data["tools"] == ["read_file", "search"]
    assert data["indented"] == ["one", "two"]
    assert data["flow"] == ["a", "b, c", "d"]
    assert data["metadata"] == {"author": "someone", "tags": ["x"], "nested": {"deep": "yes"}}
    assert data["items"] == [{"key": "v1", "other": "v2"}, "plain"]


def test_frontmatter_crlf_bom_and_body() -> None:
    text = "\ufeff---\r\nname: x\r\ndescription: >\r\n  two\r\n  lines\r\n---\r\n\r\n# Title\r\nbody\r\n"
    parsed = parse_frontmatter(text)
    assert parsed == ({"name": "x", "description": "two lines\n"}, "# Title\nbody")


def test_frontmatter_absent_or_unclosed() -> None:
    assert parse_frontmatter("# just markdown\n---\n") is None
    assert parse_frontmatter("") is None
    with pytest.raises(FrontmatterError, match="not closed"):
        parse_frontmatter("---\nname: x\n")


@pytest.mark.parametrize("block, message", [
    ("name: x\nname: y", "line 3: duplicate key 'name'"),
    ("name x", "line 2: expected 'key: value'"),
    ("  name: x", "line 2: unexpected indentation"),
    ("name: 'open", "unterminated quoted string"),
    ('name: "x" trailing', "after the closing quote"),
    ('name: "bad \\q"', "unknown escape"),
    ("name: {a: 1}", "flow mappings"),
    ("list: [a, [b]]", "nested collections"),
    ("list: [a, b", "unterminated list"),
    ("meta:\n\tkey: v", "line 3: tabs are not allowed"),
    ("text: |\n    deep\n  shallow", "line 4: less indented"),
    ("text: |x", "bad block scalar header"),
])
def test_frontmatter_errors_name_the_line(block: str, message: str) -> None:
    with pytest.raises(FrontmatterError, match=message.replace("'", ".").replace("|", "\\|")):
        parse_frontmatter(f"---\n{block}\n---\n")


# --- discovery -----------------------------------------------------------------------------------

def test_discovery_from_all_four_places_with_override_order(places: tuple[Path, Path]) -> None:
    repo, config = places
    user, project, claude = config / "skills", repo / ".once" / "skills", repo / ".claude" / "skills"
    write_skill(user, "user-only", skill_text("user-only", "From the user."))
    write_skill(project, "project-only", skill_text("project-only", "From the project."))
    write_skill(claude, "claude-only", skill_text("claude-only", "From .claude."))
    write_skill(user, "python-tests", skill_text("python-tests", "User's own testing playbook."))
    for root, label in ((user, "user"), (project, "project"), (claude, "claude")):
        write_skill(root, "shared", skill_text("shared", f"Defined in {label}."))
    write_skill(user, "user-then-project", skill_text("user-then-project", "user"))
    write_skill(project, "user-then-project", skill_text("user-then-project", "project"))

    skills, warnings = discover_skills(repo, config)
    assert warnings == []
    by_name = {skill.name: skill for skill in skills}
    assert [skill.name for skill in skills] == sorted(by_name)
    assert by_name["user-only"].source == "user"
    assert by_name["project-only"].source == "project"
    assert by_name["claude-only"].path == claude / "claude-only" / "SKILL.md"
    assert by_name["git-hygiene"].source == "bundled"
    assert (by_name["python-tests"].source, by_name["python-tests"].description) == ("user", "User's own testing playbook.")
    assert (by_name["shared"].source, by_name["shared"].description) == ("claude", "Defined in claude.")
    assert by_name["user-then-project"].source == "project"


def test_discovery_without_a_repo_uses_bundled_and_user(places: tuple[Path, Path]) -> None:
    repo, config = places
    write_skill(repo / ".once" / "skills", "project-only", skill_text("project-only"))
    write_skill(config / "skills", "mine", skill_text("mine"))
    skills, _ = discover_skills(None, config)
    names = {skill.name for skill in skills}
    assert "mine" in names and "project-only" not in names and REQUIRED_BUNDLED <= names


@pytest.mark.parametrize("dirname, text, rule", [
    ("no-front", "# Just a heading\n", "has no YAML frontmatter"),
    ("unclosed", "---\nname: unclosed\n", "not closed"),
    ("bad-yaml", "---\nname: bad-yaml\ndescription 'oops'\n---\n", "invalid frontmatter: line 3"),
    ("no-name", "---\ndescription: something\n---\n", "frontmatter has no 'name'"),
    ("Upper", skill_text("Upper"), "'name' must be lowercase letters, digits and single hyphens"),
    ("double--hyphen", skill_text("double--hyphen"), "single hyphens"),
    ("x" * 65, skill_text("x" * 65), "longer than 64 characters"),
    ("dir-name", skill_text("other-name"), "'name' is 'other-name' but its directory is 'dir-name'"),
    ("no-desc", "---\nname: no-desc\n---\nbody\n", "frontmatter has no 'description'"),
    ("blank-desc", "---\nname: blank-desc\ndescription: '  '\n---\n", "frontmatter has no 'description'"),
    ("list-desc", "---\nname: list-desc\ndescription: [a, b]\n---\n", "'description' must be a string"),
    ("long-desc", skill_text("long-desc", "d" * 1025), "1025 characters, more than 1024"),
])
def test_broken_skill_is_a_warning_naming_file_and_rule(places: tuple[Path, Path], dirname: str, text: str,
                                                        rule: str) -> None:
    repo, config = places
    root = repo / ".once" / "skills"
    path = write_skill(root, dirname, text)
    write_skill(root, "good-one", skill_text("good-one"))
    skills, warnings = discover_skills(repo, config)
    assert "good-one" in {skill.name for skill in skills}
    assert dirname not in {skill.name for skill in skills}
    assert len(warnings) == 1
    assert warnings[0].startswith(f"{path}: ")
    assert rule in warnings[0]


def test_unreadable_and_missing_skill_files_are_warnings(places: tuple[Path, Path]) -> None:
    repo, config = places
    root = repo / ".claude" / "skills"
    (root / "binary").mkdir(parents=True)
    (root / "binary" / "SKILL.md").write_bytes(b"---\nname: binary\ndescription: \xff\xfe\n---\n")
    (root / "empty-dir").mkdir()
    (root / ".hidden").mkdir()
    (root / "notes.md").write_text("a stray file is not a skill")
    _, warnings = discover_skills(repo, config)
    assert any("binary/SKILL.md: is not UTF-8 text" in w for w in warnings)
    assert any("empty-dir: no SKILL.md" in w for w in warnings)
    assert len(warnings) == 2


def test_body_is_read_on_demand(places: tuple[Path, Path]) -> None:
    repo, config = places
    path = write_skill(repo / ".once" / "skills", "lazy", skill_text("lazy", body="first version"))
    (skill,) = [s for s in discover_skills(repo, config)[0] if s.name == "lazy"]
    assert skill.body() == "first version"
    path.write_text(skill_text("lazy", body="edited\n\nsecond version"))
    assert skill.body() == "edited\n\nsecond version"
    assert skill.frontmatter() == {"name": "lazy", "description": "A test skill. Use when testing."}


# --- bundled playbooks ---------------------------------------------------------------------------

def test_bundled_skills_all_validate_and_are_substantial(bundled: list[Skill]) -> None:
    assert REQUIRED_BUNDLED <= {skill.name for skill in bundled}
    assert {skill.source for skill in bundled} == {"bundled"}
    for skill in bundled:
        lines = skill.body().splitlines()
        assert 30 <= len(skill.path.read_text().splitlines()) <= 80, skill.name
        assert lines[0].startswith("# "), skill.name
        assert "Use when" in skill.description, skill.name  # says when, not only what
        assert "\n" not in skill.description.strip()


def test_bundled_skills_are_package_data() -> None:
    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["once"]
    root = bundled_dir().parents[1]  # the `once` package
    for path in bundled_dir().glob("*/SKILL.md"):
        relative = path.relative_to(root).as_posix()
        assert any(fnmatch.fnmatch(relative, pattern) for pattern in patterns), relative


# --- explicit /name and prompt blocks ------------------------------------------------------------

def test_explicit_skills_are_word_bounded(bundled: list[Skill]) -> None:
    def names(prompt: str) -> list[str]:
        return [skill.name for skill in explicit_skills(prompt, bundled)]

    assert names("/python-tests please") == ["python-tests"]
    assert names("use /git-hygiene.") == ["git-hygiene"]
    assert names("(/git-hygiene) then `/python-tests`, and /git-hygiene again") == ["git-hygiene", "python-tests"]
    assert names("look at src/python-tests/x and /python-tests/y and /python-tests.py") == []
    assert names("see https://example.com/git-hygiene or a/b /nope") == []
    assert names("/Python-Tests") == ["python-tests"]


def test_skills_prompt_lists_names_and_descriptions_only(bundled: list[Skill]) -> None:
    block = skills_prompt(bundled)
    assert skills_prompt([]) == ""
    for skill in bundled:
        assert f"- {skill.name}: " in block
        assert skill.body().splitlines()[0] not in block  # no body in the base prompt
    assert "/<name>" in block
    assert len(block.splitlines()) == len(bundled) + 2


def test_render_skill_bodies(bundled: list[Skill]) -> None:
    chosen = [s for s in bundled if s.name in ("git-hygiene", "python-tests")]
    text = render_skill_bodies(chosen)
    assert f"## Skill: git-hygiene ({chosen[0].path})" in text
    assert "## Skill: python-tests" in text
    assert chosen[1].body().strip() in text
    assert "description:" not in text  # frontmatter stays out
    assert render_skill_bodies([]) == ""


def test_render_reports_a_skill_that_vanished(tmp_path: Path) -> None:
    gone = Skill("gone", "x", tmp_path / "gone" / "SKILL.md", "project")
    assert "could not be read" in render_skill_bodies([gone])


# --- lexical matching ----------------------------------------------------------------------------

def test_lexical_matcher_picks_and_refuses(bundled: list[Skill]) -> None:
    def names(prompt: str) -> list[str]:
        return [skill.name for skill in match_lexical(prompt, bundled)]

    assert names("add a pytest test for parse_args") == ["python-tests"]
    assert names("rename the variable x to y") == []
    assert names("the CI build fails with an ImportError traceback")[0] == "debug-failing-test"
    assert names("the API key is hard-coded in settings.py") == ["secrets-and-config"]
    assert names("commit my changes and update .gitignore") == ["git-hygiene"]
    assert names("") == []


def test_lexical_matcher_limit_threshold_and_determinism() -> None:
    skills = [Skill("alpha-parser", "Parse alpha files quickly.", Path("a"), "user"),
              Skill("beta-parser", "Parse beta files.", Path("b"), "user"),
              Skill("gamma", "Unrelated topic entirely.", Path("c"), "user")]
    both = "the beta parser and the alpha parser"
    assert [s.name for s in match_lexical(both, skills)] == ["alpha-parser", "beta-parser"]  # a tie: by name
    assert [s.name for s in match_lexical(both, list(reversed(skills)))] == ["alpha-parser", "beta-parser"]
    assert [s.name for s in match_lexical(both, skills, limit=1)] == ["alpha-parser"]
    # "parser" is shared by two names, so alone it is too weak to pick beta-parser.
    assert [s.name for s in match_lexical("fix the alpha parser", skills)] == ["alpha-parser"]
    assert match_lexical("topic", skills) == []  # one description word is below the threshold


# --- routing -------------------------------------------------------------------------------------

class ScriptedSmall:
    """A small model that answers from a script and records what it was asked."""

    def __init__(self, answer: str | Exception) -> None:
        self.answer = answer
        self.calls: list[tuple[str, str]] = []

    def __call__(self, system: str, question: str) -> str:
        self.calls.append((system, question))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def names_of(skills: list[Skill]) -> list[str]:
    return [skill.name for skill in skills]


def test_route_with_small_model_uses_its_answer(bundled: list[Skill]) -> None:
    small = ScriptedSmall('Sure:\n```json\n["git-hygiene", "made-up", "git-hygiene", "/python-tests"]\n```')
    routing = route("tidy up before release", bundled, small)
    assert names_of(routing.skills) == ["git-hygiene", "python-tests"]
    assert (routing.method, routing.note) == ("small_model", None)
    (system, question), = small.calls
    assert "JSON array" in system and "at most 2" in system
    assert "tidy up before release" in question
    assert all(f"- {skill.name}: {skill.description.split()[0]}" in question for skill in bundled)


def test_route_explicit_first_and_not_offered_to_the_router(bundled: list[Skill]) -> None:
    small = ScriptedSmall('["python-tests"]')
    picked = route_skills("/secrets-and-config then write a pytest test", bundled, small, limit=1)
    assert names_of(picked) == ["secrets-and-config", "python-tests"]
    assert "- secrets-and-config:" not in small.calls[0][1]


def test_route_small_model_may_pick_nothing(bundled: list[Skill]) -> None:
    assert route_skills("add a pytest test for parse_args", bundled, ScriptedSmall("[]")) == []


@pytest.mark.parametrize("answer", ["I would use python tests", '["made-up-skill"]', "[1, 2]", '{"skills": "x"}'])
def test_route_garbage_answer_falls_back_to_lexical(bundled: list[Skill], answer: str) -> None:
    routing = route("add a pytest test for parse_args", bundled, ScriptedSmall(answer))
    assert names_of(routing.skills) == ["python-tests"]
    assert routing.method == "lexical" and routing.note and "not a JSON list" in routing.note


def test_route_provider_error_falls_back_to_lexical(bundled: list[Skill]) -> None:
    routing = route("add a pytest test for parse_args", bundled, ScriptedSmall(ProviderError("overloaded")))
    assert names_of(routing.skills) == ["python-tests"]
    assert routing.note and "overloaded" in routing.note


def test_route_bug_in_small_model_is_not_hidden(bundled: list[Skill]) -> None:
    with pytest.raises(KeyError):
        route_skills("anything", bundled, ScriptedSmall(KeyError("bug")))


def test_route_without_small_model_is_lexical_and_skips_calls(bundled: list[Skill]) -> None:
    assert names_of(route_skills("add a pytest test for parse_args", bundled, None)) == ["python-tests"]
    assert route_skills("rename the variable x to y", bundled, None) == []
    small = ScriptedSmall(json.dumps(["git-hygiene"]))
    only = [s for s in bundled if s.name == "git-hygiene"]
    assert names_of(route_skills("/git-hygiene", only, small)) == ["git-hygiene"]
    assert small.calls == []  # nothing left to route: no model call
    assert route_skills("anything", [], small) == [] and small.calls == []
