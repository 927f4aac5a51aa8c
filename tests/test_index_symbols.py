"""Symbols and leading docs: tree-sitter for Python/JS/TS, line patterns for the rest."""

from __future__ import annotations

from once.index.mentions import find_mentions
from once.index.symbols import extract, is_binary, language_for
from once.index.tokens import path_terms, split_identifier, text_terms


def names(path: str, source: str) -> list[tuple[str, str]]:
    return [(s.name, s.kind) for s in extract(path, source.encode()).symbols]


PYTHON = '''"""Parse command lines for the tool."""
import os

MAX_ARGS = 10


def parse_args(argv):
    return argv


@decorated
class UserService(Base):
    """Users."""

    def find(self, name):
        pass

    async def save(self):
        pass


if os.name == "nt":
    def windows_only():
        pass
'''


def test_python_symbols_lines_and_docstring() -> None:
    summary = extract("pkg/cli.py", PYTHON.encode())
    assert summary.language == "python"
    assert summary.doc == "Parse command lines for the tool."
    assert [(s.name, s.kind) for s in summary.symbols] == [
        ("MAX_ARGS", "variable"), ("parse_args", "function"), ("UserService", "class"),
        ("UserService.find", "method"), ("UserService.save", "method"), ("windows_only", "function"),
    ]
    service = next(s for s in summary.symbols if s.name == "UserService")
    assert (service.line, service.end_line) == (11, 19)  # the decorator line is where it starts


def test_python_leading_comment_when_there_is_no_docstring() -> None:
    assert extract("x.py", b"#!/usr/bin/env python\n# Build the thing.\nimport os\n").doc == "Build the thing."


JS = '''// Helpers for the web client.
import x from "y";
export const API_URL = "https://example.com";
const internal = 3;
const Button = () => null;
export default function main() {}
class Store extends Base { load() {} static make() {} }
module.exports = { main };
'''


def test_javascript_symbols_and_leading_comment() -> None:
    summary = extract("src/web/client.js", JS.encode())
    assert summary.language == "javascript"
    assert summary.doc == "Helpers for the web client."
    assert [(s.name, s.kind) for s in summary.symbols] == [
        ("API_URL", "const"), ("Button", "function"), ("main", "function"),
        ("Store", "class"), ("Store.load", "method"), ("Store.make", "method"),
    ]


TS = '''/** User records. */
export interface User { id: number }
export type UserId = string;
export enum Role { Admin }
export abstract class Repo<T> { abstract get(id: string): T; list(): T[] { return [] } }
export const DEFAULT_ROLE: Role = Role.Admin;
export function loadUser(id: UserId): User { return { id: 1 } }
declare module "legacy" {}
namespace Internal {}
'''


def test_typescript_and_tsx_symbols() -> None:
    summary = extract("src/users.ts", TS.encode())
    assert summary.doc == "User records."
    assert [(s.name, s.kind) for s in summary.symbols] == [
        ("User", "interface"), ("UserId", "type"), ("Role", "enum"), ("Repo", "class"),
        ("Repo.get", "method"), ("Repo.list", "method"), ("DEFAULT_ROLE", "const"), ("loadUser", "function"),
        ("legacy", "module"), ("Internal", "module"),
    ]
    tsx = "export function App(): JSX.Element { return <div className='x'>hi</div> }\nexport type Props = {};\n"
    assert names("src/App.tsx", tsx) == [("App", "function"), ("Props", "type")]


def test_regex_fallback_languages() -> None:
    go = "// Package server serves.\npackage server\n\nfunc (s *Server) Start() error {\n}\n\ntype Server struct {\n}\n"
    assert names("server.go", go) == [("Start", "function"), ("Server", "class")]
    assert extract("server.go", go.encode()).doc == "Package server serves."
    rust = "pub struct Config {}\nimpl Config {\n    pub fn load(path: &str) -> Self {}\n}\nfn main() {}\n"
    assert names("src/main.rs", rust) == [("Config", "class"), ("Config", "impl"), ("load", "function"),
                                          ("main", "function")]
    java = "public class UserService {\n    public User findUser(String id) {\n        return null;\n    }\n}\n"
    assert names("UserService.java", java) == [("UserService", "class"), ("findUser", "method")]
    c = "#define MAX 3\nstruct point {\n int x;\n};\nstatic int add(int a, int b)\n{\n return a + b;\n}\n"
    assert names("lib/add.c", c) == [("MAX", "macro"), ("point", "class"), ("add", "function")]
    ruby = "module Billing\n  class Invoice\n    def total\n    end\n  end\nend\n"
    assert names("billing.rb", ruby) == [("Billing", "class"), ("Invoice", "class"), ("total", "function")]
    shell = "#!/bin/sh\n# Deploy the site.\nbuild() {\n  make\n}\nfunction deploy {\n}\n"
    assert names("deploy.sh", shell) == [("build", "function"), ("deploy", "function")]
    assert extract("deploy.sh", shell.encode()).doc == "Deploy the site."
    symbols = extract("src/main.rs", rust.encode()).symbols
    assert [(s.line, s.end_line) for s in symbols] == [(1, 1), (2, 2), (3, 4), (5, 6)]


def test_markdown_headings_and_languages() -> None:
    readme = "# Title\n\nIntro text.\n\n## Install\n"
    assert names("README.md", readme) == [("Title", "heading"), ("Install", "heading")]
    assert extract("README.md", readme.encode()).doc == "Title Intro text."
    assert language_for("Makefile") == "make"
    assert language_for("a/b/C.TSX") == "tsx"
    assert language_for("notes.unknown") == "text"
    assert is_binary(b"\x89PNG\r\n\x1a\n\0\0") and not is_binary(b"plain text")


def test_terms_split_paths_and_identifiers() -> None:
    assert split_identifier("HTTPServer2") == ["http", "server", "2"]
    assert split_identifier("parse_args") == ["parse", "args"]
    assert text_terms("parseArgs fails") == ["parse", "args", "parseargs", "fails"]
    assert path_terms("src/user-service/UserService.py") == [
        "src", "user", "service", "user", "service", "userservice"]


def test_mentions_in_a_prompt() -> None:
    prompt = '''Calling `parse_args()` on UserService fails, see cli.py and the Makefile.
Traceback (most recent call last):
  File "/usr/lib/python3/site-packages/app/models.py", line 12, in save
    at render (src/app/view.ts:3:1)
from app.core.basic import Basic
tests/test_x.py:33: AssertionError
'''
    found = find_mentions(prompt)
    assert found.trace == [("/usr/lib/python3/site-packages/app/models.py", 12), ("src/app/view.ts", 3),
                           ("tests/test_x.py", 33)]
    assert {"cli.py", "Makefile", "src/app/view.ts", "tests/test_x.py"} <= set(found.files)
    assert {"parse_args", "UserService", "Basic"} <= set(found.identifiers)
    assert "app.core.basic" in found.modules and "app.core.basic.Basic" in found.modules
