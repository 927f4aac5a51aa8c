"""`agent warm start|stop|status`: a process that keeps `agent run`'s modules imported."""

from __future__ import annotations

import time

import typer

from once.cli.common import print_json, reported

app = typer.Typer(
    help=(
        "A warm process that makes `agent run` start at once.\n\n"
        "Most of a short run's time is Python importing once and its SDKs. `agent warm start` "
        "leaves a process that has imported them; while it runs, each `agent run` of yours is "
        "done by a fork of it (one made and warmed up ahead, by a run of its own in a scratch "
        "repository), in your folder, with your environment and your terminal, and exits "
        "with the run's code. It listens on a socket only you can reach, stops after --idle minutes "
        "without a run, and restarts itself when once's code changes on disk. ONCE_WARM=0 runs one "
        "command without it.\n\n"
        "\b\nExamples:\n"
        "  agent warm start            # e.g. in your shell's profile\n"
        "  agent warm status --json\n"
        "  agent warm stop"
    ),
    no_args_is_help=True, add_completion=False, rich_markup_mode=None,
)


@app.command("start")
def start(
    idle: float = typer.Option(30.0, "--idle", min=0.01, help="Minutes without a run before it stops."),
) -> None:
    """Start the warm process (nothing happens when it already runs)."""
    from once.warm.control import start as start_process

    with reported():
        running, started = start_process(idle)
    if started:
        print(f"warm process started (pid {running.pid}); `agent run` starts from it and it stops after "
              f"{_minutes(running.idle_seconds)} without a run")
    else:
        print(f"warm process already running (pid {running.pid}, {_runs(running.runs)})")


@app.command("stop")
def stop() -> None:
    """Stop the warm process. Runs under way finish."""
    from once.warm.control import stop as stop_process

    with reported():
        stopped = stop_process()
    print(f"warm process stopped (pid {stopped.pid})" if stopped else "no warm process was running")


@app.command("status")
def status(json_out: bool = typer.Option(False, "--json", help="Print it as JSON.")) -> None:
    """Whether the warm process runs: its pid, runs done, and when it stops. Exit 1 when it does not run."""
    from once.warm.control import status as process_status

    running = process_status()
    if json_out:
        print_json(running.as_dict() if running else {"running": False})
    elif running is None:
        print("no warm process is running (agent warm start)")
    else:
        since = time.strftime("%Y-%m-%d %H:%M", time.localtime(running.started))
        print(f"warm process running: pid {running.pid}, since {since}, {_runs(running.runs)}, stops after "
              f"{_minutes(running.idle_seconds)} without a run")
        if running.spare:
            print(f"a fork warmed up for the next run is waiting (pid {running.spare})")
        if running.stale:
            print("once's code changed on disk since it started: it restarts at the next run")
    if running is None:
        raise typer.Exit(1)


def _minutes(seconds: float) -> str:
    from once.words import plural

    minutes = seconds / 60
    return plural(int(minutes), "minute") if minutes.is_integer() else f"{minutes:g} minutes"


def _runs(count: int) -> str:
    from once.words import plural

    return plural(count, "run")
