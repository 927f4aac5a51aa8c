"""Wires a run together: repo, settings, provider, store, tools, loop.

Interfaces (CLI now, TUI later) call `run_once`; it holds no business logic of its own
beyond choosing the session and recording the run.
"""

from __future__ import annotations

import os
import re
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from once.agent.attempts import FreshAttempts
from once.agent.assemble import load_context, load_learned, load_skills, select_context_files
from once.agent.compactor import Compactor
from once.agent.mcp_run import open_servers
from once.agent.verifier import Verifier
from once.agent.loop import AgentLoop, RunConfig
from once.agent.prompt import PromptContext, build_system_prompt
from once.agent.recorder import Recorder
from once.agent.result import RunResult
from once.agent.turn import TurnRunner
from once.config import Settings
from once.errors import OnceError, UsageError, VcsError
from once.events import EventSink, RunStarted, WarningEvent
from once.ids import new_id
from once.lazyre import LazyPattern
from once.providers.base import Provider, TextCallback
from once.providers.pricing import price_for
from once.providers.replay import replay_mismatch
from once.recovery.journal import EditJournal
from once.recovery.recover import recover_killed_runs, refusal
from once.safety.env import scrubbed_env
from once.safety.policy import Policy
from once.safety.sandbox import SandboxState, sandbox_state
from once.store import RunRecord, Store
from once.agent.permissions import HEADLESS_DEFAULT, Approver, PermissionGate, headless_approver
from once.agent.progress import RunProgress
from once.agent.profile import resolve_profile
from once.agent.small import SmallAsk, SmallModel, counted_per_run
from once.tools import EDIT_TOOL_NAMES, tools_for_mode
from once.tools.base import Tool, ToolContext, ToolRegistry
from once.tools.workspace import FileReader, Workspace
from once.tools.write_through import FileWriter
from once.vcs import GitRepo
from once.verify import Check, detect_checks

if TYPE_CHECKING:  # what plans, undoing and recovery need is imported when a run uses them
    from once.agent.plan_run import PlanProgress
    from once.recovery.triage import Recovery
    from once.vcs.undo import UndoResult


@dataclass
class RunRequest:
    prompt: str
    continue_session: bool = False
    session_id: str | None = None
    mode: str = "agent"
    """"agent" (edit and commit) or "plan" (read-only; the answer becomes .once/plan.md)."""
    plan_text: str | None = None
    """An approved plan to carry out (agent mode)."""
    sinks: list[EventSink] = field(default_factory=list)
    on_text: TextCallback | None = None
    small: SmallAsk | None = None
    """The small-model role; None offline."""
    permission_mode: str = HEADLESS_DEFAULT
    approver: Approver = headless_approver
    """Who answers when an edit or a command needs approval (the TUI asks the user)."""
    cancel: threading.Event | None = None
    """Set by the app when the user cancels: a running command stops at once (see ToolContext.cancel)."""
    attachments: str = ""
    """Files the user mentioned (`@path`), sent before the prompt; the stored prompt, session
    titles and learning see only what was typed."""
    cassette_per_run: bool = False
    """A replayed cassette answers this run alone (`agent run --replay`): a run that ends done with
    responses left unplayed went another way than recorded. The app and the queue play one across runs."""
    file_reader: FileReader | None = None
    """Reads files as the user's editor holds them (an ACP client's buffers); None reads the disk."""
    file_writer: FileWriter | None = None
    """Lands edits through the user's editor (an ACP client's fs/write_text_file); None writes the disk."""


def choose_session(store: Store, repo: str, request: RunRequest) -> tuple[str, list[dict[str, Any]]]:
    """The session to run in and the earlier messages the model should see."""
    if request.session_id:
        session = store.get_session(request.session_id)
        if session is None:
            raise UsageError(f"no session '{request.session_id}'", hint="List them with `agent sessions`.")
        return session["id"], store.session_messages(session["id"])
    if request.continue_session:
        latest = store.latest_session(repo)
        if latest is not None:
            return latest, store.session_messages(latest)
    return store.create_session(repo, title=request.prompt[:80]), []


def run_once(
    request: RunRequest, *, repo: GitRepo, settings: Settings, provider: Provider, store: Store
) -> RunResult:
    """Run one prompt to the end and record it; provider errors are re-raised after recording."""
    price_for(settings.model, settings.prices)  # a broken price entry fails before any model call
    operation = repo.operation_in_progress()
    if operation:
        raise VcsError(f"git {operation} is in progress in this repository, so the agent would edit in the middle of it",
                       hint=f"Finish or abort the {operation} first (`git status` shows where it stands).")
    run_id = new_id("r")
    with repo.lock(run_id):
        # Under the lock no other run is live here: one left `running` was killed, maybe mid-commit.
        recovered = recover_killed_runs(repo, store, dirty=settings.dirty)
        refused = refusal(recovered)
        if refused is not None:
            raise refused
        return _run_locked(request, run_id, repo=repo, settings=settings, provider=provider, store=store,
                           recovered=recovered)


