"""`list_files`, and the repository file list that `search` shares.

Inside git the list is what `git ls-files --cached --others --exclude-standard`
gives, so anything .gitignore hides stays hidden; outside git it is a walk that
skips `.git`. Files staged by this turn's edits are included.

Glob patterns (`pattern` here, `glob` in `search`):
  `*` any characters except `/`, `?` one such character, `[abc]` / `[!abc]` a class,
  `**` any number of directories (`src/**/*.py` also matches `src/a.py`),
  `{py,pyi}` alternatives. A pattern without `/` matches the file name at any depth
  (`*.py` finds every Python file); a pattern with `/` matches the path from the
  repository root (or from `path`, when one is given).
"""

from __future__ import annotations

import os
import re
import subprocess
from functools import lru_cache
from pathlib import Path, PurePosixPath

from once.safety.paths import PathRefused
from once.vcs.repo import git_env
from once.tools.base import Tool, ToolContext, ToolOutput

MAX_ENTRIES = 500
AGENT_FOLDER = ".once"
SHARED_AGENT_FOLDERS = ("skills",)
"""Under `.once/`, what the agent may see like any file: skills' resources."""


def agent_private(rel: str) -> bool:
    """Once's own records (knowledge exports, plan, memory, config) under `.once/`: never indexed,
    listed, searched or read by the agent's tools, so a held-out entry cannot reach the model
    through an exported copy (the holdout is what measures whether an entry helps)."""
    parts = PurePosixPath(rel).parts
    return bool(parts) and parts[0].lower() == AGENT_FOLDER and not (
        len(parts) > 2 and parts[1] in SHARED_AGENT_FOLDERS)


def named_in(task: str, rel: str) -> bool:
    """Whether the user's request names this file (then the agent may read it, as asked)."""
    return bool(task) and rel in task


def repo_files(root: Path) -> list[str]:
    """Sorted repo-relative posix paths of the files under `root`, honouring .gitignore,
    without once's own records (`agent_private`)."""
    listed = _git_files(root)
    if listed is None:
        listed = _walk_files(root)
    return sorted(rel for rel in set(listed)
                  if ".git" not in PurePosixPath(rel).parts and not agent_private(rel))


def _git_files(root: Path) -> list[str] | None:
    """What git would show, or None when `root` is not inside a git work tree."""
    try:
        proc = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=root, stdin=subprocess.DEVNULL, capture_output=True, timeout=60, check=False, env=git_env(root=root),
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0:
        return None
    names = [os.fsdecode(raw) for raw in proc.stdout.split(b"\0") if raw]
    # Deleted-but-tracked files and submodule directories are not files to read.
    return [name for name in names if os.path.isfile(root / name)]


def _walk_files(root: Path) -> list[str]:
    found: list[str] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".git"]
        base = Path(folder).relative_to(root)
        found.extend((base / name).as_posix() for name in files)
    return found


def workspace_files(ctx: ToolContext) -> list[str]:
    """The repository's files plus files staged (not yet written) in this turn."""
    staged = set(ctx.workspace.pending_paths())
    return sorted(set(repo_files(ctx.workspace.root)) | staged)


def under(files: list[str], rel: str) -> list[str]:
    """The files at or below the repo-relative `rel` ("." is everything)."""
    if rel in (".", ""):
        return files
    prefix = rel.rstrip("/") + "/"
    return [name for name in files if name == rel or name.startswith(prefix)]


# ---- glob matching (pure) -------------------------------------------------------


@lru_cache(maxsize=64)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """Compile a glob (see the module doc) into a regex for `fullmatch`."""
    return re.compile(_translate(pattern), re.DOTALL)


def glob_match(rel: str, pattern: str, base: str = ".") -> bool:
    """Does the repo-relative path `rel` match `pattern`?

    `base` is the directory the caller listed; a pattern with `/` may be written
    from the repository root or from `base`.
    """
    pattern = pattern.strip()
    if pattern.endswith("/"):
        pattern += "**"
    anchored = pattern.startswith("/")
    pattern = pattern.lstrip("/")
    if not pattern:
        return True
    regex = glob_regex(pattern)
    if "/" not in pattern and not anchored:
        return regex.fullmatch(PurePosixPath(rel).name) is not None
    if regex.fullmatch(rel):
        return True
    prefix = base.rstrip("/") + "/"
    return base not in (".", "") and rel.startswith(prefix) and regex.fullmatch(rel[len(prefix):]) is not None


