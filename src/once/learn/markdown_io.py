"""Knowledge entries as markdown files, one per entry, for review and sharing through git.

    ---
    id: "k-0kx3v9q2a7mzp4"
    title: "pytest cannot import the package"
    scope: "project"
    ...
    ---
    ## Description

    What retrieval matches.

    ## Knowledge

    What gets injected.

Frontmatter values are JSON (a subset of YAML), so a title with a colon survives; a bare
value a person typed is read as a string. The repository path is not written: a project
entry belongs to whichever repository imports it.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from once.atomic import atomic_write_text
from once.errors import UsageError
from once.learn.bank import KINDS, SCOPES, STATUSES, Bank, KnowledgeEntry, _redacted
from once.safety.redact import redact

_FIELDS = ("id", "title", "scope", "kind", "status", "status_reason", "sources", "merged_count", "model",
           "tool_version", "holdout", "weight", "created_at", "updated_at")
_SECTION = re.compile(r"^## (Description|Knowledge)\s*$", re.MULTILINE)
_SLUG = re.compile(r"[^a-z0-9]+")


def to_markdown(entry: KnowledgeEntry) -> str:
    values = entry.to_dict()
    head = "\n".join(f"{name}: {json.dumps(values[name], ensure_ascii=False)}" for name in _FIELDS)
    return (f"---\n{head}\n---\n## Description\n\n{entry.description.strip()}\n\n"
            f"## Knowledge\n\n{entry.knowledge.strip()}\n")


def file_name(entry: KnowledgeEntry) -> str:
    slug = _SLUG.sub("-", entry.title.lower()).strip("-")[:48].rstrip("-")
    return f"{entry.id}-{slug}.md" if slug else f"{entry.id}.md"


def parse_markdown(text: str, source: str) -> dict[str, Any]:
    """Frontmatter fields plus description and knowledge; a malformed file is a UsageError naming it."""
    def bad(why: str) -> UsageError:
        return UsageError(f"{source}: not a knowledge entry file: {why}",
                          hint="Each file needs '---' frontmatter with id and title, then "
                               "'## Description' and '## Knowledge' sections.")

    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise bad("it does not start with '---' frontmatter")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise bad("the frontmatter is not closed with '---'") from None
    data: dict[str, Any] = {}
    for number, line in enumerate(lines[1:end], start=2):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, raw = line.partition(":")
        if not sep or not key.strip():
            raise bad(f"line {number} is not 'key: value'")
        data[key.strip()] = _value(raw.strip())
    body = "\n".join(lines[end + 1:])
    parts = _SECTION.split(body)
    sections = {parts[i].lower(): parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}
    for name in ("description", "knowledge"):
        if not sections.get(name):
            raise bad(f"the '## {name.title()}' section is missing or empty")
        data[name] = sections[name]
    for name in ("id", "title"):
        if not isinstance(data.get(name), str) or not data[name].strip():
            raise bad(f"'{name}' is missing from the frontmatter")
    if data.get("scope", "project") not in SCOPES:
        raise bad(f"scope must be project or global, not {data.get('scope')!r}")
    if data.get("status", "probation") not in STATUSES:
        raise bad(f"status must be one of {', '.join(STATUSES)}, not {data.get('status')!r}")
    return data


def _value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw.strip("'\"") if raw else ""


def entry_from_fields(data: dict[str, Any], repo: str) -> KnowledgeEntry:
    scope = data.get("scope", "project")
    sources = data.get("sources", [])
    return KnowledgeEntry(
        id=data["id"].strip(), title=data["title"].strip(), description=data["description"],
        knowledge=data["knowledge"], scope=scope, kind=str(data.get("kind") or "manual"),
        repo=None if scope == "global" else repo, status=data.get("status") or "probation",
        status_reason=str(data.get("status_reason") or ""),
        sources=[str(s) for s in sources] if isinstance(sources, list) else [str(sources)],
        merged_count=int(data.get("merged_count") or 1), model=str(data.get("model") or ""),
        tool_version=str(data.get("tool_version") or ""), holdout=float(data.get("holdout") or 0.2),
        weight=float(data.get("weight") or 1.0), created_at=float(data.get("created_at") or 0.0),
    )


def export_entries(entries: list[KnowledgeEntry], directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for entry in entries:
        path = directory / file_name(entry)
        atomic_write_text(path, to_markdown(entry))
        written.append(path)
    return written


_IMPORTED_ID = re.compile(r"k-[a-z0-9-]{1,64}")
"""As once makes them (lowercase base 36): a key or token put there has capitals or underscores."""


def _checked(entry: KnowledgeEntry, path: Path) -> KnowledgeEntry:
    """An imported entry's id and kind are names, never text: anything else (a secret put there,
    which redaction of text would not see) is refused."""
    if entry.kind not in KINDS:
        raise UsageError(f"{path}: unknown kind '{redact(entry.kind)}'", hint=f"Use one of: {', '.join(KINDS)}.")
    if entry.id and (not _IMPORTED_ID.fullmatch(entry.id) or redact(entry.id) != entry.id):
        raise UsageError(f"{path}: '{redact(entry.id)}' is not an entry id",
                         hint="Ids are k- followed by lowercase letters and digits, as "
                              "`agent knowledge export` writes them.")
    return entry


def import_files(bank: Bank, paths: list[Path], repo: str) -> dict[str, list[str]]:
    """Add new entries, update changed ones, skip identical ones (idempotent by id).

    Every file is parsed before anything is written, so one bad file changes nothing."""
    parsed = []
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"{path}: cannot read it ({exc})") from None
        # Redacted now, so a file holding a secret compares equal to its stored (redacted) self.
        parsed.append(_redacted(_checked(entry_from_fields(parse_markdown(text, str(path)), repo), path)))
    result: dict[str, list[str]] = {"added": [], "updated": [], "unchanged": []}
    for entry in parsed:
        old = bank.get(entry.id) if _exact(bank, entry.id) else None
        if old is None:
            result["added"].append(bank.add(entry))
            continue
        merged = replace(old, title=entry.title, description=entry.description, knowledge=entry.knowledge,
                         scope=entry.scope, kind=entry.kind, repo=entry.repo, status=entry.status,
                         status_reason=entry.status_reason, sources=entry.sources, model=entry.model,
                         tool_version=entry.tool_version, holdout=entry.holdout, weight=entry.weight)
        if _comparable(merged) == _comparable(old):
            result["unchanged"].append(old.id)
        else:
            bank.update(merged)
            result["updated"].append(old.id)
    return result


def _exact(bank: Bank, entry_id: str) -> bool:
    return bank.conn.execute("SELECT 1 FROM knowledge WHERE id = ?", (entry_id,)).fetchone() is not None


def _comparable(entry: KnowledgeEntry) -> dict[str, Any]:
    values = entry.to_dict()
    for name in ("updated_at", "last_retrieved_at", "embedder", "created_at", "merged_count"):
        values.pop(name)
    values["description"] = values["description"].strip()
    values["knowledge"] = values["knowledge"].strip()
    return values


def markdown_files(target: Path) -> list[Path]:
    """A file, or every *.md file in a directory (sorted, so imports are reproducible)."""
    if target.is_file():
        return [target]
    if target.is_dir():
        return sorted(p for p in target.glob("*.md") if p.is_file())
    raise UsageError(f"no such file or directory: {target}")
