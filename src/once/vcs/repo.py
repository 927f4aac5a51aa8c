"""The git repository the agent works in: discovery, status and path-exact commits."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from once.errors import NotARepoError, VcsError
from once.vcs.messages import format_wip_message

FALLBACK_NAME = "once agent"
FALLBACK_EMAIL = "agent@once.invalid"
_NOT_A_REPO_HINT = "Run `git init` first, or `agent run --init` to create one here."


@dataclass(frozen=True)
class StatusEntry:
    """One line of `git status --porcelain=v1`: index state `x`, work-tree state `y`."""

    path: str
    x: str
    y: str

    @property
    def ignored(self) -> bool:
        return self.x == "!"

    @property
    def committable(self) -> bool:
        """Something to record: not ignored, and not a staged add whose file is gone."""
        return not self.ignored and not (self.x == "A" and self.y == "D")


def parse_status(output: bytes) -> list[StatusEntry]:
    """Parse `git status --porcelain=v1 -z --no-renames` output."""
    entries = []
    for record in output.split(b"\0"):
        if len(record) > 3:
            text = os.fsdecode(record)
            entries.append(StatusEntry(path=text[3:], x=text[0], y=text[1]))
    return entries


def git_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    # Paths are file names, never patterns: `star*.py` must not match `star-1.py`.
    env["GIT_LITERAL_PATHSPECS"] = "1"
    env["GIT_TERMINAL_PROMPT"] = "0"
    env.pop("GIT_INDEX_FILE", None)
    if extra:
        env.update(extra)
    return env


def _covers(path: str, given: str) -> bool:
    given = given.rstrip("/")
    return path == given or path.startswith(given + "/")


class GitRepo:
    """A non-bare git repository, addressed by its work-tree root."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._configured_identity: set[str] | None = None

    # -- discovery -----------------------------------------------------------------

    @classmethod
    def open(cls, path: Path) -> GitRepo:
        """The repository enclosing `path` (searching parent directories)."""
        import git  # lazy: gitpython is slow to import and only needed here

        start = Path(path)
        if start.is_file():
            start = start.parent
        try:
            found = git.Repo(start, search_parent_directories=True)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
            raise NotARepoError(f"not inside a git repository: {path}", hint=_NOT_A_REPO_HINT) from exc
        try:
            if found.bare or found.working_tree_dir is None:
                raise NotARepoError(
                    f"{start} is in a bare git repository, which has no working tree to edit",
                    hint="Clone it (`git clone <path>`) and run in the clone.",
                )
            return cls(Path(found.working_tree_dir))
        finally:
            found.close()

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
        if self._configured_identity is None:
            found = self.run("config", "--get-regexp", r"^user\.(name|email)$", ok_codes=(0, 1))
            keys = {line.split(" ", 1)[0] for line in os.fsdecode(found.stdout).splitlines() if " " in line}
            self._configured_identity = keys
        env = os.environ
        options: list[str] = []
        if "user.name" not in self._configured_identity and not (
            env.get("GIT_AUTHOR_NAME") and env.get("GIT_COMMITTER_NAME")
        ):
            options += ["-c", f"user.name={FALLBACK_NAME}"]
        if "user.email" not in self._configured_identity and not env.get("EMAIL") and not (
            env.get("GIT_AUTHOR_EMAIL") and env.get("GIT_COMMITTER_EMAIL")
        ):
            options += ["-c", f"user.email={FALLBACK_EMAIL}"]
        return options

    # -- state -----------------------------------------------------------------------

    def branch(self) -> str | None:
        """The current branch name, or None when HEAD is detached."""
        done = self.run("symbolic-ref", "-q", "--short", "HEAD", ok_codes=(0, 1))
        name = os.fsdecode(done.stdout).strip()
        return name if done.returncode == 0 and name else None

    def head_sha(self) -> str | None:
        """The commit HEAD points to, or None on an unborn branch."""
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

    def dirty_paths(self, paths: list[str]) -> list[str]:
        """Which of `paths` differ from HEAD (staged or not) or are untracked, not ignored."""
        changed = [entry.path for entry in self.status(paths)]
        return [given for given in _unique(paths) if any(_covers(path, given) for path in changed)]

    # -- commits ---------------------------------------------------------------------

    def commit_paths(self, paths: list[str], message: str) -> str:
        """Commit exactly the work-tree state of `paths`; return the new commit's sha.

        Whatever else the user staged stays staged and out of the commit. New files are
        added, deleted files removed; untracked files that are ignored are left out.
        Raises VcsError when none of the paths has anything to commit.
        """
        targets = self.committable_paths(paths)
        if not targets:
            raise VcsError(f"nothing to commit: no changes in {', '.join(paths) or 'no paths'}")
        return self._commit_exactly(targets, message)

    def committable_paths(self, paths: list[str]) -> list[str]:
        """The files under `paths` a commit would record: changed, and not ignored-untracked."""
        entries = self.status(_unique(paths), ignored=True)
        return [entry.path for entry in entries if entry.committable]

    def _commit_exactly(self, targets: list[str], message: str) -> str:
        # `commit --only` ignores paths git does not know yet, so new files are added first.
        # It then commits these paths from a temporary index built on HEAD, and updates
        # the real index for them only: other staged changes stay staged.
        self.run("add", "--", *targets)
        self.run(
            *self.identity_options(),
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
        sha = self.head_sha()
        if sha is None:
            raise VcsError("git commit reported success but HEAD has no commit")
        return sha

    def save_user_changes(self, paths: list[str], run_id: str) -> str | None:
        """Commit the user's uncommitted changes to `paths` on their own, as a wip commit."""
        dirty = self.dirty_paths(paths)
        # A staged change the user then undid on disk leaves nothing to save.
        targets = self.committable_paths(dirty) if dirty else []
        if not targets:
            return None
        return self._commit_exactly(targets, format_wip_message(dirty, run_id))


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
    kwargs: dict[str, Any] = {"cwd": cwd, "env": git_env(env), "capture_output": True}
    try:
        done = subprocess.run(argv, input=input if input is not None else b"", check=False, **kwargs)
    except FileNotFoundError as exc:
        raise VcsError("git is not installed or not on PATH", hint="Install git and try again.") from exc
    except OSError as exc:
        raise VcsError(f"could not run git: {exc}") from exc
    if done.returncode not in ok_codes:
        detail = os.fsdecode(done.stderr).strip() or os.fsdecode(done.stdout).strip()
        raise VcsError(f"git {_subcommand(argv)} failed: {detail or f'exit code {done.returncode}'}")
    return done


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