def _run_locked(
    request: RunRequest, run_id: str, *, repo: GitRepo, settings: Settings, provider: Provider, store: Store,
    recovered: list[Recovery],
) -> RunResult:
    root = str(repo.root)
    session_id, history = choose_session(store, root, request)
    store.start_run(RunRecord(
        id=run_id, session_id=session_id, repo=root, prompt=request.prompt, mode=request.mode,
        provider=provider.name, model=settings.model, status="running", started_at=time.time(), pid=os.getpid(),
    ))
    recorder = Recorder(session_id=session_id, run_id=run_id, store=store,
                        sinks=[RunProgress(store, run_id), *request.sinks])
    recorder.emit(RunStarted(run_id=run_id, session_id=session_id, repo=root, prompt=request.prompt,
                             mode=request.mode, provider=provider.name, model=settings.model,
                             permission_mode=request.permission_mode))
    if recovered:
        from once.recovery.triage import describe

        for line in (line for recovery in recovered for line in describe(recovery)):
            recorder.emit(WarningEvent(run_id=run_id, message=line))
    loop: AgentLoop | None = None
    try:
        with ExitStack() as stack:  # what the run holds open (its MCP servers), closed however it ends
            loop, first_blocks = _prepare(request, repo, settings, provider, store, recorder, history, stack)
            if request.attachments:
                first_blocks = [*first_blocks, {"type": "text", "text": request.attachments}]
            result = loop.run(first_blocks)
    except BaseException as exc:  # recorded, then passed on: a run never stays "running"
        message = exc.message if isinstance(exc, OnceError) else f"{type(exc).__name__}: {exc}"
        status = "interrupted" if isinstance(exc, KeyboardInterrupt) else (
            exc.run_status if isinstance(exc, OnceError) else "error")
        store.finish_run(run_id, status=status, turns=loop.turn if loop else 0,
                         usage=loop.usage.to_dict() if loop else {}, cost_usd=loop.cost if loop else 0.0,
                         result=message)
        raise
    store.finish_run(run_id, status=result.status, turns=result.turns, usage=result.usage.to_dict(),
                     cost_usd=result.cost_usd, result=result.result)
    return result


