"""Edits written as text: how replies are read (pure parsing)."""

from __future__ import annotations

from once.agent.text_edits import TextEdit, parse_text_edits

BLOCK = """I will make it shout.

app/hello.py
<<<<<<< SEARCH
def greet(name):
    return "hello " + name
=======
def greet(name):
    return "HELLO " + name.upper()
>>>>>>> REPLACE
"""


def test_a_search_replace_block_under_its_path() -> None:
    parsed = parse_text_edits(BLOCK)
    assert parsed.problems == []
    assert parsed.edits == [TextEdit("app/hello.py", "replace", search='def greet(name):\n    return "hello " + name',
                                     replace='def greet(name):\n    return "HELLO " + name.upper()')]


def test_blocks_in_a_fence_and_a_whole_file_after_them() -> None:
    text = ("dates.py\n```python\n<<<<<<< SEARCH\nA = 1\n=======\nA = 2\n>>>>>>> REPLACE\n```\n\n"
            "Now `cli.py`:\n```python\nimport sys\n\ndef main():\n    print(1)\n```\n"
            "Run it with:\n```bash\npython cli.py\n```\n")
    parsed = parse_text_edits(text)
    assert parsed.edits == [TextEdit("dates.py", "replace", search="A = 1", replace="A = 2"),
                            TextEdit("cli.py", "whole", replace="import sys\n\ndef main():\n    print(1)\n")]


def test_the_loose_forms_small_models_write() -> None:
    # "SEARCH" without brackets, each part fenced, "REPLACE" as the divider, no end marker.
    text = ("dates.py\nSEARCH\n```python\ndef f():\n    return 1\n```\n=======\n```python\ndef f():\n"
            "    return 2\n```\n\nSEARCH\n```toml\n[tool]\n```\nREPLACE\n```toml\n[tool]\nx = 1\n```\n")
    parsed = parse_text_edits(text)
    assert parsed.problems == []
    assert parsed.edits == [
        TextEdit("dates.py", "replace", search="def f():\n    return 1", replace="def f():\n    return 2"),
        # No path above it: looked up by its SEARCH text when applied, else the previous block's file.
        TextEdit("", "replace", search="[tool]", replace="[tool]\nx = 1", previous_path="dates.py"),
    ]


def test_a_block_without_a_path_is_kept_for_lookup_unless_its_search_is_empty() -> None:
    parsed = parse_text_edits("<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n>>>>>>> REPLACE\n\n"
                              "<<<<<<< SEARCH\n=======\nnew\n>>>>>>> REPLACE\n")
    assert parsed.edits == [TextEdit("", "replace", search="x = 1", replace="x = 2")]
    assert parsed.problems == ["a SEARCH/REPLACE block with an empty SEARCH and no file name on the line above it"]


def test_malformed_blocks_are_problems_not_edits() -> None:
    assert parse_text_edits("a.py\n<<<<<<< SEARCH\nx\n").problems == ["a.py: a SEARCH part with no ======= line after it"]
    parsed = parse_text_edits("a.py\n<<<<<<< SEARCH\nx\n=======\ny\n")
    assert parsed.edits == [] and parsed.problems == ["a.py: a block with no >>>>>>> REPLACE line to end it"]


def test_paths_with_spaces_and_labels_in_prose() -> None:
    exists = {"src/my file.py", "notes.md"}.__contains__
    parsed = parse_text_edits("### File: src/my file.py\n<<<<<<< SEARCH\n=======\nnew\n>>>>>>> REPLACE\n"
                              "Here is the updated **notes.md**:\n```\n# Notes\n```\n"
                              "```python tools/run.py\nprint(1)\n```\n", exists=exists)
    assert [(e.path, e.kind) for e in parsed.edits] == [("src/my file.py", "replace"), ("notes.md", "whole"),
                                                        ("tools/run.py", "whole")]


def test_prose_and_unlabelled_code_are_not_edits() -> None:
    text = ("The bug is in the loop.\n```python\nfor i in range(3):\n    print(i)\n```\nRun:\n```bash\n"
            "python -m pytest\n```\nSee https://example.org/a.py for more.\n")
    assert parse_text_edits(text).edits == []
    assert parse_text_edits("").edits == []


def test_unnamed_code_that_defines_something_is_kept_to_be_placed_by_name() -> None:
    parsed = parse_text_edits("Fixed:\n```python\ndef median(v):\n    return 1\n```\n")
    assert parsed.edits == [TextEdit("", "snippet", replace="def median(v):\n    return 1\n", previous_path=".py")]
    assert parse_text_edits("```bash\ndef() { :; }\n```\n").edits == []


def test_an_unclosed_whole_file_block_is_not_an_edit() -> None:
    # A reply cut off mid-file must not write half a file.
    assert parse_text_edits("cli.py\n```python\nimport sys\n\ndef main(").edits == []


def test_a_definitions_block_may_open_with_a_module_docstring() -> None:
    from once.agent.snippet_merge import merge_definitions

    old = '"""Words."""\n\n\ndef count(t):\n    return len(t.split(" "))\n\n\ndef first(t):\n    return t[0]\n'
    block = '"""Word statistics,\nfor short texts."""\n\nimport re\n\ndef count(t):\n    return len(t.split())\n'
    merged = merge_definitions("words.py", old, block)
    assert merged is not None and merged.replaced == ["count"]
    assert merged.text == ('"""Words."""\nimport re\n\n\ndef count(t):\n    return len(t.split())\n\n\n'
                           'def first(t):\n    return t[0]\n')
    assert merge_definitions("words.py", old, 'print("hi")\n\ndef count(t):\n    return 0\n') is None


def test_a_definition_under_a_new_name_with_the_same_body_is_a_rename_in_place() -> None:
    from once.agent.snippet_merge import merge_definitions

    old = ('"""Prices."""\n\n\ndef calc_total(p):\n    """Sum."""\n    return sum(p)\n\n\n'
           'def fmt(x):\n    return str(x)\n')
    whole = '"""Prices."""\n\n\ndef compute_total(p):\n    """Sum."""\n    return sum(p)\n'
    merged = merge_definitions("pricing.py", old, whole)
    assert merged is not None and merged.renamed == [("calc_total", "compute_total")]
    assert merged.text == old.replace("calc_total", "compute_total")
    # A new definition with another body is an addition; the old one stays.
    changed = merge_definitions("pricing.py", old, "def compute_total(p):\n    return sum(p) * 2\n")
    assert changed is not None and changed.renamed == [] and changed.added == ["compute_total"]
    assert "def calc_total" in changed.text
    # A one-line body is no evidence of a rename.
    short = merge_definitions("m.py", "def f0():\n    return 0\n", "def g():\n    return 0\n")
    assert short is not None and short.renamed == [] and short.added == ["g"]
