"""`agent run PROMPT`: the headless one-shot form."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from once.cli.common import print_json, repo_dir


class OutputFormat(str, Enum):
    text = "text"
    json = "json"
    stream_json = "stream-json"


class DirtyPolicy(str, Enum):
    commit = "commit"
    refuse = "refuse"


def run(
    prompt: str = typer.Argument(..., help="What the agent should do. Use - to read it from stdin."),
    provider: Optional[str] = typer.Option(None, "--provider", help="anthropic (default), openai or replay."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Model for generation."),
    small_model: Optional[str] = typer.Option(None, "--small-model", help="Model for routing and judging."),
    base_url: Optional[str] = typer.Option(None, "--base-url",
                                           help="Server for --provider openai, e.g. http://127.0.0.1:11434/v1."),
    replay: Optional[Path] = typer.Option(None, "--replay", help="Replay model responses from a cassette file."),
    record: Optional[Path] = typer.Option(None, "--record", help="Record the model's responses to a cassette."),
    max_turns: Optional[int] = typer.Option(None, "--max-turns", min=1, help="Stop after this many model calls [50]."),
    max_cost: Optional[float] = typer.Option(None, "--max-cost", min=0.0, help="Stop once the run costs this many USD."),
    dirty: Optional[DirtyPolicy] = typer.Option(None, "--dirty",
                                                help="Uncommitted changes in a file to edit: commit them first "
                                                     "(default) or refuse."),
    output_format: OutputFormat = typer.Option(OutputFormat.text, "--output-format", "-o",
                                               help="text: progress on stderr, answer on stdout; json: one object "
                                                    "at the end; stream-json: one event per line."),
    continue_: bool = typer.Option(False, "--continue", "-c", help="Continue the latest session in this repo."),
    session: Optional[str] = typer.Option(None, "--session", help="Continue the session with this id."),
    init: bool = typer.Option(False, "--init", help="Create a git repository here if there is none."),
    db: Optional[Path] = typer.Option(None, "--db", help="The SQLite file to log to [$ONCE_DB]."),
    repo: Optional[Path] = typer.Option(None, "--repo", "-C", help="Run in this repository instead of the cwd."),
) -> None:
    """Run one task headlessly: explore, edit, commit each editing turn, report.

    Examples:

      agent run "add a --verbose flag to cli.py"

      agent run -o json "fix the failing test" | jq .status

      agent run --provider openai --base-url http://127.0.0.1:11434/v1 -m qwen2.5-coder "..."

    Exit codes: 0 done, 1 the agent did not finish (turn or cost limit, Ctrl-C, git refused),
    2 usage error, 3 provider or authentication error.
    """
    from once.agent.runner import RunRequest, run_once
    from once.cli.render import JsonLinesRenderer, ProgressRenderer
    from once.config import load_settings
    from once.errors import UsageError
    from once.providers import make_provider
    from once.store import open_store
    from once.vcs import GitRepo

    if prompt == "-":
        prompt = sys.stdin.read()
    if not prompt.strip():
        raise UsageError("the prompt is empty", hint='Say what to do, e.g. agent run "add a --verbose flag".')
    where = repo_dir(repo)
    git = GitRepo.init(where) if init and not _inside_repo(where) else GitRepo.open(where)
    flags = {"provider": provider, "model": model, "small_model": small_model, "base_url": base_url,
             "max_turns": max_turns, "max_cost": max_cost, "dirty": dirty.value if dirty else None}
    if replay is not None:
        flags["provider"] = "replay"
    settings = load_settings(git.root, flags=flags)
    llm = make_provider(settings.provider, replay=replay, record=record, base_url=settings.base_url)
    sinks = []
    if output_format is OutputFormat.text:
        sinks.append(ProgressRenderer())
    elif output_format is OutputFormat.stream_json:
        sinks.append(JsonLinesRenderer())
    request = RunRequest(prompt=prompt, continue_session=continue_, session_id=session, sinks=sinks)
    with open_store(str(db) if db else None) as store:
        result = run_once(request, repo=git, settings=settings, provider=llm, store=store)
    if output_format is OutputFormat.json:
        print_json(result.to_json())
    elif output_format is OutputFormat.text and result.result:
        print(result.result)
    raise typer.Exit(0 if result.finished else 1)


def _inside_repo(path: Path) -> bool:
    from once.errors import NotARepoError
    from once.vcs import GitRepo

    try:
        GitRepo.open(path)
    except NotARepoError:
        return False
    return True
