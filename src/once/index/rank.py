"""Stage one: rank a repository's indexed files for a prompt.

BM25 (FTS5) over path, symbol, doc and code-identifier terms gives a base score,
weighed by a prior on the kind of file (tests, docs and non-code count less) and
scaled so the best file scores 1. Hints the prompt spells out add fixed boosts on
top: a stack-trace path, a file name, a dotted module, the definition of a named
identifier. Every part of a score is said in `reasons`, so a person can see why a
file ranked. Call `refresh_index` first: an unindexed repository ranks nothing.

The weights were set on the SWE-bench Lite dev split (see benchmarks/).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from once.errors import StoreError
from once.index.index import repo_key
from once.index.mentions import Mentions, find_mentions
from once.index.resolve import PathResolver
from once.index.tokens import text_terms, unique, word_terms

MAX_QUERY_TERMS = 400
MAX_IDENTIFIERS = 60
# BM25 column weights: path, symbols, doc, code identifiers.
WEIGHTS = (3.0, 1.0, 0.5, 0.5)
BOOST_TRACE = 1.0
BOOST_TRACE_LAST = 0.3  # the innermost frame in the repo: where it broke
BOOST_FILE = 0.8
BOOST_MODULE = 0.5
BOOST_IDENTIFIER = 0.4
MAX_IDENTIFIER_BOOST = 1.2
# Priors on the BM25 part: a task usually means changing code, not its tests, docs or data.
PRIOR_TEST = 0.5
PRIOR_DOCS = 0.5
PRIOR_NONCODE = 0.3
_TEST_DIRS = frozenset({"test", "tests", "testing", "spec", "specs", "__tests__", "e2e"})
_DOC_DIRS = frozenset({"doc", "docs", "example", "examples", "sample", "samples", "demo", "benchmarks"})
_NONCODE = frozenset({"markdown", "rst", "text", "toml", "yaml", "json", "ini", "html", "css", "xml", "make",
                      "cmake", "docker", "bazel", "sql", "binary", "large"})


@dataclass
class Candidate:
    path: str
    score: float
    reasons: list[str]
    symbols: list[str] = field(default_factory=list)
    """The file's first top-level symbol names (for one-line index entries)."""


@dataclass
class _Entry:
    path: str
    bm25: float = 0.0
    boost: float = 0.0
    reasons: list[str] = field(default_factory=list)


def rank_files(conn: sqlite3.Connection, repo_root: Path, prompt: str, limit: int = 50) -> list[Candidate]:
    """The `limit` best files of the indexed `repo_root` for `prompt`, best first."""
    repo = repo_key(repo_root)
    try:
        return _rank(conn, repo, prompt, limit)
    except sqlite3.Error as exc:
        raise StoreError(f"Reading the file index failed: {exc}") from None


def _rank(conn: sqlite3.Connection, repo: str, prompt: str, limit: int) -> list[Candidate]:
    ids: dict[str, int] = {}
    languages: dict[str, str] = {}
    for file_id, path, language in conn.execute(
            "SELECT id, path, language FROM file_index WHERE repo = ? AND language NOT IN ('binary', 'large')",
            (repo,)):
        ids[path], languages[path] = file_id, language
    entries: dict[str, _Entry] = {}
    terms = unique(text_terms(prompt))[:MAX_QUERY_TERMS]
    for path, score in _bm25(conn, repo, terms, max(200, limit * 4)):
        prior, kind = file_prior(path, languages.get(path, "text"))
        entries[path] = _Entry(path, bm25=score * prior, reasons=[f"{kind} file: bm25 x{prior:g}"] if kind else [])
    mentions = find_mentions(prompt)
    _boost_paths(entries, PathResolver(list(ids)), mentions)
    _boost_identifiers(conn, repo, entries, mentions.identifiers[:MAX_IDENTIFIERS])
    top = max((e.bm25 for e in entries.values()), default=0.0) or 1.0
    ranked = sorted(entries.values(), key=lambda e: (-(e.bm25 / top + e.boost), e.path))[:limit]
    return [_candidate(conn, ids[e.path], e, top, terms) for e in ranked if e.path in ids]


def file_prior(path: str, language: str) -> tuple[float, str]:
    """How likely a file of this kind is what a task is about, before reading the task: (factor, kind)."""
    if language in _NONCODE:
        return PRIOR_NONCODE, "non-code"
    *folders, name = path.split("/")
    folders = [folder.lower() for folder in folders]
    if _TEST_DIRS.intersection(folders) or name.startswith("test_") or name == "conftest.py" or \
            name.rsplit(".", 1)[0].endswith(("_test", ".test", ".spec", "_spec", "Test")):
        return PRIOR_TEST, "test"
    if _DOC_DIRS.intersection(folders):
        return PRIOR_DOCS, "docs or example"
    return 1.0, ""


def _bm25(conn: sqlite3.Connection, repo: str, terms: list[str], pool: int) -> list[tuple[str, float]]:
    if not terms:
        return []
    query = " OR ".join(f'"{term}"' for term in terms)
    rows = conn.execute(
        "SELECT f.path, -bm25(file_index_fts, ?, ?, ?, ?) AS score FROM file_index_fts "
        "CROSS JOIN file_index f ON f.id = file_index_fts.rowid "
        "WHERE file_index_fts MATCH ? AND f.repo = ? ORDER BY score DESC LIMIT ?",
        (*WEIGHTS, query, repo, pool)).fetchall()
    return [(row[0], max(float(row[1]), 0.0)) for row in rows]


