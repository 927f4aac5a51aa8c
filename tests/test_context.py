"""Context assembly: knowledge files, AGENTS.md/CLAUDE.md discovery, limits and rendering."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from once.agent.context import (
    PRECEDENCE,
    REPO_FILE_LIMIT,
    WORKSPACE_KNOWLEDGE_LIMIT,
    ContextSource,
    context_events,
    find_nested_context,
    load_base_context,
    nested_agents_files,
    order_sources,
    render_context,
    render_nested,
    truncate_text,
)


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    return root


@pytest.fixture()
def config(tmp_path: Path) -> Path:
    directory = tmp_path / "config" / "once"
    directory.mkdir(parents=True)
    return directory


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- base context


def test_nothing_present_gives_nothing(repo: Path, config: Path) -> None:
    assert load_base_context(repo, config) == ([], [])
    assert render_context([]) == ""


def test_all_three_sources_in_order_of_specificity(repo: Path, config: Path) -> None:
    write(config / "knowledge.md", "prefer tabs\n")
    write(repo / ".once" / "knowledge.md", "tests live in tests/\n")
    write(repo / "AGENTS.md", "run make check\n")
    sources, warnings = load_base_context(repo, config)
    assert warnings == []
    assert [(s.kind, s.path, s.directory) for s in sources] == [
        ("workspace_knowledge", str(config / "knowledge.md"), ""),
        ("project_knowledge", ".once/knowledge.md", ""),
        ("agents_md", "AGENTS.md", ""),
    ]
    assert [s.text for s in sources] == ["prefer tabs\n", "tests live in tests/\n", "run make check\n"]
    assert not any(s.truncated for s in sources)


def test_agents_md_preferred_over_claude_md(repo: Path, config: Path) -> None:
    write(repo / "AGENTS.md", "from agents")
    write(repo / "CLAUDE.md", "from claude")
    sources, _ = load_base_context(repo, config)
    assert [(s.path, s.text) for s in sources] == [("AGENTS.md", "from agents")]


def test_claude_md_used_when_no_agents_md(repo: Path, config: Path) -> None:
    write(repo / "CLAUDE.md", "from claude")
    sources, warnings = load_base_context(repo, config)
    assert warnings == []
    assert [(s.kind, s.path, s.text) for s in sources] == [("agents_md", "CLAUDE.md", "from claude")]


def test_project_knowledge_alone(repo: Path, config: Path) -> None:
    write(repo / ".once" / "knowledge.md", "the db is sqlite")
    sources, warnings = load_base_context(repo, config)
    assert warnings == []
    assert [(s.kind, s.path, s.text) for s in sources] == [
        ("project_knowledge", ".once/knowledge.md", "the db is sqlite")]


def test_workspace_knowledge_truncated_at_limit_on_a_line_boundary(repo: Path, config: Path) -> None:
    line = "x" * 99 + "\n"  # 100 characters per line
    write(config / "knowledge.md", line * 150)  # 15,000 characters
    sources, warnings = load_base_context(repo, config)
    [source] = sources
    assert source.truncated
    assert len(source.text) == WORKSPACE_KNOWLEDGE_LIMIT
    assert source.text.endswith("\n") and set(source.text.splitlines()) == {"x" * 99}
    [warning] = warnings
    assert str(config / "knowledge.md") in warning
    assert "15,000 characters" in warning and "10,000" in warning


def test_truncation_keeps_whole_lines_when_the_limit_falls_mid_line(repo: Path, config: Path) -> None:
    write(config / "knowledge.md", ("y" * 299 + "\n") * 40)  # 12,000 characters
    [source], [warning] = load_base_context(repo, config)
    assert len(source.text) == 9_900  # 33 whole lines; the 34th would cross 10,000
    assert source.text.endswith("y\n")
    assert "12,000 characters" in warning


def test_workspace_knowledge_at_exactly_the_limit_is_kept_whole(repo: Path, config: Path) -> None:
    write(config / "knowledge.md", "z" * WORKSPACE_KNOWLEDGE_LIMIT)
    [source], warnings = load_base_context(repo, config)
    assert warnings == [] and not source.truncated and len(source.text) == WORKSPACE_KNOWLEDGE_LIMIT


def test_huge_single_line_file_is_cut_hard_without_reading_it_all(repo: Path, config: Path) -> None:
    write(config / "knowledge.md", "é" * 2_000_000)  # 4 MB: far beyond what is read
    [source], [warning] = load_base_context(repo, config)
    assert source.text == "é" * WORKSPACE_KNOWLEDGE_LIMIT and source.truncated
    assert "4,000,000 bytes" in warning


def test_repo_files_are_capped_too(repo: Path, config: Path) -> None:
    write(repo / "AGENTS.md", ("a" * 49 + "\n") * 1_000)  # 50,000 characters
    [source], [warning] = load_base_context(repo, config)
    assert source.truncated and len(source.text) == REPO_FILE_LIMIT
    assert "AGENTS.md" in warning and "20,000" in warning


def test_non_utf8_files_are_warnings_not_crashes(repo: Path, config: Path) -> None:
    (config / "knowledge.md").write_bytes(b"caf\xe9 au lait\n")  # latin-1
    (repo / "AGENTS.md").write_bytes(b"\xff\xfe\x00garbage")
    write(repo / ".once" / "knowledge.md", "fine")
    sources, warnings = load_base_context(repo, config)
    assert [s.kind for s in sources] == ["project_knowledge"]
    assert len(warnings) == 2
    assert str(config / "knowledge.md") in warnings[0] and "not UTF-8" in warnings[0]
    assert "AGENTS.md" in warnings[1] and "not UTF-8" in warnings[1]


def test_unreadable_file_is_a_warning(repo: Path, config: Path) -> None:
    (config / "knowledge.md").mkdir()  # reading a directory fails with an OSError
    sources, [warning] = load_base_context(repo, config)
    assert sources == []
    assert str(config / "knowledge.md") in warning and "could not be read" in warning


def test_byte_order_mark_and_blank_files(repo: Path, config: Path) -> None:
    (repo / "AGENTS.md").write_bytes("\ufeffhello".encode("utf-8"))
    write(repo / ".once" / "knowledge.md", "  \n\n")
    sources, warnings = load_base_context(repo, config)
    assert warnings == []
    assert [(s.path, s.text) for s in sources] == [("AGENTS.md", "hello")]


def test_root_agents_md_symlinked_outside_is_refused(repo: Path, config: Path, tmp_path: Path) -> None:
    secret = write(tmp_path / "outside.md", "not for the model")
    os.symlink(secret, repo / "AGENTS.md")
    sources, [warning] = load_base_context(repo, config)
    assert sources == []
    assert "outside the repository" in warning


# ---------------------------------------------------------------- nested discovery


def test_nested_files_outer_to_inner(repo: Path) -> None:
    write(repo / "AGENTS.md", "root")
    write(repo / "a" / "AGENTS.md", "a rules")
    write(repo / "a" / "b" / "CLAUDE.md", "b rules")
    write(repo / "a" / "b" / "c.py", "print()")
    sources = nested_agents_files(repo, ["a/b/c.py"], {"AGENTS.md"})
    assert [(s.kind, s.path, s.directory, s.text) for s in sources] == [
        ("agents_md", "a/AGENTS.md", "a", "a rules"),
        ("agents_md", "a/b/CLAUDE.md", "a/b", "b rules"),
    ]


def test_nested_not_loaded_twice(repo: Path) -> None:
    write(repo / "a" / "AGENTS.md", "a rules")
    write(repo / "a" / "b" / "CLAUDE.md", "b rules")
    loaded = {"AGENTS.md"}
    first = nested_agents_files(repo, ["a/b/c.py", "a/other.py", "a/b/c.py"], loaded)
    assert [s.path for s in first] == ["a/AGENTS.md", "a/b/CLAUDE.md"]  # each once within a call
    loaded |= {s.path for s in first}
    assert nested_agents_files(repo, ["a/b/c.py", "a/x.py"], loaded) == []


def test_nested_prefers_agents_md_in_each_directory(repo: Path) -> None:
    write(repo / "a" / "AGENTS.md", "agents")
    write(repo / "a" / "CLAUDE.md", "claude")
    assert [s.path for s in nested_agents_files(repo, ["a/f.py"], set())] == ["a/AGENTS.md"]


def test_nested_ignores_root_and_root_level_files(repo: Path) -> None:
    write(repo / "AGENTS.md", "root")
    assert nested_agents_files(repo, ["setup.py", ".", ""], set()) == []


def test_nested_for_a_new_file_in_an_existing_directory(repo: Path) -> None:
    write(repo / "pkg" / "AGENTS.md", "pkg rules")
    assert [s.path for s in nested_agents_files(repo, ["pkg/new/module.py"], set())] == ["pkg/AGENTS.md"]


def test_a_directory_path_brings_its_own_instructions(repo: Path) -> None:
    write(repo / "a" / "AGENTS.md", "a rules")
    write(repo / "a" / "b" / "AGENTS.md", "b rules")
    assert [s.path for s in nested_agents_files(repo, ["a/b"], set())] == ["a/AGENTS.md", "a/b/AGENTS.md"]


def test_nested_never_leaves_the_repo(repo: Path, tmp_path: Path) -> None:
    write(tmp_path / "AGENTS.md", "parent of the repo")
    write(tmp_path / "elsewhere" / "AGENTS.md", "elsewhere")
    paths = ["../elsewhere/x.py", str(tmp_path / "elsewhere" / "x.py"), "../x.py", "/etc/passwd"]
    assert find_nested_context(repo, paths, set()) == ([], [])


def test_symlinked_directory_pointing_outside_is_ignored(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write(outside / "AGENTS.md", "outside rules")
    write(outside / "deep" / "AGENTS.md", "deeper outside rules")
    os.symlink(outside, repo / "linked")
    assert find_nested_context(repo, ["linked/x.py", "linked/deep/y.py"], set()) == ([], [])


def test_symlinked_directory_inside_the_repo_resolves_to_its_target(repo: Path) -> None:
    write(repo / "real" / "AGENTS.md", "real rules")
    os.symlink(repo / "real", repo / "alias")
    first = nested_agents_files(repo, ["alias/x.py"], set())
    assert [(s.path, s.directory) for s in first] == [("real/AGENTS.md", "real")]
    assert nested_agents_files(repo, ["real/x.py"], {"real/AGENTS.md"}) == []


def test_nested_agents_md_symlinked_to_the_root_one_is_not_repeated(repo: Path) -> None:
    write(repo / "AGENTS.md", "root")
    (repo / "sub").mkdir()
    os.symlink("../AGENTS.md", repo / "sub" / "AGENTS.md")
    assert nested_agents_files(repo, ["sub/x.py"], {"AGENTS.md"}) == []


def test_nested_agents_md_symlinked_outside_is_a_warning(repo: Path, tmp_path: Path) -> None:
    secret = write(tmp_path / "secret.md", "secret")
    (repo / "sub").mkdir()
    os.symlink(secret, repo / "sub" / "AGENTS.md")
    sources, [warning] = find_nested_context(repo, ["sub/x.py"], set())
    assert sources == [] and "sub/AGENTS.md" in warning and "outside the repository" in warning


def test_nothing_under_git_is_read(repo: Path) -> None:
    write(repo / ".git" / "AGENTS.md", "git internals")
    write(repo / ".git" / "hooks" / "AGENTS.md", "hooks")
    assert find_nested_context(repo, [".git/config", ".git/hooks/pre-commit", "a/../.git/x"], set()) == ([], [])


def test_nested_non_utf8_is_a_warning(repo: Path) -> None:
    (repo / "a").mkdir()
    (repo / "a" / "AGENTS.md").write_bytes(b"\x80\x81")
    sources, [warning] = find_nested_context(repo, ["a/f.py"], set())
    assert sources == [] and "a/AGENTS.md" in warning and "not UTF-8" in warning


def test_odd_directory_names(repo: Path) -> None:
    odd = ["with space", "ünïcödé", "dash-and.dot", "[brackets]", "*star*", "-leading"]
    for name in odd:
        write(repo / name / "AGENTS.md", f"rules for {name}")
    sources = nested_agents_files(repo, [f"{name}/file name.py" for name in odd], set())
    assert sorted(s.path for s in sources) == sorted(f"{name}/AGENTS.md" for name in odd)
    assert {s.directory: s.text for s in sources} == {name: f"rules for {name}" for name in odd}
    rendered = render_nested(sources)
    for name in odd:
        assert f"Instructions for {name}/ (from {name}/AGENTS.md)" in rendered


def test_nested_ordering_across_several_paths_is_outer_first(repo: Path) -> None:
    for directory in ("z", "z/deep", "a", "a/b", "a/b/c"):
        write(repo / directory / "AGENTS.md", directory)
    sources = nested_agents_files(repo, ["z/deep/f.py", "a/b/c/g.py"], set())
    depths = [s.directory.count("/") for s in sources]
    assert depths == sorted(depths)
    assert [s.path for s in sources].index("a/AGENTS.md") < [s.path for s in sources].index("a/b/c/AGENTS.md")


# ---------------------------------------------------------------- rendering


def _src(kind: str, path: str, directory: str = "", text: str = "t", truncated: bool = False) -> ContextSource:
    return ContextSource(kind=kind, path=path, directory=directory, text=text, truncated=truncated)


def test_render_context_has_precedence_and_sources_in_order(repo: Path, config: Path) -> None:
    write(config / "knowledge.md", "WORKSPACE-TEXT")
    write(repo / ".once" / "knowledge.md", "PROJECT-TEXT")
    write(repo / "CLAUDE.md", "ROOT-TEXT")
    sources, _ = load_base_context(repo, config)
    rendered = render_context(sources)
    assert PRECEDENCE in rendered
    assert rendered.index(PRECEDENCE) < rendered.index("WORKSPACE-TEXT")
    assert rendered.index("WORKSPACE-TEXT") < rendered.index("PROJECT-TEXT") < rendered.index("ROOT-TEXT")
    assert f"## Workspace knowledge (from {config / 'knowledge.md'})" in rendered
    assert "## Project knowledge (from .once/knowledge.md)" in rendered
    assert "## Instructions for the whole repository (from CLAUDE.md)" in rendered


def test_render_context_orders_by_specificity_whatever_the_input_order() -> None:
    shuffled = [
        _src("agents_md", "a/b/AGENTS.md", "a/b", "INNER"),
        _src("agents_md", "AGENTS.md", "", "ROOT"),
        _src("project_knowledge", ".once/knowledge.md", "", "PROJECT"),
        _src("agents_md", "a/AGENTS.md", "a", "OUTER"),
        _src("workspace_knowledge", "/home/u/.config/once/knowledge.md", "", "WORKSPACE"),
    ]
    rendered = render_context(shuffled)
    positions = [rendered.index(word) for word in ("WORKSPACE", "PROJECT", "ROOT", "OUTER", "INNER")]
    assert positions == sorted(positions)
    assert "## Instructions for a/b/ (from a/b/AGENTS.md)" in rendered
    assert [s.text for s in order_sources(shuffled)] == ["WORKSPACE", "PROJECT", "ROOT", "OUTER", "INNER"]


def test_render_marks_truncated_sources() -> None:
    rendered = render_context([_src("workspace_knowledge", "/k.md", truncated=True)])
    assert "[truncated to fit the limit]" in rendered
    assert "truncated" not in render_context([_src("workspace_knowledge", "/k.md")]).split(PRECEDENCE)[1]


def test_render_nested_note() -> None:
    assert render_nested([]) == ""
    note = render_nested([_src("agents_md", "src/api/AGENTS.md", "src/api", "Use pydantic models.\n"),
                          _src("agents_md", "src/AGENTS.md", "src", "Type everything.")])
    assert note.startswith("Instructions for src/ (from src/AGENTS.md) now apply; they take precedence over the "
                           "repository's AGENTS.md")
    assert "Instructions for src/api/ (from src/api/AGENTS.md) now apply" in note
    assert note.index("Type everything.") < note.index("Use pydantic models.")


def test_context_events_record_every_source() -> None:
    events = context_events([_src("agents_md", "AGENTS.md", text="abc", truncated=True),
                             _src("project_knowledge", ".once/knowledge.md", text="xy")], run_id="r_1")
    assert [e.to_dict()["type"] for e in events] == ["context_loaded", "context_loaded"]
    assert [(e.kind, e.path, e.chars, e.truncated, e.run_id) for e in events] == [
        ("agents_md", "AGENTS.md", 3, True, "r_1"), ("project_knowledge", ".once/knowledge.md", 2, False, "r_1")]


@pytest.mark.parametrize(("text", "limit", "expected"), [
    ("short", 10, "short"),
    ("line one\nline two\n", 12, "line one\n"),
    ("abcdefghij", 4, "abcd"),  # no line boundary: cut mid-line
    ("a\n" + "b" * 20, 10, "a\nbbbbbbbb"),  # the only boundary loses too much: cut mid-line
])
def test_truncate_text(text: str, limit: int, expected: str) -> None:
    assert truncate_text(text, limit) == expected


def test_repo_reached_through_a_symlinked_root(repo: Path, tmp_path: Path) -> None:
    write(repo / "a" / "AGENTS.md", "a rules")
    alias = tmp_path / "alias"
    os.symlink(repo, alias)
    sources = nested_agents_files(alias, ["a/x.py", str(alias / "a" / "y.py")], set())
    assert [s.path for s in sources] == ["a/AGENTS.md"]
