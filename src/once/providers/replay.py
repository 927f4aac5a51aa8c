"""Cassettes: replay recorded model responses, and record live ones in the same format.

    {"version": 1, "responses": [<Anthropic Messages API response>, ...]}

A recorded cassette also keeps what each response answered (`"requests"`, `"systems"`; see
`digest`); replay ignores them, `agent eval replay` compares them.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from once.atomic import atomic_write_text
from once.errors import CassetteError
from once.providers.base import ModelRequest, ModelResponse, Provider, TextCallback
from once.providers.digest import digest
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

    def complete(self, request: ModelRequest, on_text: TextCallback | None = None) -> ModelResponse:
        if self.position >= len(self.responses):
            raise CassetteError(
                f"cassette {self.path} has {len(self.responses)} responses and the run asked for a "
                f"response number {self.position + 1}",
                hint="Record a longer cassette with --record, or lower --max-turns.",
            )
        raw = copy.deepcopy(self.responses[self.position])
        self.position += 1
        response = ModelResponse(raw=raw)
        if on_text is not None and response.text:
            on_text(response.text)
        return response


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