def _entry(entries: dict[str, _Entry], path: str) -> _Entry:
    if path not in entries:
        entries[path] = _Entry(path)
    return entries[path]


def _boost_paths(entries: dict[str, _Entry], resolver: PathResolver, mentions: Mentions) -> None:
    in_repo = [(resolver.resolve(path), line) for path, line in mentions.trace]
    frames = [(path, line) for path, line in in_repo if path is not None]
    for path, line in frames:
        entry = _entry(entries, path)
        if not any(r.startswith("stack trace") for r in entry.reasons):
            entry.boost += BOOST_TRACE
            entry.reasons.append(f"stack trace: {path}:{line}")
    if frames:
        last = _entry(entries, frames[-1][0])
        last.boost += BOOST_TRACE_LAST
        last.reasons.append("innermost frame in the repo")
    for name in mentions.files:
        for path in resolver.resolve_all(name):
            entry = _entry(entries, path)
            if not any(r.startswith(("stack trace", "named in prompt")) for r in entry.reasons):
                entry.boost += BOOST_FILE
                entry.reasons.append(f"named in prompt: {name}")
    for module in mentions.modules:
        found = resolver.resolve_module(module)
        if found is not None:
            entry = _entry(entries, found)
            if not any(r.startswith(("module", "named in prompt", "stack trace")) for r in entry.reasons):
                entry.boost += BOOST_MODULE
                entry.reasons.append(f"module in prompt: {module}")


def _boost_identifiers(conn: sqlite3.Connection, repo: str, entries: dict[str, _Entry],
                       identifiers: list[str]) -> None:
    gained: dict[str, float] = {}
    for identifier in identifiers:
        defining = _defining_files(conn, repo, identifier)
        if not defining or len(defining) > 20:
            continue  # defined nowhere, or so often that naming it says little
        share = BOOST_IDENTIFIER / len(defining)
        for path, symbol in defining:
            room = MAX_IDENTIFIER_BOOST - gained.get(path, 0.0)
            if room <= 0:
                continue
            entry = _entry(entries, path)
            entry.boost += min(share, room)
            gained[path] = gained.get(path, 0.0) + min(share, room)
            entry.reasons.append(f"defines {symbol}")


def _defining_files(conn: sqlite3.Connection, repo: str, identifier: str) -> list[tuple[str, str]]:
    """(path, symbol) for files with a symbol named `identifier` (or `X.identifier`)."""
    terms = word_terms(identifier.rsplit(".", 1)[-1])
    if not terms:
        return []
    rows = conn.execute(
        "SELECT f.path, f.symbols FROM file_index_fts CROSS JOIN file_index f ON f.id = file_index_fts.rowid "
        "WHERE file_index_fts MATCH ? AND f.repo = ? LIMIT 200",
        (f'symbol_terms : "{terms[-1]}"', repo)).fetchall()
    found: list[tuple[str, str]] = []
    for path, symbols in rows:
        for name, *_ in json.loads(symbols):
            if name == identifier or name.endswith("." + identifier):
                found.append((path, name))
                break
    return found


def _candidate(conn: sqlite3.Connection, file_id: int, entry: _Entry, top: float, terms: list[str]) -> Candidate:
    row = conn.execute("SELECT f.symbols, t.path_terms, t.symbol_terms, t.doc_terms, t.body_terms FROM file_index f "
                       "LEFT JOIN file_index_fts t ON t.rowid = f.id WHERE f.id = ?", (file_id,)).fetchone()
    symbols = _headline_symbols(json.loads(row[0]))
    reasons = list(entry.reasons)
    if entry.bm25 > 0:
        wanted = {_stem(term) for term in terms}
        matched = []
        for label, column in (("path", row[1]), ("symbols", row[2]), ("doc", row[3]), ("code", row[4])):
            hits = unique(t for t in text_terms(column or "") if _stem(t) in wanted)[:5]
            if hits:
                matched.append(f"{label} {', '.join(hits)}")
        reasons.append(f"bm25 {entry.bm25 / top:.2f}" + (f" ({'; '.join(matched)})" if matched else ""))
    return Candidate(entry.path, round(entry.bm25 / top + entry.boost, 4), reasons, symbols)


def _headline_symbols(symbols: list[list[object]], count: int = 12) -> list[str]:
    """The names that best say what a file offers: public definitions first, then variables, private last."""
    top_level = [(str(name), str(kind)) for name, kind, *_ in symbols if "." not in str(name)]

    def order(item: tuple[int, tuple[str, str]]) -> tuple[bool, bool, int]:
        position, (name, kind) = item
        return name.startswith("_"), kind in ("variable", "const", "macro"), position

    return [name for _, (name, _kind) in sorted(enumerate(top_level), key=order)][:count]


def _stem(term: str) -> str:
    """A rough stem, only to say which words matched (FTS5 matched with the Porter stemmer)."""
    for suffix in ("ing", "ed", "es", "s"):
        if term.endswith(suffix) and len(term) - len(suffix) >= 3:
            return term[: -len(suffix)]
    return term
