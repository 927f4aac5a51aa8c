"""`agent demo`: the whole loop, offline, on a throwaway copy of a sample project."""

from __future__ import annotations

import shlex
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Optional

import typer

DEMO_PROMPT = "add a --shout flag to cli.py that prints the greeting in capitals"


def _demo_files() -> tuple[Path, Path]:
    from importlib.resources import files

    root = Path(str(files("once.demo")))
    return root / "sample", root / "cassette.json"


def demo(
    directory: Optional[Path] = typer.Option(None, "--dir", help="Make the demo repo here (must not exist); it is kept."),
    keep: bool = typer.Option(False, "--keep", help="Keep the demo's temporary repository and databases to look around."),
    json_out: bool = typer.Option(False, "--json", help="Print the run's result as JSON instead of text."),
) -> None:
    """Show the whole loop offline: a sample repo, a recorded model, real tools and commits.

    The model's answers are a recording (a cassette) replayed through the real loop: the file
    reads, the two-file edit, the commit and the command all really happen, in a throwaway
    git repository. It is removed at the end unless you pass --keep (or --dir).

    Act two shows the learning loop: a recorded session gets stuck on a failing check and is
    resolved, `agent learn` turns it into a knowledge entry, and a later session on a similar
    task shows the entry injected into what the model sees (or held out, to measure it).
    Everything goes to a temporary database, never yours.
    """
    from once.errors import UsageError

    if directory is not None and directory.expanduser().exists():
        raise UsageError(f"{directory.expanduser()} already exists", hint="Give --dir a path that does not exist yet.")
    base = Path(tempfile.mkdtemp(prefix="once-demo-")) if directory is None else directory.expanduser()
    kept = keep or directory is not None
    try:
        _play(base, kept, json_out)
    finally:
        if not kept:
            shutil.rmtree(base, ignore_errors=True)


def _play(base: Path, kept: bool, json_out: bool) -> None:
    """Both acts in `base`; the closing lines point into it only when it stays."""
    from once.agent.runner import RunRequest, run_once
    from once.cli.common import print_json
    from once.cli.demo_learn import explain, run_act_two
    from once.cli.render import ProgressRenderer
    from once.config import load_settings
    from once.providers.replay import ReplayProvider
    from once.store import open_store
    from once.vcs import GitRepo

    sample, cassette = _demo_files()
    repo_path = base / "greeter"
    shutil.copytree(sample, repo_path)
    git = GitRepo.init(repo_path)
    git.commit_paths(sorted(p.name for p in repo_path.iterdir() if p.is_file()), "Initial commit of the sample")
    db = base / "once.db"
    if not json_out:
        print("once demo: the model's answers are a recording (a cassette) replayed through the real loop;\n"
              "the tools, edits, commit and command are real.\n", file=sys.stderr)
    flags = {"provider": "replay", "max_turns": 20, "dirty": "commit"}
    settings = load_settings(git.root, env={}, flags=flags)
    # A throwaway repo and a known recording: the demo's one command may run without asking.
    sinks = [] if json_out else [ProgressRenderer(errors_reported=True)]
    request = RunRequest(prompt=DEMO_PROMPT, sinks=sinks, permission_mode="full-auto")
    with open_store(str(db)) as store:
        result = run_once(request, repo=git, settings=settings, provider=ReplayProvider(cassette), store=store)
    if not json_out:
        print(f"\n{result.result}\n")
        print("Act two: the agent gets stuck, learns, and the next session starts with the lesson.\n")
    # Act two's history starts empty: what `agent learn` finds is this one story.
    learn_db = base / "learning.db"
    say = (lambda line: None) if json_out else print
    with open_store(str(learn_db)) as store:
        learning = run_act_two(git, store, lambda: load_settings(git.root, env={}, flags=flags), say)
    if json_out:
        print_json({**result.to_json(), "repo": str(repo_path), "db": str(db), "kept": kept,
                    "learning": {**learning.to_json(), "db": str(learn_db)}})
        return
    explain(shlex.quote(str(learn_db)) if kept else None, print)
    print()
    if kept:
        _look_around(repo_path, db, result.run_id)
    else:
        print("The demo's repository was temporary and is removed; `agent demo --keep` keeps it to look around.")


def _look_around(repo_path: Path, db: Path, run_id: str) -> None:
    repo_arg, db_arg = shlex.quote(str(repo_path)), shlex.quote(str(db))
    print(f"The demo repository is {repo_path}")
    print("Look around:")
    print(f"  cd {repo_arg} && git log --stat       # the agent's commits, with their trailers")
    print(f"  agent log --db {db_arg} {run_id}   # act one's run step by step")
    print(f"  agent undo -C {repo_arg} --db {db_arg}     # take the last commit back")
