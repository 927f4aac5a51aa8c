"""The git repository the agent works in: discovery, status and path-exact commits."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from once.errors import NotARepoError, VcsError
from once.vcs.commit_secrets import Refs, refs
from once.vcs.head_file import read_head
from once.vcs.lock import hold_run_lock
from once.vcs.messages import format_wip_message
from once.vcs.safe_env import NO_AUTO_MAINTENANCE, git_env, without_external_diff
from once.vcs.status import (
    OPERATION_MARKERS,
    PathsStatus,
    StatusEntry,
    changed_from_status,
    operation_from_markers,
    parse_status,
    parse_status_v2,
    trim_git_output,
)

__all__ = ["GitRepo", "PathsStatus", "StatusEntry", "git_env", "parse_status"]

FALLBACK_NAME = "once agent"
FALLBACK_EMAIL = "agent@once.invalid"
NOT_A_REPO_HINT = "Run `git init` first, or `agent run --init` to create one here."


_RUN_LOCK = "once.lock"


_GIT_LOCATION_ENV = ("GIT_DIR", "GIT_WORK_TREE", "GIT_COMMON_DIR", "GIT_OBJECT_DIRECTORY")
_UNUSUAL_CONFIG = re.compile(r"^\s*(worktree\s*=|bare\s*=\s*true)", re.MULTILINE | re.IGNORECASE)


def _plain_work_tree(start: Path) -> Path | None:
    """The work tree enclosing `start` when the layout is the plain one (the nearest `.git` is a
    directory, its config names no other work tree and no bare repository, no GIT_* location in
    the environment), found without gitpython; None for anything else, which gitpython decides."""
    if any(name in os.environ for name in _GIT_LOCATION_ENV):
        return None
    here = Path(os.path.abspath(start))
    if not here.is_dir():
        return None
    for folder in (here, *here.parents):
        dotgit = folder / ".git"
        if os.path.lexists(dotgit):
            if not dotgit.is_dir() or not (dotgit / "HEAD").is_file():
                return None
            try:
                config = (dotgit / "config").read_text(encoding="utf-8", errors="replace")
            except OSError:
                return None
            return None if _UNUSUAL_CONFIG.search(config) else folder
        if (folder / "HEAD").is_file() and (folder / "objects").is_dir():
            return None  # a git directory itself (bare, or a worktree's administrative folder)
    return None


def _moved_by_git(name: str) -> bool:
    """A git-dir path git may put elsewhere, even in the plain layout (GIT_INDEX_FILE, the hooks
    path, the object directory, the grafts file)."""
    return name in ("index", "info/grafts") or name.split("/")[0] in ("objects", "hooks")


def _covers(path: str, given: str) -> bool:
    given = given.rstrip("/")
    return path == given or path.startswith(given + "/")


class GitRepo:
    """A non-bare git repository, addressed by its work-tree root."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._configured_identity: set[str] | None = None
        self._git_dir_paths: dict[str, Path] = {}
        self._plain_git_dir: Path | None = None
        """`.git` when `open` found the plain layout: git-dir paths are then found without git."""

    # -- discovery -----------------------------------------------------------------

    @classmethod
    def open(cls, path: Path) -> GitRepo:
        """The repository enclosing `path` (searching parent directories)."""
        start = Path(path)
        if start.is_file():
            start = start.parent
        plain = _plain_work_tree(start)
        if plain is not None:
            repo = cls(plain)
            repo._plain_git_dir = plain / ".git"
            return repo
        if not start.is_dir():
            raise NotARepoError(f"not inside a git repository: {path}", hint=NOT_A_REPO_HINT)
        found, answers = _rev_parse_top(start)
        if found:
            top = Path(answers[1])
            if not start.resolve().is_relative_to(top.resolve()):  # `core.worktree` names another folder
                raise VcsError(f"the repository at {path} sets its work tree to another folder ({top})",
                               hint="Remove `core.worktree` from its config (`git config --unset core.worktree`).")
            return cls(top)
        if answers[:1] == ["true"]:
            raise NotARepoError(
                f"{start} is in a bare git repository, which has no working tree to edit",
                hint="Clone it (`git clone <path>`) and run in the clone.",
            )
        raise NotARepoError(f"not inside a git repository: {path}", hint=NOT_A_REPO_HINT)

    @classmethod
    def init(cls, path: Path) -> GitRepo:
        """Create a repository at `path` (or reuse the one there) and open it."""
        Path(path).mkdir(parents=True, exist_ok=True)
        _run(["git", "init", "-q", str(path)], cwd=Path(path))
        return cls.open(Path(path))

    # -- running git ---------------------------------------------------------------

    def run(
        self,
        *args: str,
        input: bytes | None = None,
        env: dict[str, str] | None = None,
        ok_codes: tuple[int, ...] = (0,),
    ) -> subprocess.CompletedProcess[bytes]:
        """Run `git <args>` in the root; a failure becomes a VcsError naming the command."""
        return _run(["git", *args], cwd=self.root, input=input, env=env, ok_codes=ok_codes)

    def text(self, *args: str, input: bytes | None = None, env: dict[str, str] | None = None) -> str:
        """Stdout of `git <args>`, decoded, trailing newline removed."""
        return os.fsdecode(self.run(*args, input=input, env=env).stdout).rstrip("\n")

    def identity_options(self) -> list[str]:
        """`-c` options that supply the fallback identity where none is configured.

        The user's config is never written; an identity from config or the
        environment always wins over the fallback.
        """
        env = os.environ
        name_from_env = bool(env.get("GIT_AUTHOR_NAME") and env.get("GIT_COMMITTER_NAME"))
        email_from_env = bool(env.get("EMAIL") or (env.get("GIT_AUTHOR_EMAIL") and env.get("GIT_COMMITTER_EMAIL")))
        if name_from_env and email_from_env:
            return []  # git is not asked about the config: the environment wins over it anyway
        if self._configured_identity is None:
            found = self.run("config", "--get-regexp", r"^user\.(name|email)$", ok_codes=(0, 1))
            keys = {line.split(" ", 1)[0] for line in os.fsdecode(found.stdout).splitlines() if " " in line}
            self._configured_identity = keys
        options: list[str] = []
        if "user.name" not in self._configured_identity and not name_from_env:
            options += ["-c", f"user.name={FALLBACK_NAME}"]
        if "user.email" not in self._configured_identity and not email_from_env:
            options += ["-c", f"user.email={FALLBACK_EMAIL}"]
        return options

    def commit_options(self) -> list[str]:
        """`-c` options for every commit the agent makes (its edits, wip and revert commits).

        Signing is off: the agent cannot answer a pinentry prompt, and a failed signature
        would leave its edit uncommitted. The user's own commits are signed as configured.
        Auto maintenance is left to the user's own git commands (see `NO_AUTO_MAINTENANCE`).
        """
        return [*self.identity_options(), "-c", "commit.gpgsign=false", *NO_AUTO_MAINTENANCE]

    # -- state -----------------------------------------------------------------------

    def branch(self) -> str | None:
        """The current branch name, or None when HEAD is detached."""
        head = read_head(self._plain_git_dir) if self._plain_git_dir is not None else None
        if head is not None:
            return head.branch
        done = self.run("symbolic-ref", "-q", "--short", "HEAD", ok_codes=(0, 1))
        name = os.fsdecode(done.stdout).strip()
        return name if done.returncode == 0 and name else None

    def refs(self) -> Refs:
        """Where HEAD, the branches and the tags point (see once.vcs.commit_secrets)."""
        return refs(self)

    def head_sha(self) -> str | None:
        """The commit HEAD points to, or None on an unborn branch."""
        head = read_head(self._plain_git_dir) if self._plain_git_dir is not None else None
        if head is not None and head.sha_known:
            return head.sha
        done = self.run("rev-parse", "-q", "--verify", "HEAD^{commit}", ok_codes=(0, 1, 128))
        sha = os.fsdecode(done.stdout).strip()
        return sha if done.returncode == 0 and sha else None

    def commit_message(self, rev: str = "HEAD") -> str:
        """The full message of commit `rev`."""
        return self.text("log", "--no-show-signature", "-1", "--format=%B", rev, "--")

    def status(self, paths: list[str], *, ignored: bool = False) -> list[StatusEntry]:
        """Porcelain status of `paths` (directories cover their files); clean paths are absent."""
        if not paths:
            return []
        args = ["status", "--porcelain=v1", "-z", "--no-renames", "--untracked-files=all"]
        if ignored:
            args.append("--ignored=matching")
        return parse_status(self.run(*args, "--", *paths).stdout)

    def paths_status(self, paths: list[str]) -> PathsStatus:
        """HEAD and the state of `paths`, ignored ones included, from one `git status`: what
        a commit of them needs to know (see `commit_committable`)."""
        args = ["status", "--porcelain=v2", "-z", "--branch", "--no-ahead-behind", "--no-renames",
                "--untracked-files=all", "--ignored=matching"]
        known = parse_status_v2(self.run(*args, "--", *_unique(paths)).stdout)
        refused = _not_storable(self.root, [entry.path for entry in known.entries if entry.committable])
        return dataclasses.replace(known, refused=refused) if refused else known

    def unstage(self, paths: list[str]) -> None:
        """Put the index entries of `paths` back as HEAD has them (the work tree is untouched)."""
        if not paths:
            return
        if self.head_sha() is None:
            self.run("rm", "--cached", "-q", "--ignore-unmatch", "--", *paths)
        else:
            self.run("reset", "-q", "HEAD", "--", *paths)

    def dirty_paths(self, paths: list[str]) -> list[str]:
        """Which of `paths` differ from HEAD (staged or not) or are untracked, not ignored."""
        changed = [entry.path for entry in self.status(paths)]
        return _dirty_given(paths, changed)

    def head_bytes(self, path: str) -> bytes | None:
        """The file as HEAD has it, or None (new, or no commit yet: git fails either way)."""
        done = self.run("cat-file", "blob", f"HEAD:{path}", ok_codes=(0, 128))
        return done.stdout if done.returncode == 0 else None

    def changed_paths(self) -> set[str]:
        """Every file that differs from HEAD in the index or work tree, deleted ones included,
        plus untracked files that are not ignored. One `git status` call."""
        out = self.run("status", "--porcelain=v1", "-z", "--no-renames", "--untracked-files=all").stdout
        return changed_from_status(out)

    def ignored_paths(self, paths: list[str]) -> list[str]:
        """Which of `paths` git ignores: untracked and matched by an ignore rule.

        A path need not exist. Tracked files are never ignored.
        """
        asked = _unique(paths)
        if not asked:
            return []
        # "./": a name starting with ":" would otherwise be read as pathspec magic.
        sent = {"./" + path: path for path in asked}
        matched = {sent[name] for name in self._check_ignore(list(sent)) if name in sent}
        if not matched:
            return []
        listed = self.run("ls-files", "-z", "--cached", "--", *sorted(matched)).stdout
        tracked = [os.fsdecode(name) for name in listed.split(b"\0") if name]
        return [p for p in asked if p in matched and not any(_covers(t, p) for t in tracked)]

    def _check_ignore(self, names: list[str]) -> list[str]:
        """The `names` an ignore rule matches, tracked or not (`--no-index`: the index is
        left to the caller, so a name holding `*` is never matched against other files)."""
        # check-ignore refuses literal pathspecs; with --no-index the names are not globbed.
        env = {"GIT_LITERAL_PATHSPECS": "0"}
        args = ("check-ignore", "--no-index", "-z", "--stdin")
        done = self.run(*args, input=b"\0".join(os.fsencode(n) for n in names) + b"\0", env=env,
                        ok_codes=(0, 1, 128))
        if done.returncode != 128:
            return [os.fsdecode(name) for name in done.stdout.split(b"\0") if name]
        # One name git cannot check (beyond a symlink, say) fails the batch: ask one by one.
        found: list[str] = []
        for name in names:
            one = self.run(*args, input=os.fsencode(name) + b"\0", env=env, ok_codes=(0, 1, 128))
            if one.returncode == 0:
                found.append(name)
        return found

    def operation_in_progress(self) -> str | None:
        """"merge", "rebase", "am", "cherry-pick", "revert" or "bisect" when one is under way
        in this work tree (its own git dir, for a linked worktree), else None."""
        names = [marker for marker, _ in OPERATION_MARKERS]
        paths = dict(zip(names, self.git_paths(*names)))
        present = {name for name, path in paths.items() if path.exists()}
        applying = (paths["rebase-apply"] / "applying").exists()
        return operation_from_markers(present, am_applying=applying)

    def git_paths(self, *names: str) -> list[Path]:
        """Where `names` live in the git dir (`git rev-parse --git-path`), absolute: `.git/NAME` in
        the plain layout, as git says there, but for the paths git may move. Otherwise git's
        answers are kept, as a repository's layout does not change under it, and the run lock's
        path is asked along with the first: a run checks for a merge in progress, then locks."""
        if self._plain_git_dir is not None and not any(map(_moved_by_git, names)):
            return [self._plain_git_dir / name for name in names]
        known = self._git_dir_paths
        missing = [name for name in dict.fromkeys(names) if name not in known]
        if missing:
            asked = [name for name in dict.fromkeys([*missing, _RUN_LOCK]) if name not in known]
            args = [arg for name in asked for arg in ("--git-path", name)]
            out = os.fsdecode(self.run("rev-parse", *args).stdout)
            known.update(zip(asked, (self.root / line for line in out.split("\n")[: len(asked)])))
        return [known[name] for name in names]

    def lock(self, run_id: str) -> AbstractContextManager[None]:
        """Hold this work tree's run lock for a `with` block, so two runs never interleave
        their commits. Raises VcsError naming the other run when it is held."""
        (path,) = self.git_paths(_RUN_LOCK)
        return hold_run_lock(path, run_id)

    # -- commits ---------------------------------------------------------------------

    def commit_paths(self, paths: list[str], message: str) -> str:
        """Commit exactly the work-tree state of `paths`; return the new commit's sha.

        Whatever else the user staged stays staged and out of the commit. New files are
        added, deleted files removed; untracked files that are ignored are left out.
        Raises VcsError when none of the paths has anything to commit.
        """
        known = self.paths_status(paths) if _unique(paths) else None
        targets = known.committable if known is not None else []
        if not targets:
            raise VcsError(f"nothing to commit: no changes in {', '.join(paths) or 'no paths'}")
        return self._commit_exactly(targets, message, known)

    def commit_committable(self, targets: list[str], message: str, known: PathsStatus | None = None) -> str:
        """`commit_paths` for targets that `committable_paths` (or `known`, the `paths_status`
        they came from) just returned: the git calls that status already answered are saved."""
        return self._commit_exactly(targets, message, known)

    def committable_paths(self, paths: list[str]) -> list[str]:
        """The files under `paths` a commit would record: changed, and not ignored-untracked."""
        return self.paths_status(paths).committable if _unique(paths) else []

    def _commit_exactly(self, targets: list[str], message: str, known: PathsStatus | None = None) -> str:
        head = known.head if known is not None else self.head_sha()
        saved = known.saved_index(targets) if known is not None else None
        if saved is None:
            saved = self._index_entries(targets)
        # Only files git does not know yet need `git add`; unknown means all of them.
        new = [t for t in targets if t in known.untracked] if known is not None else targets
        try:
            self._add_and_commit(targets, message, new)
        except BaseException as exc:
            # Whatever failed (a hook, the config, Ctrl-C), the paths must not stay staged
            # differently from before, unless the commit did happen after all.
            problem = self._restore_index(targets, saved) if self.head_sha() == head else None
            if not isinstance(exc, VcsError):
                raise
            detail = exc.message + (f"; restoring the index also failed: {problem}" if problem else "")
            raise VcsError(f"could not commit {_names(targets)}: {detail}", hint=_COMMIT_HINT) from exc
        sha = self.head_sha()
        if sha is None:
            raise VcsError("git commit reported success but HEAD has no commit")
        return sha

    def _add_and_commit(self, targets: list[str], message: str, new: list[str]) -> None:
        # `commit --only` ignores paths git does not know yet, so new files are added first.
        # It then commits these paths from a temporary index built on HEAD, and updates
        # the real index for them only: other staged changes stay staged. Two processes at
        # most: plumbing (read-tree, update-index, write-tree, commit-tree, update-ref and the
        # real index's update-index) would take six for the same result.
        if new:
            self.run("add", "--", *new)
        self.run(
            *self.commit_options(),
            "commit",
            "--only",
            # The agent's commit records what it already wrote to disk; a failing hook
            # would leave the edit uncommitted and the run's history with a hole in it.
            "--no-verify",
            "--quiet",
            "--cleanup=whitespace",
            "--file=-",
            "--",
            *targets,
            input=message.encode("utf-8"),
        )

    def _index_entries(self, paths: list[str]) -> bytes:
        """The index entries of `paths` as `mode sha stage<TAB>path` NUL-terminated records."""
        return self.run("ls-files", "-s", "-z", "--", *paths).stdout

    def _restore_index(self, paths: list[str], saved: bytes) -> str | None:
        """Put the index entries of `paths` back as `_index_entries` saw them; None when
        that worked, else what went wrong."""
        try:
            listed = b"".join(os.fsencode(path) + b"\0" for path in paths)
            self.run("update-index", "-z", "--force-remove", "--stdin", input=listed)
            if saved:
                self.run("update-index", "-z", "--index-info", input=saved)
        except VcsError as exc:
            return exc.message
        return None

    def save_user_changes(self, paths: list[str], run_id: str, known: PathsStatus | None = None) -> str | None:
        """Commit the user's uncommitted changes to `paths` on their own, as a wip commit
        (`known`: their `paths_status`, when the caller just asked for it)."""
        if not _unique(paths):
            return None
        known = known if known is not None else self.paths_status(paths)
        dirty = _dirty_given(paths, [entry.path for entry in known.entries if not entry.ignored])
        # A staged change the user then undid on disk leaves nothing to save.
        targets = [path for path in known.committable if any(_covers(path, given) for given in dirty)]
        if not targets:
            return None
        return self._commit_exactly(targets, format_wip_message(dirty, run_id), known)


