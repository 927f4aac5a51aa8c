"""The real-model lane: a real llama-server with a small Qwen coder, on 127.0.0.1.

Run with `python -m pytest -m realmodel` (the default run deselects these tests). The first
run builds llama-server and assembles the model into the cache of `scripts/real_model.py`
(minutes); later runs reuse them. Set `ONCE_REALMODEL_URL` (and `ONCE_REALMODEL_NAME`) to
test a server that is already running instead, and `ONCE_REALMODEL_MODEL=0.5b` for the
smaller model (the default is the 1.5B, the smallest that passes builtin tasks). Tests skip, naming what failed, when the server cannot be had.

The lane keeps to a time budget: `ONCE_REALMODEL_BUDGET` seconds from its start (default
1200), and never past `ONCE_REALMODEL_DEADLINE` (epoch seconds; CI sets it from its own
limit). A build that would overrun is stopped (the next run resumes it) and tests that would
start too late are skipped, each saying so, instead of the run being killed from outside.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "real_model.py"
# Read before any test swaps HOME for a temporary one: the cache must outlive the session.
CACHE_ENV = os.environ.get("ONCE_REALMODEL_CACHE")
REAL_HOME = Path.home()
URL_ENV = os.environ.get("ONCE_REALMODEL_URL")
NAME_ENV = os.environ.get("ONCE_REALMODEL_NAME")
MODEL_KEY = os.environ.get("ONCE_REALMODEL_MODEL", "1.5b")
LANE_STARTED = time.time()
BUDGET = float(os.environ.get("ONCE_REALMODEL_BUDGET") or 1200)
DEADLINE = min(LANE_STARTED + BUDGET, float(os.environ.get("ONCE_REALMODEL_DEADLINE") or "inf"))
SERVER_ARGS = ("--seed", "42", "--temp", "0")
"""Greedy decoding with a fixed seed: what the model measurably can do, it does every time."""


def seconds_left() -> float:
    return DEADLINE - time.time()


def over_budget(needed: float) -> str | None:
    """Why a step that needs `needed` seconds must not start, or None when it fits."""
    left = seconds_left()
    if left >= needed:
        return None
    spent = time.time() - LANE_STARTED
    return (f"realmodel: the lane's time budget is used up ({spent:.0f} s spent, {max(left, 0):.0f} s left, "
            f"this needs about {needed:.0f} s); skipped so the run ends in time "
            "(raise ONCE_REALMODEL_BUDGET to run it)")


@pytest.fixture(autouse=True)
def within_budget(request: pytest.FixtureRequest) -> None:
    """Each lane test declares what it needs with `@pytest.mark.cost(seconds)` (default 120)."""
    marker = request.node.get_closest_marker("cost")
    why = over_budget(float(marker.args[0]) if marker else 120.0)
    if why:
        pytest.skip(why)


@dataclass(frozen=True)
class RealServer:
    base_url: str
    model: str
    log: Path | None

    def log_tail(self, lines: int = 40) -> str:
        if self.log is None or not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("once_real_model_script", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses need the module registered
    spec.loader.exec_module(module)
    return module


def _live_printer(config: pytest.Config) -> Callable[[str], None]:
    """Progress of a minutes-long build shows even while pytest captures output."""
    capture = config.pluginmanager.getplugin("capturemanager")

    def say(message: str) -> None:
        if capture is not None:
            with capture.global_and_fixture_disabled():
                print(f"[realmodel] {message}", file=sys.stderr, flush=True)
        else:
            print(f"[realmodel] {message}", file=sys.stderr, flush=True)

    return say


def _unreachable(base_url: str) -> str | None:
    """Why GET <base_url>/models fails, or None when the server answers."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"{base_url}/models", timeout=10) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        exc.close()
        return None if exc.code < 500 else f"HTTP {exc.code}"
    except (OSError, ValueError) as exc:
        return str(exc)
    return None


@pytest.fixture(scope="session")
def real_server(request: pytest.FixtureRequest) -> Iterator[RealServer]:
    """A llama-server for the whole session, started once and stopped at the end."""
    if URL_ENV:
        problem = _unreachable(URL_ENV.rstrip("/"))
        if problem:
            pytest.skip(f"realmodel: ONCE_REALMODEL_URL={URL_ENV} does not answer: {problem}")
        yield RealServer(URL_ENV.rstrip("/"), NAME_ENV or "model", None)
        return
    script = load_script()
    say = _live_printer(request.config)
    cache = Path(CACHE_ENV) if CACHE_ENV else REAL_HOME / ".cache" / "once" / "realmodel"
    try:
        binary = script.ensure_binary(cache, say, deadline=DEADLINE - 300)  # 5 minutes kept for the tests
    except script.BudgetError as exc:
        pytest.skip(f"realmodel: {exc}")
    except (script.SetupError, OSError) as exc:
        pytest.skip(f"realmodel: llama-server could not be built: {exc}")
    try:
        model = script.ensure_model(cache, MODEL_KEY, say)
    except (script.SetupError, OSError) as exc:
        pytest.skip(f"realmodel: the {MODEL_KEY} model could not be fetched or verified: {exc}")
    spec = script.MODELS[MODEL_KEY]
    log = cache / "logs" / "server-pytest.log"
    try:
        server = script.start_server(binary, model, alias=spec.alias, log=log, say=say,
                                     extra_args=SERVER_ARGS)
    except (script.SetupError, OSError) as exc:
        pytest.skip(f"realmodel: llama-server did not start: {exc}")
    try:
        yield RealServer(server.base_url, spec.alias, log)
    finally:
        server.stop()
