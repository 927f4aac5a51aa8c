"""The ReAct loop: model -> tool calls -> observations -> model, one commit per editing turn."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from once.agent.attempts import FAILED_CHECKS_BEFORE_AFRESH, FRESH_TEMPERATURE, FreshAttempts, caused_by_attempt
from once.agent.attempts import restart_note
from once.agent.compactor import Compactor
from once.agent.completion import RepeatGuard, missing_work

SAME_REPLY_LIMIT = 3
RETRY_TEMPERATURE = 0.7
"""Sampling after a reply repeated word for word, when the run chose the temperature (greedy decoding
answers the same prompt the same way, so one more greedy try is wasted)."""
MALFORMED = ("Unknown tool", "Tool input for", "Bad input for")
"""How the registry's answers to a malformed call begin."""
from once.agent.recorder import Recorder
from once.agent.small import SmallModel
from once.agent.verifier import Verifier
from once.agent.result import CommitInfo, RunResult
from once.agent.turn import TurnOutcome, TurnRunner
from once.errors import ModelOutputError, OnceError
from once.agent.prompt import EDIT_INSTRUCTIONS
from once.events import AttemptDiscarded, ErrorEvent, ModelRequest as ModelRequestEvent, WarningEvent
from once.events import ModelResponse as ModelResponseEvent
from once.events import RunFinished, UserMessage
from once.providers.base import ModelRequest, ModelResponse, Provider, TextCallback, Usage
from once.providers.pricing import billed, cost_usd

if TYPE_CHECKING:  # edits written as text: a model profile's choice, parsed only in runs that make it
    from once.agent.text_edits import ParsedEdits


@dataclass
class RunConfig:
    """Everything a run needs to know that is not a collaborator."""

    prompt: str
    model: str
    provider_name: str
    system_prompt: str
    max_turns: int = 50
    max_cost: float | None = None
    max_tokens: int = 8192
    mode: str = "agent"
    prices: dict[str, dict[str, float]] = field(default_factory=dict)
    max_output_errors: int = 3
    """Consecutive replies the server could not parse before the run gives up."""
    temperature: float | None = None
    text_edits: bool = False
    """Read SEARCH/REPLACE blocks and whole-file blocks in the model's replies as edits."""
    switch_after_malformed: int = 3
    """Malformed tool calls (or unparseable replies) before a tools-format run also accepts text edits."""