_COMMIT_HINT = (
    "The files are unchanged on disk and the index is as it was. "
    "Run `git commit` on them yourself to see git's full message."
)


def _names(paths: list[str], shown: int = 3) -> str:
    listed = ", ".join(paths[:shown])
    return listed + (f" and {len(paths) - shown} more" if len(paths) > shown else "")


def _dirty_given(paths: list[str], changed: list[str]) -> list[str]:
    """The given `paths` that cover one of the `changed` ones (a directory covers its files)."""
    return [given for given in _unique(paths) if any(_covers(path, given) for path in changed)]


def _unique(paths: list[str]) -> list[str]:
    return list(dict.fromkeys(path for path in paths if path))


def _run(
    argv: list[str],
    *,
    cwd: Path,
    input: bytes | None = None,
    env: dict[str, str] | None = None,
    ok_codes: tuple[int, ...] = (0,),
) -> subprocess.CompletedProcess[bytes]:
    kwargs: dict[str, Any] = {"cwd": cwd, "env": git_env(env, root=cwd), "capture_output": True}
    argv = without_external_diff(argv)
    try:
        done = subprocess.run(argv, input=input if input is not None else b"", check=False, **kwargs)
    except FileNotFoundError as exc:
        raise VcsError("git is not installed or not on PATH", hint="Install git and try again.") from exc
    except OSError as exc:
        raise VcsError(f"could not run git: {exc}") from exc
    if done.returncode not in ok_codes:
        detail = trim_git_output(os.fsdecode(done.stderr)) or trim_git_output(os.fsdecode(done.stdout))
        raise VcsError(f"git {_subcommand(argv)} failed: {detail or f'exit code {done.returncode}'}")
    return done