def _translate(pattern: str) -> str:
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        if char == "*":
            j = i
            while j < n and pattern[j] == "*":
                j += 1
            if j - i == 1:
                out.append("[^/]*")
            elif j < n and pattern[j] == "/":
                out.append("(?:.*/)?")  # `**/` is zero or more directories
                j += 1
            else:
                out.append(".*")
            i = j
        elif char == "?":
            out.append("[^/]")
            i += 1
        elif char == "[":
            i = _translate_class(pattern, i, out)
        elif char == "{":
            i = _translate_braces(pattern, i, out)
        else:
            out.append(re.escape(char))
            i += 1
    return "".join(out)


def _translate_class(pattern: str, start: int, out: list[str]) -> int:
    end = pattern.find("]", start + 2 if pattern[start + 1:start + 2] in ("!", "^") else start + 1)
    if end == -1:
        out.append(re.escape("["))
        return start + 1
    body = pattern[start + 1:end]
    negate = body[:1] in ("!", "^")
    if negate:
        body = body[1:]
    body = body.replace("\\", "\\\\").replace("[", "\\[")
    out.append(f"[{'^' if negate else ''}{body}]")
    return end + 1


def _translate_braces(pattern: str, start: int, out: list[str]) -> int:
    depth, alternatives, current = 0, [], start + 1
    for j in range(start, len(pattern)):
        if pattern[j] == "{":
            depth += 1
        elif pattern[j] == "}":
            depth -= 1
            if depth == 0:
                alternatives.append(pattern[current:j])
                out.append("(?:" + "|".join(_translate(alt) for alt in alternatives) + ")")
                return j + 1
        elif pattern[j] == "," and depth == 1:
            alternatives.append(pattern[current:j])
            current = j + 1
    out.append(re.escape("{"))  # no closing brace: a literal
    return start + 1


# ---- the tool ------------------------------------------------------------------


def list_files(ctx: ToolContext, path: str | None = None, pattern: str | None = None) -> ToolOutput:
    base = "."
    if path not in (None, "", "."):
        try:
            absolute, base = ctx.workspace.resolve(path)
        except PathRefused as exc:
            return ToolOutput(str(exc), is_error=True)
        if not absolute.exists() and base not in ctx.workspace.pending_paths():
            return ToolOutput(f"'{path}' does not exist. Call list_files without a path to see the repository.",
                              is_error=True)
    files = under(workspace_files(ctx), base)
    if pattern:
        files = [rel for rel in files if glob_match(rel, pattern, base)]
    if not files:
        return ToolOutput(_nothing_found(base, pattern))
    shown = files[:MAX_ENTRIES]
    text = "\n".join(shown)
    if len(files) > MAX_ENTRIES:
        text += f"\n... {len(files) - MAX_ENTRIES} more; narrow with path or pattern"
    return ToolOutput(text)


def _nothing_found(base: str, pattern: str | None) -> str:
    where = "the repository" if base == "." else f"'{base}'"
    if pattern:
        return (f"No files in {where} match '{pattern}'. A pattern without '/' matches file names at any "
                "depth ('*.py'); use '**' for any number of directories ('src/**/*.py').")
    return f"No files in {where} (files ignored by .gitignore are not listed)."


def list_files_tool() -> Tool:
    return Tool(
        name="list_files",
        description=(
            "List the repository's files (paths relative to the repository root, sorted; files ignored by "
            ".gitignore are left out). `path` limits the listing to a directory. `pattern` is a glob: "
            "'*.py' matches file names at any depth, 'src/**/*.py' matches paths, '**' spans directories, "
            f"'{{a,b}}' gives alternatives. At most {MAX_ENTRIES} entries are shown."
        ),
        input_schema={
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": "Directory to list, relative to the repository root."},
                "pattern": {"type": "string", "description": "Glob the paths must match, e.g. '*.py' or 'src/**/*.ts'."},
            },
        },
        func=list_files,
    )
