"""Stage one ranking on a fixture repo: identifiers, file names, stack traces, with reasons."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from once.index.index import refresh_index
from once.index.rank import Candidate, rank_files
from once.index.resolve import PathResolver
from once.store.db import connect
from once.store.migrations import migrate
from tests.conftest import GIT_ENV, make_repo

FILES = {
    "app/cli.py": '"""Command line entry point."""\n\ndef parse_args(argv):\n    return argv\n\n\ndef main():\n'
                  "    parse_args([])\n",
    "app/models.py": '"""Database models."""\n\nclass User:\n    def save(self):\n        raise ValueError\n',
    "app/payments/invoice.py": '"""Invoices and their totals."""\n\nclass Invoice:\n    def total(self):\n'
                               "        return 0\n",
    "app/users/service.py": '"""User accounts: sign up, log in, user lookup."""\n\nclass UserService:\n'
                            "    def find_user(self, name):\n        pass\n",
    "web/client.ts": "// The browser client: user pages.\nexport function renderUser(id: string) {}\n",
    "docs/users.md": "# Users\n\nHow user accounts, user login and user lookup work.\n",
    "tests/test_users.py": "def test_user_lookup():\n    pass\n",
}


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[sqlite3.Connection, Path]]:
    root = tmp_path_factory.mktemp("rank")
    # Module-scoped, so it runs before the per-test environment gives git an identity: give it
    # one here (with an empty HOME, git would refuse to commit).
    with pytest.MonkeyPatch.context() as patch:
        for key, value in GIT_ENV.items():
            patch.setenv(key, value)
        repo = make_repo(root / "repo", FILES)
    conn = connect(root / "once.db")
    migrate(conn)
    refresh_index(conn, repo)
    yield conn, repo
    conn.close()


def rank(indexed: tuple[sqlite3.Connection, Path], prompt: str) -> list[Candidate]:
    conn, repo = indexed
    return rank_files(conn, repo, prompt, limit=10)


def test_plain_words_rank_by_bm25_with_matched_terms_said(indexed: tuple[sqlite3.Connection, Path]) -> None:
    ranked = rank(indexed, "invoice totals are wrong")
    assert ranked[0].path == "app/payments/invoice.py"
    assert ranked[0].reasons[0].startswith("bm25 1.00 (path invoice; symbols invoice, total")
    assert ranked[0].symbols == ["Invoice"]
    assert [c.score for c in ranked] == sorted((c.score for c in ranked), reverse=True)


def test_a_named_identifier_ranks_its_definition_first(indexed: tuple[sqlite3.Connection, Path]) -> None:
    # The words favour the user files; the identifier points at the CLI.
    ranked = rank(indexed, "user lookup breaks: parse_args drops the user name")
    assert ranked[0].path == "app/cli.py"
    assert "defines parse_args" in ranked[0].reasons


def test_a_file_name_in_the_prompt(indexed: tuple[sqlite3.Connection, Path]) -> None:
    ranked = rank(indexed, "make user lookup faster in models.py")
    assert ranked[0].path == "app/models.py"
    assert "named in prompt: models.py" in ranked[0].reasons


def test_python_stack_trace_paths(indexed: tuple[sqlite3.Connection, Path]) -> None:
    _, repo = indexed
    prompt = ("user lookup fails:\nTraceback (most recent call last):\n"
              f'  File "{repo}/app/cli.py", line 8, in main\n'
              '  File "/srv/deploy/app/models.py", line 5, in save\nValueError\n')
    ranked = rank(indexed, prompt)
    assert [c.path for c in ranked[:2]] == ["app/models.py", "app/cli.py"]
    assert ranked[0].reasons[:2] == ["stack trace: app/models.py:5", "innermost frame in the repo"]


def test_javascript_stack_trace_and_module_paths(indexed: tuple[sqlite3.Connection, Path]) -> None:
    assert rank(indexed, "user page crashes\n    at renderUser (web/client.ts:2:10)")[0].path == "web/client.ts"
    ranked = rank(indexed, "user accounts: from app.payments.invoice import Invoice is slow")
    assert ranked[0].path == "app/payments/invoice.py"
    assert "module in prompt: app.payments.invoice" in ranked[0].reasons


def test_camel_case_identifier_and_nothing_matching(indexed: tuple[sqlite3.Connection, Path]) -> None:
    ranked = rank(indexed, "UserService should cache results")
    assert ranked[0].path == "app/users/service.py" and "defines UserService" in ranked[0].reasons
    assert rank(indexed, "zebra quantum xylophone") == []


def test_path_resolution() -> None:
    resolver = PathResolver(["src/app/models.py", "lib/models.py", "models.py", "pkg/__init__.py", "x/util.py",
                             "y/util.py",
                             "a/__init__.py", "b/__init__.py", "c/__init__.py", "d/__init__.py"])
    assert resolver.resolve("/home/me/proj/src/app/models.py") == "src/app/models.py"
    assert resolver.resolve("C:\\proj\\lib\\models.py") == "lib/models.py"
    assert resolver.resolve("./models.py") == "models.py"
    assert resolver.resolve("/usr/lib/python3/json/decoder.py") is None
    assert resolver.resolve_all("models.py") == ["models.py"]  # the exact path wins
    assert resolver.resolve_all("app/models.py") == ["src/app/models.py"]
    assert resolver.resolve_all("util.py") == ["x/util.py", "y/util.py"]
    assert resolver.resolve_all("__init__.py") == []  # too many to mean one
    assert resolver.resolve_module("app.models.User") == "src/app/models.py"
    assert resolver.resolve_module("pkg.thing") is None and resolver.resolve_module("os.path") is None


def test_file_kind_priors() -> None:
    from once.index.rank import PRIOR_DOCS, PRIOR_NONCODE, PRIOR_TEST, file_prior

    assert file_prior("src/app.py", "python") == (1.0, "")
    for path in ("tests/test_app.py", "Tests/helpers.py", "src/app_test.go", "web/app.spec.ts", "FooTest.java"):
        assert file_prior(path, "python") == (PRIOR_TEST, "test"), path
    assert file_prior("docs/conf.py", "python") == (PRIOR_DOCS, "docs or example")
    assert file_prior("README.md", "markdown") == (PRIOR_NONCODE, "non-code")
    assert PRIOR_NONCODE <= PRIOR_DOCS <= PRIOR_TEST < 1.0


def test_a_prior_is_said_in_the_reasons(indexed: tuple[sqlite3.Connection, Path]) -> None:
    ranked = {c.path: c for c in rank(indexed, "user lookup")}
    assert ranked["tests/test_users.py"].reasons[0] == "test file: bm25 x0.5"
    assert ranked["docs/users.md"].reasons[0] == "non-code file: bm25 x0.3"