def _prepare(request: RunRequest, repo: GitRepo, settings: Settings, provider: Provider, store: Store,
             recorder: Recorder, history: list[dict[str, Any]],
             stack: ExitStack) -> tuple[AgentLoop, list[dict[str, Any]]]:
    """Everything the loop needs: tools, context, checks, compaction, and what ends the run."""
    request = replace(request, small=counted_per_run(request.small))
    progress = _plan_progress(request.plan_text, recorder) if request.plan_text else None
    context = ToolContext(
        workspace=Workspace(repo.root), command_env=scrubbed_env(os.environ, settings.command_env),
        sandbox=(settings.sandbox, settings.sandbox_network),
        default_timeout=float(settings.command_timeout), plan=progress.tracker if progress else None,
        cancel=request.cancel, task=request.prompt,
    )
    profile = resolve_profile(settings, getattr(provider, "recorded_as", None) or provider.name)
    text_edits = profile.text_edits and request.mode == "agent"
    gate = PermissionGate(request.permission_mode, Policy.from_settings(settings.policy), request.approver,
                          repo.root, repo, recorder, sandbox=_sandbox_in_force(request, settings, recorder))
    mcp = open_servers(settings, repo.root, gate, recorder, stack)
    # A small model files bogus reports through the vent tool, so the lean prompt goes without it.
    always = [] if profile.lean else [_vent_tool(request, repo.root, settings, store, recorder)]
    if mcp is not None:  # plan mode offers only the tools marked read-only
        always += mcp.agent_tools(read_only=request.mode == "plan")
    tools = tools_for_mode(request.mode, executing_plan=progress is not None, always=always, lean=profile.lean)
    # Lean with text edits offers no tools at all: the files are in the prompt, the checks run by
    # themselves, and a small model given tools calls them instead of editing. Stray calls still work.
    hidden = frozenset(tool.name for tool in tools) if profile.lean and text_edits else (
        EDIT_TOOL_NAMES if text_edits else frozenset())
    registry = ToolRegistry(tools, hidden=hidden)
    if mcp is not None:
        mcp.registry = registry
    turns = TurnRunner(registry, context, repo, run_id=recorder.run_id, model=settings.model, dirty=settings.dirty,
                       journal=EditJournal(store.conn, recorder.run_id))
    context.check_command = gate.check_command
    context.check_tool = gate.check_tool
    context.workspace.approve = gate.check_edit
    turns.approval_wait = lambda: gate.waited
    context.workspace.reader = request.file_reader
    context.workspace.writer = request.file_writer
    assembly = load_context(repo.root, recorder)
    load_skills(repo.root, request.prompt, request.small, recorder, assembly, lean=profile.lean)
    if not history:  # a continued session already has its files in the conversation
        select_context_files(store.conn, repo.root, request.prompt, request.small, settings.max_files, recorder,
                             assembly, lean=profile.lean)
    load_learned(store.conn, repo.root, request.prompt, recorder, assembly, arm=settings.learn.arm)
    turns.nested = assembly.nested
    mode_block = _mode_block(request)
    config = RunConfig(
        prompt=request.prompt, model=settings.model, provider_name=provider.name,
        system_prompt=build_system_prompt(PromptContext(
            repo_name=repo.root.name, branch=repo.branch(), mode_block=mode_block,
            context_block=assembly.context_block, skills_block=assembly.skills_block, lean=profile.lean,
            edit_format=profile.edit_format if request.mode == "agent" else "none")),
        max_turns=settings.max_turns, max_cost=settings.max_cost, max_tokens=profile.max_tokens,
        mode=request.mode, prices=settings.prices, temperature=profile.temperature, text_edits=text_edits,
    )
    verifier = None
    if request.mode == "agent":
        checks = detect_checks(repo.root, settings.verify.test_command, settings.verify.lint_command)
        verifier = Verifier(checks, settings.verify, repo.root, context.command_env or {}, recorder,
                            permit=_check_permit(settings, gate), cancel=request.cancel,
                            sandbox=(settings.sandbox, settings.sandbox_network))
    if profile.lean and verifier is not None and not history and _FAILURE_WORDS.search(request.prompt):
        _attach_baseline(verifier, assembly)
    compactor = Compactor(settings.context_budget, small=request.small,
                          reinject=_reinjector(assembly.context_block, mode_block, progress))
    finalize = _finalizer(request, repo.root, verifier, progress, _replay_check(request, provider, recorder))
    loop = AgentLoop(config, provider, turns, recorder, history=history, on_text=request.on_text,
                     finalize=finalize, compactor=compactor, verifier=verifier,
                     small_costs=request.small if isinstance(request.small, SmallModel) else None,
                     fresh=_fresh_attempts(profile.attempts, repo, recorder.run_id) if request.mode == "agent" else None)
    return loop, assembly.first_blocks


def _plan_progress(plan_text: str, recorder: Recorder) -> PlanProgress:
    from once.agent.plan_run import PlanProgress

    return PlanProgress(plan_text, recorder)


def _mode_block(request: RunRequest) -> str:
    """The system prompt's instructions for carrying out a plan, or for plan mode."""
    if not request.plan_text and request.mode != "plan":
        return ""
    from once.agent.plan import PLAN_MODE_INSTRUCTIONS, execution_instructions

    return execution_instructions(request.plan_text) if request.plan_text else PLAN_MODE_INSTRUCTIONS


def _fresh_attempts(limit: int, repo: GitRepo, run_id: str) -> FreshAttempts | None:
    """Starting over undoes the run's own commits (the run holds the repository's lock)."""
    if limit <= 1:
        return None

    def discard() -> UndoResult | None:
        from once.vcs.undo import undo_run

        try:
            return undo_run(repo, run_id)
        except OnceError:  # e.g. the commits are no longer on top: the attempt goes on
            return None

    return FreshAttempts(limit=limit, discard=discard)


_FAILURE_WORDS = LazyPattern(r"\b(fail\w*|error\w*|traceback|exception|crash\w*|broken|bug\w*|test\w*)\b",
                             re.IGNORECASE)


def _attach_baseline(verifier: Verifier, assembly: Any) -> None:
    """Lean, and the task is about a failure: run the checks first and show what fails, so a small
    model starts from the error instead of guessing (it cannot run commands itself)."""
    feedback = verifier.baseline()
    text = (f"The project's checks, run before you start:\n\n{feedback}" if feedback
            else "The project's checks pass before you start.")
    assembly.first_blocks.append({"type": "text", "text": text})


def _vent_tool(request: RunRequest, root: Path, settings: Settings, store: Store, recorder: Recorder) -> Tool:
    """`vent`, offered in every mode; it watches the run's events for the context it attaches."""
    from once.vent.service import make_venter
    from once.vent.tool import RunInfo, vent_tool

    info = RunInfo(run_id=recorder.run_id, session_id=recorder.session_id, repo=str(root), model=settings.model,
                   mode=request.mode)
    venter = make_venter(store.path, info, recorder.emit, settings.vent.webhook)
    recorder.sinks.append(venter.observe)
    return vent_tool(venter)


