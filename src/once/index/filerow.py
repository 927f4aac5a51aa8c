"""One file's row of the index, computed from its bytes alone (pure: no IO, no database).

The parse reads the raw bytes; what is stored and shown (symbol names, the leading doc,
the identifiers of the body) passes credential redaction first. The body is redacted as
a whole text before it is cut into identifiers: context rules (`password = "..."`) need
the line around a value, and a key split into words would slip through.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, replace

from once.index.symbols import Symbol, extract
from once.index.tokens import path_terms, text_terms
from once.safety.redact import redact


@dataclass(frozen=True)
class FileRow:
    """What the index stores for one file: plain data, so a worker process can return it."""

    path: str
    size: int
    mtime_ns: int
    hash: str
    language: str
    """The language, or "binary" / "large" for a file that is listed but not searchable."""
    symbols: str = "[]"
    """JSON list of `Symbol.to_json()`."""
    doc: str = ""
    terms: tuple[str, str, str, str] | None = None
    """Search terms (path, symbols, doc, body); None when the file is not searchable."""


@dataclass(frozen=True)
class Touched:
    """Same content as stored, new mtime: only the mtime is written."""

    path: str
    mtime_ns: int


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def skipped_row(path: str, size: int, mtime_ns: int, digest: str, why: str) -> FileRow:
    """A binary or oversized file: listed, with no symbols and no search terms."""
    return FileRow(path, size, mtime_ns, digest, why)


def file_row(path: str, data: bytes, mtime_ns: int, digest: str) -> FileRow:
    """The row of a (non-binary) file: symbols, doc and terms, redacted where stored."""
    summary = extract(path, data)
    symbols = _redacted_symbols(summary.symbols)
    doc = redact(summary.doc)
    terms = (" ".join(path_terms(path)), " ".join(_symbol_terms(symbols)), " ".join(text_terms(doc)),
             body_terms(_redacted_bytes(data)))
    return FileRow(path, len(data), mtime_ns, digest, summary.language,
                   json.dumps([s.to_json() for s in symbols], separators=(",", ":")), doc, terms)


def _redacted_bytes(data: bytes) -> bytes:
    text = data.decode("utf-8", "replace")
    clean = redact(text)
    return data if clean == text else clean.encode("utf-8")


def _redacted_symbols(symbols: list[Symbol]) -> list[Symbol]:
    """Symbol names are stored and shown too; one pass over all names, per name only on a hit."""
    names = "\n".join(symbol.name for symbol in symbols)
    if redact(names) == names:
        return symbols
    return [replace(symbol, name=redact(symbol.name)) for symbol in symbols]


_IDENTIFIER = re.compile(rb"[A-Za-z_][A-Za-z0-9_]+")


def body_terms(data: bytes) -> str:
    """Each distinct identifier of the file once, in order of first use.

    FTS5 itself lower-cases them and splits them on `_`; camelCase stays whole, which is
    the joined term a query makes of an identifier. First-use order (not a set's) keeps
    a row the same whichever process computed it.
    """
    return b" ".join(dict.fromkeys(_IDENTIFIER.findall(data))).decode("ascii")


def _symbol_terms(symbols: list[Symbol]) -> list[str]:
    out: list[str] = []
    for symbol in symbols:
        for part in symbol.name.split("."):
            out.extend(text_terms(part))
    return out