def _rev_parse_top(start: Path) -> tuple[bool, list[str]]:
    """Whether `start` is in a work tree, and git's answers: is it bare, then the top level.
    Discovery reads no file content, so the repository's drivers need no overriding here."""
    try:
        done = subprocess.run(["git", "rev-parse", "--is-bare-repository", "--show-toplevel"], cwd=start,
                              env=git_env(), capture_output=True, check=False)
    except FileNotFoundError as exc:
        raise VcsError("git is not installed or not on PATH", hint="Install git and try again.") from exc
    answers = os.fsdecode(done.stdout).splitlines()
    return done.returncode == 0 and len(answers) == 2, answers


def _not_storable(root: Path, paths: list[str]) -> frozenset[str]:
    """Of changed `paths`, those a commit must not take from disk: reached through a link (git
    reads a tracked file beyond one: a folder a command swapped for a link to ~/.ssh would be
    committed), a link that replaced a folder holding other changed paths, or neither a file
    nor a link (a FIFO git cannot store)."""
    from once.safety.regular import storable

    refused = {path for path in paths if not storable(root, path)}
    links = {path for path in paths if path not in refused and os.path.islink(root / path)}
    refused |= {link for link in links if any(other.startswith(link + "/") for other in paths)}
    refused |= {path for path in paths if any(path.startswith(link + "/") for link in refused)}
    return frozenset(refused)


def _subcommand(argv: list[str]) -> str:
    """The git subcommand of `argv`, skipping global options such as `-c key=value`."""
    skip = False
    for arg in argv[1:]:
        if skip:
            skip = False
        elif arg in ("-c", "-C"):
            skip = True
        elif not arg.startswith("-"):
            return arg
    return "command"