# Files that say what a detected check runs: the agent editing one turns the project's own
# check into a command the agent wrote (a `test` script that pipes curl into sh).
CHECK_DEFINITIONS = frozenset({"makefile", "gnumakefile", "package.json", "conftest.py", "pytest.ini", ".pytest.ini",
                               "pyproject.toml", "setup.cfg", "setup.py", "tox.ini", "noxfile.py", "cargo.toml",
                               "build.rs", "justfile", "taskfile.yml", ".npmrc", "sitecustomize.py", "usercustomize.py"})
_CHECK_TOOLCHAINS = (".venv/", "venv/", "env/", "node_modules/.bin/")


def defines_checks(path: str) -> bool:
    name = path.rsplit("/", 1)[-1].lower()
    return (name in CHECK_DEFINITIONS or name.endswith((".pth", ".mk", ".mak")) or path.startswith(_CHECK_TOOLCHAINS))


def _sandbox_in_force(request: RunRequest, settings: Settings, recorder: Recorder) -> SandboxState:
    """Whether commands run in the sandbox; when `auto` finds none, the run says so once."""
    state = sandbox_state(settings.sandbox, settings.sandbox_network)
    if settings.sandbox == "auto" and not state.active and request.mode != "plan":
        recorder.emit(WarningEvent(run_id=recorder.run_id, message=(
            f"Commands and checks run without the sandbox: {state.why_not}. The command policy alone "
            "decides what runs, and auto-edit asks for every command no rule allows.")))
    return state


def _check_permit(settings: Settings, gate: PermissionGate) -> Callable[[Check, frozenset[str]], str | None]:
    """A check command written by the repository's own config is a command like any other: it
    obeys the policy and the permission mode. So is a detected check once the agent changed a
    file that defines what it runs (package.json, a Makefile, a conftest.py, the .venv). The
    user's own configured checks, and detected ones the agent left alone, run."""
    from_project = {name for name in ("test", "lint")
                    if settings.sources.get(f"verify.{name}_command") == "project"}

    def permit(check: Check, touched: frozenset[str]) -> str | None:
        if check.source == "config" and check.name in from_project:
            return gate.check_command(check.command)
        redefined = sorted(path for path in touched if defines_checks(path))
        if check.source != "config" and redefined:
            refusal = gate.check_command(check.command)
            if refusal is not None:
                return f"the agent changed {', '.join(redefined[:3])}, which defines it; {refusal}"
            return None
        return gate.check_detected(check.command)  # the user's own, or left alone: logged, deny rules hold

    return permit


def _finalizer(request: RunRequest, repo_root: Path, verifier: Verifier | None, progress: PlanProgress | None,
               replay_check: Callable[[RunResult], RunResult]) -> Callable[[RunResult], RunResult]:
    """What a finished run adds to its result: the plan file, the checks' status, plan steps left,
    and whether a replay followed its recording."""
    def finalize(result: RunResult) -> RunResult:
        if request.mode == "plan":
            from once.agent.plan_run import finish_plan_run

            return replay_check(finish_plan_run(result, repo_root, request.prompt))
        if verifier is not None and (verifier.active or result.files_changed):
            result = replace(result, result=f"{result.result}\n\n{verifier.report()}".strip())
        return replay_check(progress.finish(result) if progress else result)

    return finalize


def _replay_check(request: RunRequest, provider: Provider, recorder: Recorder) -> Callable[[RunResult], RunResult]:
    """A replay that went another way than its recording ends `replay_mismatch`, saying where: its
    answers were recorded for another state of the repository, so its `done` would mean nothing."""
    def check(result: RunResult) -> RunResult:
        if result.status == "interrupted":
            return result
        found = replay_mismatch(provider, whole_run=request.cassette_per_run and result.status == "done")
        if found is None:
            return result
        recorder.emit(WarningEvent(run_id=recorder.run_id, message=f"replay mismatch: {found}"))
        text = f"{result.result}\n\nReplay mismatch: {found}".strip()
        return replace(result, status="replay_mismatch", result=text)

    return check


def _reinjector(context_block: str, mode_block: str, progress: PlanProgress | None) -> Callable[[], str]:
    """What must be in context again after compaction: AGENTS.md, the plan, its open steps."""
    def reinject() -> str:
        parts = [context_block, mode_block]
        if progress is not None:
            left = [f"- step {step.number} ({status}): {step.title}" for step, status in progress.tracker.unfinished()]
            parts.append("Plan steps not done yet:\n" + "\n".join(left) if left else "")
        return "\n\n".join(part for part in parts if part)

    return reinject
