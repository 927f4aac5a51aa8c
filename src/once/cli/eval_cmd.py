"""`agent eval`: run task suites against a model, compare arms, back-test recorded runs."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any, Optional

import typer

from once.cli.common import print_json, reported
from once.words import plural

app = typer.Typer(
    help=(
        "Measure the agent: run a suite of tasks (a prompt, a starting repository, a check that decides "
        "success) against any model, compare configurations, and back-test recorded runs.\n\n"
        "A task is a folder: task.toml (prompt, check, tags, [limits], [agent]), repo/ (the starting "
        "repository) and hidden/ (files copied in only for the check). `builtin` ships with once.\n\n"
        "\b\nExamples:\n"
        "  agent eval run builtin --provider openai --base-url http://127.0.0.1:8080/v1 -m local\n"
        "  agent eval run builtin --repeat 3 --arm small=model=m-0.5b --arm big=model=m-1.5b\n"
        "  agent eval run builtin --arm inj=learn.arm=injected --arm held=learn.arm=holdout\n"
        "  agent eval replay                 (back-test the latest eval with this code; exit 1 on a divergence)\n"
        "  agent eval learning -m local --provider openai --base-url http://127.0.0.1:8080/v1\n"
        "  agent eval list\n"
        "  agent eval show EVAL"
    ),
    no_args_is_help=True, add_completion=False, rich_markup_mode=None,
)

DbOpt = typer.Option(None, "--db", help="The SQLite file results are stored in [$ONCE_DB].")
JsonOpt = typer.Option(False, "--json", help="Print the report as JSON.")


@app.command("run")
def run(
    suite: str = typer.Argument(..., help="A folder of task folders, one task folder, or `builtin`."),
    provider: Optional[str] = typer.Option(None, "--provider", help="anthropic, openai or replay."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Model for generation."),
    small_model: Optional[str] = typer.Option(None, "--small-model", help="Model for routing and judging."),
    base_url: Optional[str] = typer.Option(None, "--base-url", help="Server for --provider openai."),
    replay: Optional[Path] = typer.Option(None, "--replay",
                                          help="A folder of cassettes: <task>.json (and <task>.<n>.json for step n)."),
    repeat: int = typer.Option(1, "--repeat", min=1, max=100, help="Runs of each task in each arm."),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, max=32, help="Task runs at the same time."),
    arm: list[str] = typer.Option([], "--arm", help="NAME=key=value[,key=value] or NAME=FILE.toml; repeatable."),
    task: list[str] = typer.Option([], "--task", "-t", help="Only this task (repeatable)."),
    tag: list[str] = typer.Option([], "--tag", help="Only tasks with this tag (repeatable)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Folder for cassettes and the runs' log [data dir]."),
    keep: bool = typer.Option(False, "--keep", help="Keep each run's repository (for a look afterwards)."),
    db: Optional[Path] = DbOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Run every task of SUITE in each arm, check it, and report pass rates with intervals.

    Each run starts from a fresh copy of the task's repository; hidden files are copied in
    only for the check. Every step's model responses are recorded (so `agent eval replay` can
    back-test them) and its events to a database of its own (`agent log --db FOLDER/runs/TASK.ARM.N/runs.db`).
    Exit code 0 when every run ended (passed or not), 1 when stopped early, 2 for bad input.
    """
    from once.errors import UsageError
    from once.evals.arms import base_arm, parse_arms
    from once.evals.task import load_suite, missing_tools

    with reported():
        tasks = load_suite(suite, only=task or None, tags=tag or None)
        problems = missing_tools(tasks)
        if problems:
            raise UsageError("the checks cannot run here: " + "; ".join(problems))
        flags = {"provider": provider, "model": model, "small_model": small_model, "base_url": base_url,
                 "replay": replay}
        if replay is not None and provider is None:
            flags["provider"] = "replay"
        arms = parse_arms(arm, base_arm(flags))
        report = _run(suite, tasks, arms, repeat=repeat, jobs=jobs, out=out, keep=keep, db=db, quiet=as_json)
    _print_report(report, as_json)
    raise typer.Exit(0 if report["status"] == "done" else 1)


