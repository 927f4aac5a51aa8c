"""`agent knowledge`: the knowledge bank, entries learned from earlier sessions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Optional

import typer

from once.cli.common import in_repo_hint, print_json, repo_root, reported, terminal_safe
from once.cli.knowledge_review import figure_lines, register
from once.words import plural

app = typer.Typer(
    name="knowledge",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    help=(
        "The knowledge bank: lessons learned from earlier sessions (what the agent got stuck on and "
        "what got it unstuck), retrieved at each prompt and injected, or held out at random so each "
        "entry's effect can be measured.\n\n"
        "Statuses: candidate (not live yet), probation and active (retrieved), demoted (still "
        "retrieved, ranked last and held out half the time, so it can come back), pruned. "
        "Project entries belong to one repository; global ones apply everywhere.\n\n"
        "Share entries through git: `agent knowledge export` writes one markdown file per entry to "
        ".once/knowledge/, `agent knowledge import` reads them back (idempotent by id).\n\n"
        "\b\nExamples:\n"
        "  agent knowledge list\n"
        "  agent knowledge search \"No module named\"\n"
        "  agent knowledge add --title ... --description ... --knowledge ..."
    ),
)

DbOption = typer.Option(None, "--db", help="The SQLite file [$ONCE_DB].")
RepoOption = typer.Option(None, "--repo", "-C", help="The repository (default: the one around the cwd).")
JsonOption = typer.Option(False, "--json", help="Print JSON instead of text.")
OutputOption = typer.Option("text", "--output", "-o", help="text or json (same as --json).")
DEFAULT_DIR = Path(".once") / "knowledge"


def _out(text: str = "") -> None:
    print(terminal_safe(text))


def _as_json(json_out: bool, output: str) -> bool:
    from once.errors import UsageError

    if output not in ("text", "json"):
        raise UsageError(f"unknown output format '{output}'", hint="Use -o text or -o json.")
    return json_out or output == "json"


def _repo_root(repo: Path | None, *, required: bool = False, hint: str | None = None) -> str | None:
    from once.errors import NotARepoError

    try:
        return str(repo_root(repo, hint))
    except NotARepoError:
        if required:
            raise
        return None


class _Opened:
    """A store and a bank over it, closed on exit."""

    def __init__(self, db: Path | None) -> None:
        from once.learn.bank import Bank
        from once.store import open_store

        self.store = open_store(str(db) if db else None)
        self.bank = Bank(self.store.conn)

    def __enter__(self) -> Any:
        return self.bank

    def __exit__(self, *exc: object) -> None:
        self.store.close()


def _require(bank: Any, entry_id: str) -> Any:
    from once.errors import UsageError

    entry = bank.get(entry_id)
    if entry is None:
        raise UsageError(f"no knowledge entry '{entry_id}'", hint="List them with `agent knowledge list`.")
    return entry


def _when(ts: float | None) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M") if ts else "-"


def _public(entry: Any) -> dict[str, Any]:
    return entry.to_dict()


def _line(entry: Any) -> str:
    title = entry.title if len(entry.title) <= 60 else entry.title[:59] + "…"
    return f"{entry.id}  {entry.status:<9}  {entry.scope:<7}  {entry.kind:<7}  {title}"


@app.command("list")
def list_command(
    status: Optional[str] = typer.Option(None, "--status", "-s", help="Only this status (candidate, probation, "
                                         "active, demoted, pruned)."),
    all_repos: bool = typer.Option(False, "--all", help="Entries of every repository, not just this one's."),
    json_out: bool = JsonOption, output: str = OutputOption, db: Optional[Path] = DbOption,
    repo: Optional[Path] = RepoOption,
) -> None:
    """List entries (this repository's and global ones), newest first: id, status, scope, kind, title."""
    with reported():
        as_json = _as_json(json_out, output)
        root = None if all_repos else _repo_root(repo)
        with _Opened(db) as bank:
            if status is not None:
                from once.learn.bank import STATUSES
                from once.errors import UsageError

                if status not in STATUSES:
                    raise UsageError(f"unknown status '{status}'", hint=f"Use one of: {', '.join(STATUSES)}.")
            entries = bank.list(status=status, repo=root)
    if as_json:
        print_json([_public(e) for e in entries])
        return
    if not entries:
        _out("no knowledge entries yet: `agent learn` extracts them from sessions, "
             "`agent knowledge add` writes one by hand")
        return
    for entry in entries:
        _out(_line(entry))


@app.command("show")
def show_command(
    entry_id: str = typer.Argument(..., help="The entry's id (a unique prefix is enough)."),
    json_out: bool = JsonOption, output: str = OutputOption, db: Optional[Path] = DbOption,
) -> None:
    """Show one entry: what retrieval matches, what is injected, its status, sources and exposures."""
    with reported():
        as_json = _as_json(json_out, output)
        with _Opened(db) as bank:
            entry = _require(bank, entry_id)
            log, counts = bank.log(entry.id), bank.exposure_counts(entry.id)
            figures = figure_lines(bank.conn, entry.id)
    if as_json:
        print_json({**_public(entry), "log": log, "exposures": counts, "evidence": figures})
        return
    _out(f"{entry.id}  {entry.title}" + (f"  (from {entry.author})" if entry.author else ""))
    _out(f"status {entry.status}" + (f" ({entry.status_reason})" if entry.status_reason else ""))
    _out(f"scope {entry.scope}{'  repo ' + entry.repo if entry.repo else ''}  ·  kind {entry.kind}  ·  "
         f"holdout {entry.holdout:.0%}  ·  merged {entry.merged_count}")
    _out(f"learned under model {entry.model or '-'}, once {entry.tool_version or '-'}  ·  "
         f"created {_when(entry.created_at)}  ·  last retrieved {_when(entry.last_retrieved_at)}")
    _out(f"exposures: {counts.get('injected', 0)} injected, {counts.get('holdout', 0)} held out")
    for line in figures:
        _out(line)
    if entry.sources:
        _out(f"sources: {', '.join(entry.sources)}")
    _out("\nDescription (what retrieval matches):\n" + entry.description)
    _out("\nKnowledge (what is injected):\n" + entry.knowledge)


@app.command("search")
def search_command(
    text: str = typer.Argument(..., help="Words to look for, or a prompt with --as-prompt."),
    k: int = typer.Option(10, "--limit", "-n", min=1, help="How many results."),
    as_prompt: bool = typer.Option(False, "--as-prompt", help="Show what retrieval would return for this prompt "
                                   "(live entries only, hybrid score, threshold applied)."),
    json_out: bool = JsonOption, output: str = OutputOption, db: Optional[Path] = DbOption,
    repo: Optional[Path] = RepoOption,
) -> None:
    """Full-text search over titles and descriptions (any status), best first."""
    with reported():
        as_json = _as_json(json_out, output)
        root = _repo_root(repo)
        with _Opened(db) as bank:
            if as_prompt:
                from once.learn.retrieve import retrieve

                results = [(h.entry, h.score) for h in retrieve(bank.conn, text, repo=root,
                                                                embedder=bank.embedder, k=k)]
            else:
                results = bank.search(text, k, repo=root)
    if as_json:
        print_json([{**_public(e), "score": round(score, 4)} for e, score in results])
        return
    if not results:
        _out("no matching entries")
    for entry, score in results:
        _out(f"{score:6.3f}  {_line(entry)}")


@app.command("add")
def add_command(
    title: str = typer.Option(..., "--title", "-t", help="A short name for the lesson."),
    description: str = typer.Option(..., "--description", "-d", help="When it applies: symptoms, error text, "
                                    "framework, file kinds (what retrieval matches)."),
    knowledge: str = typer.Option(..., "--knowledge", "-k", help="The guidance to inject when it applies."),
    global_scope: bool = typer.Option(False, "--global", help="Applies in every repository (default: this one)."),
    json_out: bool = JsonOption, db: Optional[Path] = DbOption, repo: Optional[Path] = RepoOption,
) -> None:
    """Write an entry by hand. It starts on probation: retrieved, and measured against a holdout."""
    from once import __version__
    from once.learn.bank import KnowledgeEntry

    with reported():
        root = None if global_scope else _repo_root(repo, required=True, hint=in_repo_hint(
            "A project entry belongs to a repository") + " Or add --global.")
        with _Opened(db) as bank:
            entry_id = bank.add(KnowledgeEntry(
                title=title, description=description, knowledge=knowledge, kind="manual",
                scope="global" if global_scope else "project", repo=root, status="probation",
                status_reason="added by hand", tool_version=__version__))
            entry = bank.get(entry_id)
    if json_out:
        print_json(_public(entry))
    else:
        _out(f"added {entry.id} ({entry.scope}, probation): {entry.title}")


@app.command("edit")
def edit_command(
    entry_id: str = typer.Argument(..., help="The entry's id (a unique prefix is enough)."),
    title: Optional[str] = typer.Option(None, "--title", "-t", help="New title."),
    description: Optional[str] = typer.Option(None, "--description", "-d", help="New description."),
    knowledge: Optional[str] = typer.Option(None, "--knowledge", "-k", help="New knowledge text."),
    db: Optional[Path] = DbOption,
) -> None:
    """Change an entry's text: with --title/--description/--knowledge, or in $EDITOR as markdown."""
    from dataclasses import replace

    with reported():
        with _Opened(db) as bank:
            entry = _require(bank, entry_id)
            if title is None and description is None and knowledge is None:
                changed = _edit_in_editor(entry)
            else:
                changed = replace(entry, title=title if title is not None else entry.title,
                                  description=description if description is not None else entry.description,
                                  knowledge=knowledge if knowledge is not None else entry.knowledge)
            if changed == entry:
                _out(f"{entry.id} unchanged")
                return
            bank.update(changed)
    _out(f"updated {entry.id}")


def _edit_in_editor(entry: Any) -> Any:
    """Open the entry as markdown in $VISUAL/$EDITOR; the saved file's text (and status) come back."""
    import os
    import shlex
    import subprocess
    import tempfile
    from dataclasses import replace

    from once.errors import UsageError
    from once.learn.markdown_io import parse_markdown, to_markdown

    editor = shlex.split(os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{entry.id}.md"
        path.write_text(to_markdown(entry), encoding="utf-8")
        try:
            code = subprocess.run([*editor, str(path)], check=False).returncode
        except OSError as exc:
            raise UsageError(f"cannot start the editor '{editor[0]}': {exc.strerror or exc}",
                             hint="Set $EDITOR, or pass --title/--description/--knowledge.") from None
        if code != 0:
            raise UsageError(f"the editor exited with status {code}; the entry was left unchanged")
        data = parse_markdown(path.read_text(encoding="utf-8"), str(path))
    if data["id"] != entry.id:
        raise UsageError("the id in the frontmatter cannot change", hint=f"Keep id: \"{entry.id}\".")
    return replace(entry, title=data["title"].strip(), description=data["description"],
                   knowledge=data["knowledge"], scope=data.get("scope", entry.scope),
                   status=data.get("status", entry.status))


@app.command("rm")
def rm_command(
    entry_ids: list[str] = typer.Argument(..., help="One or more entry ids (unique prefixes are enough)."),
    db: Optional[Path] = DbOption,
) -> None:
    """Delete entries and their exposures. To keep the record but stop injecting it, prefer demoting."""
    with reported():
        with _Opened(db) as bank:
            entries = [_require(bank, entry_id) for entry_id in entry_ids]
            for entry in entries:
                bank.remove(entry.id)
                _out(f"removed {entry.id}: {entry.title}")


@app.command("export")
def export_command(
    directory: Optional[Path] = typer.Argument(None, help="Where to write (default: <repo>/.once/knowledge/)."),
    status: Optional[list[str]] = typer.Option(None, "--status", "-s", help="Only these statuses (repeatable; "
                                               "default: every status but pruned)."),
    db: Optional[Path] = DbOption, repo: Optional[Path] = RepoOption,
) -> None:
    """Write this repository's and global entries as markdown files, one per entry, to commit and share."""
    from once.learn.markdown_io import export_entries

    with reported():
        root = _repo_root(repo, required=directory is None,
                          hint="Run it in a repository (cd into it, or pass -C PATH), or name a directory to write to.")
        target = directory if directory is not None else Path(root or ".") / DEFAULT_DIR
        with _Opened(db) as bank:
            entries = [e for e in bank.list(repo=root) if (e.status in status if status else e.status != "pruned")]
        written = export_entries(entries, target)
    _out(f"exported {plural(len(written), 'entry')} to {target}")


@app.command("import")
def import_command(
    source: Optional[Path] = typer.Argument(None, help="A markdown file or a directory of them "
                                            "(default: <repo>/.once/knowledge/)."),
    json_out: bool = JsonOption, db: Optional[Path] = DbOption, repo: Optional[Path] = RepoOption,
) -> None:
    """Read entries from markdown files: new ids are added, changed ones updated, identical ones skipped.

    Project entries are attached to this repository. A malformed file stops the import before any change."""
    from once.learn.markdown_io import import_files, markdown_files

    with reported():
        root = _repo_root(repo, required=source is None,
                          hint="Run it in a repository (cd into it, or pass -C PATH), or name the files to import.")
        target = source if source is not None else Path(root) / DEFAULT_DIR
        files = markdown_files(target)
        with _Opened(db) as bank:
            result = import_files(bank, files, root or "")
    if json_out:
        print_json(result)
        return
    _out(f"imported from {target}: {len(result['added'])} added, {len(result['updated'])} updated, "
         f"{len(result['unchanged'])} unchanged")


register(app, DbOption, JsonOption)
