"""Cassettes: replay recorded model responses, and record live ones in the same format.

    {"version": 1, "responses": [<Anthropic Messages API response>, ...]}

A recorded cassette also keeps what each response answered (`"requests"`, `"systems"`; see
`digest`): a replay notes the first tool call whose result fails where the recorded one did not
(or the other way round; see `replay_check`), and `agent eval replay` compares them all.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from once.atomic import atomic_write_text
from once.errors import CassetteError, ReplayMismatchError
from once.providers.base import ModelRequest, ModelResponse, Provider, TextCallback
from once.providers.digest import digest
from once.providers.replay_check import outcome_mismatch
from once.words import plural
from once.safety.redact import redact_obj

CASSETTE_VERSION = 1


def load_cassette(path: Path) -> list[dict[str, Any]]:
    """The responses of a cassette file; a clear `CassetteError` for anything wrong."""
    return _load(path)["responses"]


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CassetteError(f"cassette not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CassetteError(f"cannot read cassette {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise CassetteError(f"cassette {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("version") != CASSETTE_VERSION:
        raise CassetteError(f"cassette {path} must be an object with \"version\": {CASSETTE_VERSION}")
    responses = data.get("responses")
    if not isinstance(responses, list) or not all(isinstance(r, dict) for r in responses):
        raise CassetteError(f"cassette {path} must have a \"responses\" list of message objects")
    for index, response in enumerate(responses, 1):
        if not isinstance(response.get("content"), list):
            raise CassetteError(f"cassette {path}: response {index} has no \"content\" list")
    return data


class ReplayProvider:
    """Plays a cassette's responses in order, whatever is asked."""

    name = "replay"
    billed = False

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        data = _load(self.path)
        self.responses: list[dict[str, Any]] = data["responses"]
        self.recorded_as: str | None = data.get("provider") if isinstance(data.get("provider"), str) else None
        """The provider the cassette came from: a replay talks to the model the same way (see profile)."""
        self.position = 0
        recorded = data.get("requests")
        self.recorded: list[dict[str, Any]] = [r for r in recorded if isinstance(r, dict)] \
            if isinstance(recorded, list) else []
        """What each response answered when recorded (empty for a hand-written cassette)."""
        self.first_mismatch: str | None = None
        """Where the replay first went another way than the recording."""

    def complete(self, request: ModelRequest, on_text: TextCallback | None = None) -> ModelResponse:
        if not self.responses:  # nothing recorded: a broken cassette, not a run gone another way
            raise CassetteError(f"cassette {self.path} has 0 responses", hint="Record one with --record.")
        if self.position >= len(self.responses):
            seen = f"; first mismatch: {self.first_mismatch}" if self.first_mismatch else ""
            raise ReplayMismatchError(
                f"cassette {self.path} has {plural(len(self.responses), 'response')} and the run asked for a "
                f"response number {self.position + 1}{seen}",
                hint="The run went another way than the recording: record the cassette again with --record "
                     "(in this state of the repository), or lower --max-turns.",
            )
        self._compare(request)
        raw = copy.deepcopy(self.responses[self.position])
        self.position += 1
        response = ModelResponse(raw=raw)
        if on_text is not None and response.text:
            on_text(response.text)
        return response

    def left_over(self) -> int:
        """Recorded responses no call has asked for yet."""
        return len(self.responses) - self.position

    def _compare(self, request: ModelRequest) -> None:
        if self.first_mismatch is not None or self.position >= len(self.recorded):
            return
        previous = self.responses[self.position - 1] if self.position else None
        found = outcome_mismatch(self.recorded[self.position], request, previous)
        if found is not None:
            self.first_mismatch = f"model call {self.position + 1}: {found}"


def replay_of(provider: object) -> ReplayProvider | None:
    """The cassette behind a provider (also when a recording wraps it), or None for a live model."""
    while provider is not None and not isinstance(provider, ReplayProvider):
        provider = getattr(provider, "inner", None)
    return provider


def replay_mismatch(provider: object, *, whole_run: bool) -> str | None:
    """Where a finished run went another way than its cassette; None when it followed it.

    `whole_run`: the cassette was this run's alone and the run ended done, so responses left
    unplayed mean it ended sooner than recorded (a queue or the app plays one across runs).
    """
    replay = replay_of(provider)
    if replay is None:
        return None
    if replay.first_mismatch is not None:
        return replay.first_mismatch
    if whole_run and replay.left_over():
        return (f"the run ended with {plural(replay.left_over(), 'recorded response')} of {replay.path} "
                "not played")
    return None


class RecordingProvider:
    """Wraps a provider and writes every response to a cassette as it arrives."""

    def __init__(self, inner: Provider, path: Path) -> None:
        self.inner = inner
        self.path = Path(path)
        self.name = inner.name
        self.recorded_as: str | None = getattr(inner, "recorded_as", None) or inner.name
        self.billed = bool(getattr(inner, "billed", True))
        self.responses: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        """What each response answered (see `digest`): what a back-test compares."""
        self.systems: dict[str, str] = {}
        self._save()  # fail early if the file cannot be written

    def complete(self, request: ModelRequest, on_text: TextCallback | None = None) -> ModelResponse:
        record, system = digest(request)
        response = self.inner.complete(request, on_text)
        self.responses.append(redact_obj(copy.deepcopy(response.raw)))
        self.requests.append(record)
        self.systems.setdefault(record["system"], redact_obj(system))
        self._save()
        return response

    def _save(self) -> None:
        body = json.dumps({"version": CASSETTE_VERSION, "provider": self.recorded_as, "responses": self.responses,
                           "requests": self.requests, "systems": self.systems}, indent=1)
        try:
            atomic_write_text(self.path, body + "\n")
        except OSError as exc:
            raise CassetteError(f"cannot write cassette {self.path}: {exc}") from None