def _run(suite: str, tasks: list[Any], arms: list[Any], *, repeat: int, jobs: int, out: Path | None, keep: bool,
         db: Path | None, quiet: bool) -> dict[str, Any]:
    from once.evals.runner import RunSetup
    from once.evals.suite_run import EvalPlan, run_suite
    from once.ids import new_id
    from once.paths import data_dir
    from once.store import open_store

    eval_id = new_id("e")
    folder = (out.expanduser() if out else data_dir() / "evals" / eval_id).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    from once.evals.task import bundled_suites

    where = str(suite) if str(suite) in bundled_suites() else str(Path(suite).expanduser().resolve())
    plan = EvalPlan(eval_id, where, tasks, arms, repeat, jobs,
                    RunSetup(out=folder, keep_repos=keep))
    total = len(tasks) * len(arms) * repeat
    _say(quiet, f"eval {eval_id}: {plural(len(tasks), 'task')} x {plural(len(arms), 'arm')} x {repeat} = "
                f"{plural(total, 'run')}, {jobs} at a time; recordings in {folder}")
    for one in arms:
        _say(quiet, f"  arm {one.name}: {one.describe()}")
    allowed = sorted({rule for task in tasks for rule in task.allow})
    if allowed:  # granted inside each run's throwaway copy only
        _say(quiet, f"  commands the tasks allow: {', '.join(allowed)}")
    from once.cli.executor import stop_on_terminate

    # SIGTERM and SIGHUP stop an eval like Ctrl-C: its agents run in sessions of their own, so
    # an eval killed outright would leave them running.
    with stop_on_terminate(), open_store(str(db) if db else None) as store:
        _, report = run_suite(plan, store, progress=None if quiet else _progress, stop=threading.Event(),
                              started=None if quiet else (lambda what: _say(False, f"  started {what}")))
    return report


def _progress(run: Any, ended: int, total: int) -> None:
    verdict = "pass" if run.passed else f"FAIL ({run.kind})"
    print(f"[{ended}/{total}] {run.task} [{run.arm} #{run.repeat}] {verdict}: {plural(run.turns, 'turn')}, "
          f"{run.tokens:,} tokens, {run.seconds:.1f} s", file=sys.stderr, flush=True)


def _say(quiet: bool, text: str) -> None:
    if not quiet:
        print(text, file=sys.stderr, flush=True)


def _print_report(report: dict[str, Any], as_json: bool) -> None:
    from once.evals.report import render_text

    if as_json:
        print_json(report)
        return
    print(render_text(report))
    if report.get("status") == "stopped":
        print("stopped early: the figures cover the runs that ended.")
    print(f"eval {report['eval_id']}: `agent eval show {report['eval_id']}`, "
          f"`agent eval replay {report['eval_id']}`")


@app.command("list")
def list_(db: Optional[Path] = DbOpt, as_json: bool = JsonOpt,
          limit: int = typer.Option(20, "--limit", min=1, help="How many, newest first.")) -> None:
    """Earlier evals, newest first: suite, arms, runs and passes."""
    import datetime as dt

    from once.evals.results import list_evals
    from once.store import open_store

    with reported(), open_store(str(db) if db else None) as store:
        rows = list_evals(store.conn, limit)
    if as_json:
        print_json(rows)
        return
    if not rows:
        print("no evals yet: try `agent eval run builtin ...`")
        return
    for row in rows:
        when = dt.datetime.fromtimestamp(row["started_at"]).strftime("%Y-%m-%d %H:%M")
        arms = ",".join(a["name"] for a in row["arms"])
        print(f"{row['id']}  {when}  {row['kind']:<8} {row['status']:<8} {row['suite']}  arms {arms}  "
              f"passed {row['passed']}/{row['runs']}")


@app.command("show")
def show(eval_id: Optional[str] = typer.Argument(None, help="An eval id or prefix [the latest]."),
         db: Optional[Path] = DbOpt, as_json: bool = JsonOpt) -> None:
    """One eval's report again, from the database."""
    from once.errors import UsageError
    from once.evals.results import get_eval, latest_eval
    from once.store import open_store

    with reported(), open_store(str(db) if db else None) as store:
        wanted = eval_id or latest_eval(store.conn)
        row = get_eval(store.conn, wanted) if wanted else None
        if row is None:
            raise UsageError(f"no eval {eval_id!r}" if eval_id else "no evals yet",
                             hint="List them with `agent eval list`.")
    if row["report"] is None:
        print(f"eval {row['id']} has not ended ({plural(len(row['results']), 'run')} so far)")
        return
    if as_json or row["kind"] == "run":
        _print_report(row["report"], as_json)
    elif row["kind"] == "replay":
        print(render_replay(row["report"]))
    else:
        from once.evals.learning import render_experiment

        print(render_experiment(row["report"]))


