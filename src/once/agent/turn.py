"""One model turn's tool calls: run them, land the edits together, commit once."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Protocol

from once.agent.nested import NestedContext
from once.agent.recorder import Recorder
from once.agent.result import CommitInfo
from once.errors import DirtyWorktreeError, VcsError
from once.events import CommitMade, FileChanged, SecretBlocked, ToolCall, ToolResult, WarningEvent
from once.lazyre import LazyPattern
from once.providers.base import ModelResponse
from once.recovery.journal import EditJournal
from once.recovery.worktree import disk_blobs
from once.safety.paths import PathRefused
from once.tools import EDIT_TOOL_NAMES, READ_ONLY_TOOL_NAMES
from once.tools.base import ToolContext, ToolOutput, ToolRegistry
from once.tools.workspace import FileChange
from once.tools.write_through import LandingFailed
from once.vcs.commit_secrets import Refs, readable
from once.vcs.messages import format_commit_message, summary_from_text
from once.vcs.status import PathsStatus

if TYPE_CHECKING:  # edits written as text: a model profile's choice, applied only in runs that make it
    from once.agent.text_edits import ParsedEdits

# What the model sees of a tool's output is not capped here (tools cap themselves);
# the event log keeps at most this much of it.
EVENT_OUTPUT_CHARS = 20_000


class Repo(Protocol):
    """The part of `once.vcs.GitRepo` a turn uses."""

    def save_user_changes(self, paths: list[str], run_id: str, known: PathsStatus | None = None) -> str | None: ...

    def paths_status(self, paths: list[str]) -> PathsStatus: ...

    def ignored_paths(self, paths: list[str]) -> list[str]: ...

    def head_bytes(self, path: str) -> bytes | None: ...

    def changed_paths(self) -> set[str]: ...

    def refs(self) -> Refs: ...

    def unstage(self, paths: list[str]) -> None: ...

    def commit_committable(self, targets: list[str], message: str, known: PathsStatus | None = None) -> str: ...


def failure_key(name: str, tool_input: Any, error: Any) -> str:
    """The same tool on the same path failing with the same message gives the same key."""
    path = tool_input.get("path", "") if isinstance(tool_input, dict) else ""
    return f"{name} {path}: {str(error)[:300]}"


def call_key(name: str, tool_input: Any, output: Any) -> str:
    """A successful call and what it returned, as one comparable line."""
    digest = hashlib.sha256(json.dumps([tool_input, str(output)], sort_keys=True, default=str).encode()).hexdigest()
    return f"{name} (same input, same output {digest[:12]})"


def _trim_for_log(text: str) -> str:
    if len(text) <= EVENT_OUTPUT_CHARS:
        return text
    from once.safety.redact import cut_before_secret

    cut = cut_before_secret(text, EVENT_OUTPUT_CHARS)  # a secret cut short would be stored as it is
    return text[:cut] + f"\n[... {len(text) - cut} more characters the model saw ...]"


@dataclass
class TurnOutcome:
    results: list[dict[str, Any]] = field(default_factory=list)
    """`tool_result` blocks (and a text block if the edits could not land)."""
    commits: list[CommitInfo] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    """Every file the turn changed on disk, committed or not (ignored files are not)."""
    failures: list[str] = field(default_factory=list)
    """One line per failed call (tool, path, error), for spotting the same failure repeated."""
    repeats: list[str] = field(default_factory=list)
    """A key per call: the failure line, or the call and its output (the same call, the same answer)."""
    text_edits: int = 0
    """Edits written as text in the reply (see once.agent.text_edits)."""


_EDITS_AND_READS = EDIT_TOOL_NAMES | frozenset(READ_ONLY_TOOL_NAMES)

# Caches and build output a command leaves behind are not the agent's work.
_JUNK = LazyPattern(r"(^|/)(__pycache__|\.pytest_cache|\.mypy_cache|\.ruff_cache|\.tox|\.nox|node_modules|"
                    r"\.coverage$|[^/]*\.egg-info|\.DS_Store$)(/|$)|\.py[co]$")


def _held_message(what: str, held: dict[str, list[str]]) -> str:
    """What the model is told about files kept out of the commit for the secrets in them."""
    listed = "; ".join(f"{path} ({', '.join(kinds)})" for path, kinds in held.items())
    return (f"Not committed: {what} {listed}. They stay on disk, out of the agent's commits; "
            "read the secret from an environment variable instead.")


class TurnRunner:
    def __init__(
        self, registry: ToolRegistry, context: ToolContext, repo: Repo, *, run_id: str, model: str,
        dirty: str = "commit", journal: EditJournal | None = None,
    ) -> None:
        self.registry = registry
        self.context = context
        self.repo = repo
        self.run_id = run_id
        self.model = model
        self.dirty = dirty
        self._turn = 0
        self._recorder: Recorder | None = None
        self._wip: list[CommitInfo] = []
        self._held: set[str] = set()
        """Files kept out of a commit for a secret this run wrote into them."""
        self.nested: NestedContext | None = None
        """Set by the runner: appends nested AGENTS.md files to the results that bring them in."""
        self.approval_wait: Callable[[], float] = lambda: 0.0
        """Seconds spent so far waiting for approvals (set by the runner): left out of a tool's duration."""
        self.journal = journal
        """Records each landed edit before its commit, so a run killed in between can be recovered."""
        self._ahead: dict[str, PathsStatus] = {}
        """This turn's first edits' status, asked for them all at once (see `_status_ahead`)."""
        self._ahead_waited = 0.0
        context.workspace.before_edit = self._before_edit
        if journal is not None:
            context.workspace.before_land = lambda edits: journal.landing(self._turn, edits)
        registry.passthrough = (DirtyWorktreeError,)

    def schemas(self) -> list[dict[str, Any]]:
        return self.registry.schemas()

    def run(self, turn: int, response: ModelResponse, recorder: Recorder,
            text_edits: ParsedEdits | None = None) -> TurnOutcome:
        self._turn, self._recorder = turn, recorder
        outcome = TurnOutcome()
        self._status_ahead(response.tool_uses)
        for block in response.tool_uses:
            result = self._call(block, recorder)
            outcome.results.append(result)
            if result["is_error"]:
                outcome.failures.append(failure_key(block.get("name", ""), block.get("input"), result["content"]))
                outcome.repeats.append(outcome.failures[-1])
            else:
                outcome.repeats.append(call_key(block.get("name", ""), block.get("input"), result["content"]))
        if text_edits is not None and (text_edits.edits or text_edits.problems):
            self._apply_text_edits(text_edits, outcome, recorder)
        self._land(response.text, outcome, recorder)
        return outcome

    def _apply_text_edits(self, parsed: ParsedEdits, outcome: TurnOutcome, recorder: Recorder) -> None:
        from once.agent.text_edit_apply import apply_call, as_call, render_outcomes

        done = []
        for number, edit in enumerate(parsed.edits, start=1):
            call = as_call(edit, self.context)
            use_id = f"text_{self._turn}_{number}"
            recorder.emit(ToolCall(run_id=self.run_id, turn=self._turn, tool_use_id=use_id, name=call.name,
                                   input={**call.input, "written_as": "text"}))
            started = self._clock()
            output = apply_call(call, self.context)
            recorder.emit(ToolResult(
                run_id=self.run_id, turn=self._turn, tool_use_id=use_id, name=call.name, is_error=output.is_error,
                output=_trim_for_log(output.text), duration_ms=self._elapsed_ms(started)))
            done.append((call, output))
            if output.is_error:
                outcome.failures.append(failure_key(call.name, call.input, output.text))
                outcome.repeats.append(outcome.failures[-1])
        outcome.failures.extend(f"text edit: {problem}" for problem in parsed.problems)
        outcome.repeats.extend(f"text edit: {problem}" for problem in parsed.problems)
        outcome.text_edits = len(parsed.edits)
        outcome.results.append({"type": "text", "text": render_outcomes(parsed, done)})

    def abort(self, turn: int, recorder: Recorder) -> TurnOutcome:
        """After Ctrl-C or an error: staged edits are dropped, landed ones are committed."""
        self.context.workspace.discard()
        outcome = TurnOutcome()
        self._commit(self.context.workspace.take_turn_changes(), "", outcome, recorder)
        return outcome

    def _call(self, block: dict[str, Any], recorder: Recorder) -> dict[str, Any]:
        name, tool_input, use_id = block.get("name", ""), block.get("input") or {}, block.get("id", "")
        recorder.emit(ToolCall(run_id=self.run_id, turn=self._turn, tool_use_id=use_id, name=name,
                               input=tool_input if isinstance(tool_input, dict) else {"_raw": tool_input}))
        started = self._clock()
        before = self.repo.changed_paths() if name == "run_command" else None
        refs_before = self.repo.refs() if before is not None else None
        output = self.registry.call(name, tool_input, self.context)
        if before is not None and refs_before is not None:
            undone = self._check_command_commits(refs_before, recorder)
            notes = [undone, self._note_command_changes(before, recorder, skip=set(self._held) if undone else set())]
            if any(notes):
                output = ToolOutput("\n\n".join([output.text, *filter(None, notes)]), output.is_error)
        if self.nested is not None and not output.is_error:
            note = self.nested.note_for(name, tool_input, recorder)
            if note:
                output = ToolOutput(f"{output.text}\n\n{note}", output.is_error)
        recorder.emit(ToolResult(
            run_id=self.run_id, turn=self._turn, tool_use_id=use_id, name=name, is_error=output.is_error,
            output=_trim_for_log(output.text), duration_ms=self._elapsed_ms(started),
        ))
        return {"type": "tool_result", "tool_use_id": use_id, "content": output.text, "is_error": output.is_error}

    def _clock(self) -> tuple[float, float]:
        return time.perf_counter(), self.approval_wait()

    def _elapsed_ms(self, started: tuple[float, float]) -> float:
        """Since `started`, without the time the user took to approve: the tool ran only after that."""
        at, waited = started
        return max(0.0, time.perf_counter() - at - (self.approval_wait() - waited)) * 1000

    def _note_command_changes(self, before: set[str], recorder: Recorder, skip: set[str]) -> str:
        """Files a command changed (a formatter, `sed -i`, codegen) belong to this turn's commit,
        except those it wrote a secret into: they stay on disk, uncommitted, and the model is told
        (`skip`: held already, the model told)."""
        root = self.context.workspace.root
        changes = [
            FileChange(path, "modified" if (root / path).exists() else "deleted")
            for path in sorted(self.repo.changed_paths() - before) if not _JUNK.search(path) and path not in skip
        ]
        held = self._secrets_in([c.path for c in changes if c.action == "modified"])
        self._block(held, recorder)
        if held:  # staged by the command (`git add`): the user's next commit would take the secret
            self.repo.unstage(sorted(held))
        self.context.workspace.note_changes([c for c in changes if c.path not in held])
        return _held_message("the command wrote a secret into", held) if held else ""

    def _check_command_commits(self, before: Refs, recorder: Recorder) -> str:
        """Commits and refs the command made itself (the model's own `git commit`, a tag) holding a
        secret: undone where only the current branch moved, and the files with the secret held."""
        from once.agent.command_commits import check_command_commits

        try:
            found = check_command_commits(self.repo, before)  # type: ignore[arg-type]
        except VcsError as exc:  # a ref locked or an object broken on purpose: said, never passed over
            note = (f"The agent could not check the commits the command may have made ({exc.message}): if one "
                    "holds a secret it is still there. Tell the user to check `git log` before pushing.")
            recorder.emit(WarningEvent(run_id=self.run_id, message=note))
            return note
        if found is None:
            return ""
        self._block(found.files, recorder)
        for where, kinds in found.other.items():
            recorder.emit(SecretBlocked(run_id=self.run_id, path=where, kinds=kinds, lines=[]))
        note = found.message()
        recorder.emit(WarningEvent(run_id=self.run_id, message=note))
        return note

    def _secrets_in(self, paths: list[str]) -> dict[str, list[str]]:
        """The files holding a secret HEAD's version does not, with its kinds."""
        found = ((path, self._new_secrets(path)) for path in paths)
        return {path: kinds for path, kinds in found if kinds}

    def _block(self, held: dict[str, list[str]], recorder: Recorder) -> None:
        self._held.update(held)
        for path, kinds in held.items():  # a name git gave as bytes that are not UTF-8 is logged readable
            recorder.emit(SecretBlocked(run_id=self.run_id, path=readable(path), kinds=kinds, lines=[]))

    def _new_secrets(self, path: str) -> list[str]:
        """Kinds of secrets in the file that HEAD's version does not hold (none for ignored files).
        Every size is scanned: a file too big to scan would be a way past the check."""
        from once.safety.regular import committed_bytes
        from once.safety.secrets import find_secrets, new_secret_kinds

        new = committed_bytes(self.context.workspace.root / path)  # a FIFO or a device is never read
        if new is None:
            return []
        # Most files hold no secret at all: then git is not asked about HEAD's version.
        if not find_secrets(new.decode("utf-8", "replace"), honor_markers=False) or self.repo.ignored_paths([path]):
            return []
        return new_secret_kinds(self.repo.head_bytes(path), new)

    def _land(self, text: str, outcome: TurnOutcome, recorder: Recorder) -> None:
        workspace = self.context.workspace
        try:
            workspace.flush()
        except OSError as exc:
            landed = "the others did not land" if isinstance(exc, LandingFailed) and exc.kept else (
                "none of them landed")
            note = f"The file edits of this turn could not be written ({exc}); {landed}."
            recorder.emit(WarningEvent(run_id=self.run_id, message=note))  # the user learns it too
            outcome.results.append({"type": "text", "text": f"{note} Check the paths and try again."})
        self._commit(workspace.take_turn_changes(), text, outcome, recorder)

    def _commit(self, changes: list[FileChange], text: str, outcome: TurnOutcome, recorder: Recorder) -> None:
        outcome.commits.extend(self._wip)
        self._wip = []
        if not changes:
            self._settle([], None)
            return
        for change in changes:
            recorder.emit(FileChanged(run_id=self.run_id, turn=self._turn, path=change.path, action=change.action))
        outcome.changed.extend(c.path for c in changes)
        # Files git ignores (a .env the model wrote, say) stay on disk and out of the commit.
        # One status answers what to commit, HEAD and the index entries a failed commit restores.
        known = self.repo.paths_status([c.path for c in changes])
        files = sorted(known.committable)
        if known.refused:
            outcome.results.append({"type": "text", "text": (
                f"{', '.join(sorted(known.refused)[:5])} left out of the commit: reached through a link, a link over "
                "a folder, or not a regular file, which the agent never commits from.")})
        nested = sorted(e.path for e in known.entries if e.nested_repository and not e.ignored)
        if nested:
            outcome.results.append({"type": "text", "text": (
                f"{', '.join(nested[:5])} holds a git repository of its own: the agent commits files, "
                "never another repository, so it stays out of the commit.")})
        # Whoever wrote them (an edit tool, a command, both), files are scanned once more as they
        # will be committed: a command can add a key to a file already in the turn, an edit can
        # change a file a command put a key into.
        held = self._secrets_in(files)
        if held:
            self._block(held, recorder)
            outcome.results.append({"type": "text", "text": _held_message("a secret was written into", held)})
            files = [f for f in files if f not in held]
        if not files:
            self._settle([], None)
            return
        message = format_commit_message(summary_from_text(text, files), files, self.run_id, self.model)
        if self.journal is not None:  # what the commit takes, as it is on disk (a command's changes too)
            self.journal.committing(self._turn, disk_blobs(self.context.workspace.root, files))
        sha = self.repo.commit_committable(files, message, known)
        subject = message.splitlines()[0]
        # Logged before the journal is settled: a run killed in between has its commit counted once.
        recorder.emit(CommitMade(run_id=self.run_id, turn=self._turn, sha=sha, subject=subject, files=files))
        self._settle(files, sha)
        outcome.commits.append(CommitInfo(sha=sha, subject=subject, files=files))

    def _refuse_saving_a_secret(self, path: str) -> None:
        """The wip commit is an agent commit too: the user's uncommitted changes holding a secret
        are never saved into it, so the file (which has such changes) is not edited."""
        kinds = self._new_secrets(path)
        if not kinds:
            return
        if self._recorder is not None:  # not held: the changes are the user's, every edit is refused
            self._recorder.emit(SecretBlocked(run_id=self.run_id, path=path, kinds=kinds, lines=[]))
        raise PathRefused(
            f"'{path}' has uncommitted changes that hold a secret ({', '.join(kinds)}); editing it would "
            "commit them, so the agent leaves it alone. Tell the user to move the secret to an environment "
            "variable or a gitignored file first.")

    def _settle(self, files: list[str], sha: str | None) -> None:
        if self.journal is not None:
            self.journal.settle(files, sha)

    def _status_ahead(self, blocks: list[dict[str, Any]]) -> None:
        """One git status for the files this turn edits for the first time, instead of one each,
        when its calls change nothing but those edits (a command could change the files between)."""
        self._ahead = {}
        if any(block.get("name") not in _EDITS_AND_READS for block in blocks):
            return
        paths: list[str] = []
        for block in blocks:
            tool_input = block.get("input")
            edits = block.get("name") in EDIT_TOOL_NAMES and isinstance(tool_input, dict)
            given = tool_input.get("path") if edits else None  # type: ignore[union-attr]
            try:
                rel = self.context.workspace.resolve(given)[1] if isinstance(given, str) else None
            except Exception:  # a path the edit itself will refuse
                rel = None
            if rel is not None and rel not in paths and not self.context.workspace.edited(rel):
                paths.append(rel)
        if len(paths) < 2:
            return
        try:
            known = self.repo.paths_status(paths)
        except VcsError:
            return  # each edit asks on its own, and a failure is that edit's, as before
        self._ahead = dict.fromkeys(paths, known)
        self._ahead_waited = self.approval_wait()

    def _before_edit(self, path: str) -> None:
        """The first edit of a file in this run: keep the user's uncommitted changes apart."""
        known = self._ahead.pop(path, None)
        # Asked again after someone was asked to approve: the user may have changed the file meanwhile.
        if known is None or self.approval_wait() != self._ahead_waited:
            known = self.repo.paths_status([path])  # ignored, dirty and the wip commit: one git status
        if (self.context.workspace.root / path).exists() and known.ignores(path):
            raise PathRefused(
                f"'{path}' is ignored by git, so an edit to it could be neither committed nor undone, and "
                "the agent leaves it alone. Tell the user what to change in it instead.")
        if path in self._held:
            return  # the agent's own command wrote it: not the user's to save; the commit scan decides
        if self.dirty == "refuse":
            if known.dirty(path):
                raise DirtyWorktreeError(
                    f"'{path}' has uncommitted changes and --dirty refuse is set; stopped before editing.",
                    hint="Commit or stash your changes, or run with --dirty commit to save them in a wip commit.",
                )
            return
        if not known.dirty(path):
            return
        self._refuse_saving_a_secret(path)
        sha = self.repo.save_user_changes([path], self.run_id, known)
        if sha:
            self._ahead = {}  # HEAD moved: the others' status is out of date
        if sha and self._recorder is not None:
            subject = "wip: uncommitted changes before agent edit"
            self._recorder.emit(CommitMade(run_id=self.run_id, turn=self._turn, sha=sha, subject=subject,
                                           files=[path], kind="wip"))
            self._wip.append(CommitInfo(sha=sha, subject=subject, files=[path], kind="wip"))