class AgentLoop:
    """Drives one run to an end; emits events and never prints."""

    def __init__(
        self,
        config: RunConfig,
        provider: Provider,
        turns: TurnRunner,
        recorder: Recorder,
        *,
        history: list[dict[str, Any]] | None = None,
        on_text: TextCallback | None = None,
        finalize: Callable[[RunResult], RunResult] | None = None,
        compactor: Compactor | None = None,
        verifier: Verifier | None = None,
        small_costs: SmallModel | None = None,
        fresh: FreshAttempts | None = None,
    ) -> None:
        self.config = config
        self.provider = provider
        self.turns = turns
        self.recorder = recorder
        self.messages: list[dict[str, Any]] = [dict(m) for m in history or []]
        self.on_text = on_text
        self.finalize = finalize
        self.compactor = compactor
        self.verifier = verifier
        self.small_costs = small_costs
        self.fresh = fresh
        self.history_length = len(self.messages)
        self.first_content: list[dict[str, Any]] = []
        """The task as first asked (files, prompt): what a fresh attempt asks again."""
        self.usage = Usage()
        self.cost = 0.0
        """What the run's calls were billed (nothing for a replayed cassette)."""
        self.priced = 0.0
        """What its tokens cost at list price: the --max-cost limit, the same for a replay as when recorded."""
        self.billed = billed(provider)
        self.turn = 0
        self.commits: list[CommitInfo] = []
        self.changed: list[str] = []
        self.last_text = ""
        self.output_errors = 0
        self.repeats = RepeatGuard()
        self.malformed = 0
        self.replies: dict[str, int] = {}
        self.temperature = config.temperature
        self.nudged = False
        self.stop_note = ""
        """Why the run ended incomplete, added to its result."""

    @property
    def run_id(self) -> str:
        return self.recorder.run_id

    def run(self, first_blocks: list[dict[str, Any]] | None = None) -> RunResult:
        """Run until the model stops, a limit is hit, Ctrl-C, or a provider error (re-raised).

        The caller has emitted `run_started`; `first_blocks` (selected files, skill bodies)
        go before the prompt in the first user message.
        """
        cfg = self.config
        self.recorder.emit(UserMessage(run_id=self.run_id, text=cfg.prompt))
        self.history_length = len(self.messages)
        self.first_content = [*(first_blocks or []), {"type": "text", "text": cfg.prompt}]
        self._add_user_content(self.first_content)
        try:
            status = self._loop()
        except KeyboardInterrupt:
            self._interrupt()
            status = "interrupted"
        except OnceError as exc:
            self._finish_after_error(exc)
            raise
        return self._finish(status)

    def _loop(self) -> str:
        cfg = self.config
        while True:
            if self.turn >= cfg.max_turns:
                return "max_turns"
            if cfg.max_cost is not None and self.priced >= cfg.max_cost:
                return "max_cost"
            self.turn += 1
            response = self._call_model_or_feed_back()
            if response is None:
                continue
            self._add_message("assistant", response.content)
            if response.text:
                self.last_text = response.text
            repeated = self._same_reply_again(response)
            if repeated and self._start_afresh(self._with_failures("it sent the same reply again, word for word")):
                continue  # a stuck attempt: its reply changes nothing, so start over
            if repeated and self.replies[self._reply_key(response)] >= SAME_REPLY_LIMIT:
                self.stop_note = f"Stopped: the model sent the same reply {SAME_REPLY_LIMIT} times."
                return "incomplete"
            text_edits = self._text_edits(response.text)
            if not response.tool_uses and text_edits is None:
                status = self._at_stop()
                if status is not None:
                    return status
                continue
            outcome = self.turns.run(self.turn, response, self.recorder, text_edits)
            status = self._after_turn(response, outcome)
            if status is not None:
                return status

    def _after_turn(self, response: ModelResponse, outcome: TurnOutcome) -> str | None:
        """Checks, repeats and malformed calls after a turn's calls ran: a status to end with, or None."""
        self.commits.extend(outcome.commits)
        self.changed.extend(outcome.changed)
        self._add_user_content(outcome.results)
        feedback = self.verifier.after_turn(self.turn, outcome.changed) if self.verifier else None
        if feedback is not None:
            if self._afresh_after_checks():
                return None
            self._add_user_content([{"type": "text", "text": feedback}])
            if self.verifier and self.verifier.exhausted:
                return "checks_failed"
        self._count_malformed(sum(1 for r in outcome.results if r.get("is_error")
                                  and str(r.get("content", "")).startswith(MALFORMED)))
        hint, stop = self.repeats.observe(outcome.repeats, bool(outcome.changed))
        if stop is not None:
            self.stop_note = f"Stopped: {stop}"
            return "incomplete"
        if hint is not None:
            self._add_user_content([{"type": "text", "text": hint}])
        if feedback is None and not response.tool_uses and not outcome.failures and outcome.changed:
            return self._at_stop()  # edits written as text, all landed, checks fine: the reply was the answer
        return None

    def _same_reply_again(self, response: ModelResponse) -> bool:
        """The same reply, word for word, as before: a model at temperature 0 stuck in a loop. The third
        one ends the run; the second is sampled, when the run chose the temperature (greedy decoding
        answers the same prompt the same way, so one more greedy try is wasted)."""
        key = self._reply_key(response)
        self.replies[key] = self.replies.get(key, 0) + 1
        if self.replies[key] == SAME_REPLY_LIMIT - 1 and self.temperature is not None:
            self.temperature = max(self.temperature, RETRY_TEMPERATURE)
        return self.replies[key] > 1

    @staticmethod
    def _reply_key(response: ModelResponse) -> str:
        return json.dumps(response.content, sort_keys=True, default=str)

    def _count_malformed(self, count: int) -> None:
        """A model that keeps fumbling tool calls is offered edits written as text (and keeps its tools)."""
        self.malformed += count
        if self.config.text_edits or self.malformed < self.config.switch_after_malformed:
            return
        self.config.text_edits = True
        self.repeats.counts = {}  # a new way to edit: the old failures say nothing about it
        self.recorder.emit(WarningEvent(run_id=self.run_id, message=(
            f"{self.malformed} malformed tool calls: edits written as text are accepted from now on")))
        self._add_user_content([{"type": "text", "text": "Your tool calls keep failing. You can also edit by "
                                 "writing the change in your reply instead:\n\n" + EDIT_INSTRUCTIONS["whole"]}])

    def _text_edits(self, text: str) -> ParsedEdits | None:
        """The edits written in a reply's text, when the run reads them; None when there are none."""
        if not self.config.text_edits or not text:
            return None
        from once.agent.text_edits import parse_text_edits

        parsed = parse_text_edits(text, exists=self._exists)
        return parsed if parsed.edits or parsed.problems else None

    def _exists(self, path: str) -> bool:
        try:
            return self.turns.context.workspace.exists(path)
        except Exception:  # a path outside the repository is not a file of it
            return False

    def _at_stop(self) -> str | None:
        """The model stopped: the status to end with, or None after telling it what is missing."""
        feedback = self.verifier.at_end(self.turn) if self.verifier else None
        if feedback is not None:
            if self._afresh_after_checks():
                return None
            self._add_user_content([{"type": "text", "text": feedback}])
            return "checks_failed" if self.verifier and self.verifier.exhausted else None
        if self.config.mode != "agent":
            return "done"
        missing = missing_work(self.config.prompt, self.last_text, bool(self.changed))
        if missing is None:
            return "done"
        if self.nudged:
            if self._start_afresh(f"it ended without the work ({missing.reason})"):
                return None
            self.stop_note = f"Incomplete: {missing.reason}."
            return "incomplete"
        self.nudged = True
        self._add_user_content([{"type": "text", "text": missing.message}])
        return None

    def _afresh_after_checks(self) -> bool:
        """The attempt's edit and its fix both failed the checks: start over, if attempts are left."""
        verifier = self.verifier
        if verifier is None or verifier.failures < FAILED_CHECKS_BEFORE_AFRESH:
            return False
        failing = [o for o in verifier.last if not o.passed]
        if not caused_by_attempt(failing, verifier.initial):
            return False
        return self._start_afresh(self._with_failures("the project's checks failed after it"))

    def _with_failures(self, reason: str) -> str:
        """A reason to start over, with the failing checks' one-line summaries when there are some."""
        failing = [o.summary for o in (self.verifier.last if self.verifier else []) if not o.passed]
        return f"{reason}: {'; '.join(failing)}" if failing else reason

    def _start_afresh(self, reason: str) -> bool:
        """Undo this attempt's commits and ask the task again, sampled; False when that cannot be done."""
        fresh = self.fresh
        if fresh is None or fresh.left <= 0 or self.turn >= self.config.max_turns - 1:
            return False
        undone = fresh.discard() if self.commits else None
        if self.commits and undone is None:
            return False
        self.recorder.emit(AttemptDiscarded(run_id=self.run_id, attempt=fresh.number, reason=reason,
                                            shas=undone.shas if undone else [], method=undone.method if undone else ""))
        fresh.number += 1
        if undone is not None and undone.method == "reset":
            self.commits = [c for c in self.commits if c.sha not in undone.shas]
            self.changed = [path for c in self.commits for path in c.files]
        elif undone is not None:  # published: revert commits undid it
            self.commits += [CommitInfo(sha=sha, subject="undo of a failed attempt", files=undone.files)
                             for sha in undone.revert_shas]
        if self.verifier is not None:
            self.verifier.start_over()
        self.messages = self.messages[:self.history_length]
        self._add_user_content([*self.first_content, {"type": "text", "text": restart_note(reason)}])
        self.nudged, self.replies, self.repeats, self.stop_note = False, {}, RepeatGuard(), ""
        if self.config.temperature is not None:  # the same greedy question gets the same answer
            self.temperature = max(self.config.temperature, FRESH_TEMPERATURE)
        return True

    def _call_model_or_feed_back(self) -> ModelResponse | None:
        """A model reply; None after telling the model its last output could not be used."""
        try:
            response = self._call_model()
        except ModelOutputError as exc:
            self.output_errors += 1
            self._count_malformed(1)
            if self.output_errors >= self.config.max_output_errors:
                raise
            self.recorder.emit(ErrorEvent(run_id=self.run_id, kind="model_output", message=exc.message))
            self._add_user_content([{"type": "text", "text": (
                f"Your last reply could not be used: {exc.message}. Reply again. Call only the tools "
                "listed, by their exact names, with a JSON object of arguments.")}])
            return None
        self.output_errors = 0
        return response

    def _call_model(self) -> ModelResponse:
        cfg = self.config
        if self.compactor is not None:
            compacted = self.compactor.maybe_compact(self.messages, cfg.system_prompt, self.turn, self.recorder)
            if compacted is not None:
                self.messages = compacted
        self.recorder.emit(ModelRequestEvent(
            run_id=self.run_id, turn=self.turn, model=cfg.model, messages=len(self.messages)))
        request = ModelRequest(model=cfg.model, system=cfg.system_prompt, messages=self.messages,
                               tools=self.turns.schemas(), max_tokens=cfg.max_tokens, temperature=self.temperature)
        started = time.perf_counter()
        response = self.provider.complete(request, self.on_text)
        usage = response.usage
        priced = cost_usd(response.model or cfg.model, usage, cfg.prices)
        cost = priced if self.billed else 0.0
        self.usage = self.usage + usage
        self.priced += priced
        self.cost += cost
        self.recorder.emit(ModelResponseEvent(
            run_id=self.run_id, turn=self.turn, model=response.model or cfg.model,
            stop_reason=response.stop_reason, text=response.text, tool_calls=len(response.tool_uses),
            usage=usage.to_dict(), cost_usd=cost, duration_ms=(time.perf_counter() - started) * 1000,
        ))
        return response

    def _add_message(self, role: str, content: list[dict[str, Any]]) -> None:
        self.messages.append({"role": role, "content": content})
        self.recorder.message(role, content)

    def _add_user_content(self, content: list[dict[str, Any]]) -> None:
        # Two user messages in a row (e.g. continuing after max_turns) become one.
        if self.messages and self.messages[-1]["role"] == "user":
            merged = list(self.messages[-1]["content"]) + content
            self.messages[-1] = {"role": "user", "content": merged}
            self.recorder.message("user", content)
            return
        self._add_message("user", content)

    def _interrupt(self) -> None:
        """Ctrl-C: drop unlanded edits, commit what landed, close dangling tool calls."""
        outcome = self.turns.abort(self.turn, self.recorder)
        self.commits.extend(outcome.commits)
        self.changed.extend(outcome.changed)
        if self.messages and self.messages[-1]["role"] == "assistant":
            dangling = [b for b in self.messages[-1]["content"] if b.get("type") == "tool_use"]
            done = {r["tool_use_id"] for r in outcome.results}
            results = outcome.results + [
                {"type": "tool_result", "tool_use_id": b["id"], "content": "Interrupted by the user.",
                 "is_error": True}
                for b in dangling if b["id"] not in done
            ]
            if results:
                self._add_user_content(results)

    def _finish_after_error(self, exc: OnceError) -> None:
        self.turns.abort(self.turn, self.recorder)
        self.recorder.emit(ErrorEvent(run_id=self.run_id, kind=type(exc).__name__, message=exc.message))
        self._finish(exc.run_status, result=exc.message, finalize=False)

    def _finish(self, status: str, result: str | None = None, *, finalize: bool = True) -> RunResult:
        small = self.small_costs
        if small is not None:  # the small model's calls count toward the run's usage and cost
            self.usage, self.cost = self.usage + small.usage, self.cost + small.cost
            self.small_costs = None
        if result is None:
            result = f"{self.last_text}\n\n{self.stop_note}".strip() if self.stop_note else self.last_text
        outcome = RunResult(
            run_id=self.run_id, session_id=self.recorder.session_id, status=status,
            result=result, turns=self.turn, usage=self.usage,
            cost_usd=self.cost, commits=list(self.commits), changed=list(self.changed),
        )
        if self.finalize is not None and finalize:
            outcome = self.finalize(outcome)
        self.recorder.emit(RunFinished(
            run_id=self.run_id, status=outcome.status, result=outcome.result, turns=self.turn,
            usage=self.usage.to_dict(), cost_usd=self.cost,
        ))
        return outcome