@app.command("replay")
def replay_(
    eval_id: Optional[str] = typer.Argument(
        None, help="An eval id, or an eval folder with its report.json (e.g. committed for CI) [the latest run]."),
    task: list[str] = typer.Option([], "--task", "-t", help="Only this task (repeatable)."),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, max=32, help="Replays at the same time."),
    suite: Optional[str] = typer.Option(None, "--suite", help="Read the tasks from here instead of where the eval did."),
    db: Optional[Path] = DbOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Back-test: re-run an eval's recorded runs with this code and prompts, against their cassettes.

    No model is called. Each run is compared with its recording: the system prompt, the tools,
    what the model was shown at each call (tool results, attached files), the run's status,
    the files it left and the check. Exit code 0 when nothing diverged, 1 when something did:
    the prompt-regression check for CI.
    """
    from once.evals.replay_run import replay_eval

    with reported():
        report = replay_eval(eval_id, tasks=task or None, jobs=jobs, suite=suite, db=db,
                             say=None if as_json else (lambda text: _say(False, text)))
    if as_json:
        print_json(report)
    else:
        print(render_replay(report))
    raise typer.Exit(0 if report["diverged"] == 0 else 1)


def render_replay(report: dict[str, Any]) -> str:
    lines = []
    for run in report["runs"]:
        head = f"{run['task']} [{run['arm']} #{run['repeat']}]"
        if run["same"]:
            lines.append(f"{head}: same as recorded")
            continue
        lines.append(f"{head}: DIVERGED")
        for item in run["divergences"]:
            where = f"step {item['step']}" + (f", model call {item['call']}" if item["call"] else "")
            lines.append(f"  {item['kind']} ({where}): {item['detail']}")
    lines.append(f"{report['same']} of {plural(len(report['runs']), 'run')} replayed as recorded; {report['diverged']} diverged"
                 + (f"; {report['unrecorded']} had no request record to compare" if report.get("unrecorded") else ""))
    return "\n".join(lines)


@app.command("learning")
def learning(
    suite: str = typer.Argument("learning", help="A suite of task families (`[family]` in task.toml) [learning]."),
    provider: Optional[str] = typer.Option(None, "--provider", help="anthropic or openai."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Model for generation."),
    base_url: Optional[str] = typer.Option(None, "--base-url", help="Server for --provider openai."),
    setting: list[str] = typer.Option([], "--set", help="key=value of any config key for the agent (repeatable)."),
    rounds: int = typer.Option(1, "--rounds", min=1, max=50, help="Independent replications (a new project each)."),
    paired: bool = typer.Option(True, "--paired/--no-paired",
                                help="Also run each later member's first attempt in the other arm, on a copy "
                                     "(a lift from every member, not only those the draw held out)."),
    family: list[str] = typer.Option([], "--family", help="Only this family (repeatable)."),
    with_model: bool = typer.Option(False, "--learn-with-model",
                                    help="Let `agent learn` use the small model (default: its offline templates)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Folder for the experiment's repositories and database."),
    db: Optional[Path] = DbOpt,
    as_json: bool = JsonOpt,
) -> None:
    """The learning experiment: family members in order, a scripted correction after a failure,
    `agent learn` after each round of members, and the holdout draw deciding injection.

    Reports the first-attempt pass rate of later members with the entry injected against held
    out, and the difference with its 95% interval; with --paired (the default) also each later
    member's first attempt in the other arm, on a copy that the experiment does not learn from. A replayed model cannot answer a correction
    it was not recorded for, so this needs a live provider (or a local server).
    """
    from once.errors import UsageError
    from once.evals.arms import base_arm, parse_arm
    from once.evals.learning import LearningPlan, families_of, render_experiment, run_experiment
    from once.evals.results import finish_eval, start_eval
    from once.evals.runner import RunSetup
    from once.evals.task import load_suite
    from once.ids import new_id
    from once.paths import data_dir
    from once.store import open_store

    with reported():
        families = families_of(load_suite(suite))
        if not families:
            raise UsageError(f"{suite} has no task families", hint="Members say [family] name, order, correction.")
        unknown = sorted(set(family) - set(families))
        if unknown:
            raise UsageError(f"no family {unknown[0]!r} in {suite}", hint=f"Families: {', '.join(families)}.")
        families = {name: members for name, members in families.items() if not family or name in family}
        arm = base_arm({"provider": provider, "model": model, "base_url": base_url})
        if setting:
            arm = parse_arm("default=" + ",".join(setting), arm)
        if arm.settings.get("provider") == "replay":
            raise UsageError("the learning experiment needs a live model", hint="Use --provider openai or anthropic.")
        eval_id = new_id("e")
        folder = (out.expanduser() if out else data_dir() / "evals" / eval_id).resolve()
        plan = LearningPlan(families, arm, RunSetup(out=folder, db=folder / "learn.db"), rounds=rounds,
                            offline_learn=not with_model, paired=paired)
        members = sum(len(m) for m in families.values())
        _say(as_json, f"learning experiment {eval_id}: {plural(len(families), 'family')}, {plural(members, 'member')}, "
                      f"{plural(rounds, 'round')}; files in {folder}")
        with open_store(str(db) if db else None) as store:
            start_eval(store.conn, eval_id, kind="learning", suite=str(suite), folder=str(folder),
                       arms=[arm.to_json()], repeat=rounds)
            report = run_experiment(plan, say=None if as_json else (lambda text: _say(False, text)))
            report["eval_id"] = eval_id
            finish_eval(store.conn, eval_id, status="done", report=report)
    if as_json:
        print_json(report)
    else:
        print(render_experiment(report))
