"""The entry point. Help, the version, and `agent` alone answer without the full parser.

Building the full command-line parser (typer, every subcommand module, the parser's type
coercion) costs several times Python's own start. `agent --help`, `agent CMD --help` and
`agent --version` print text rendered from the parser's definitions (help_text.py, checked by a
test). `agent` alone (or with only the app's own options) opens the app straight away, its
options read by app_args.py; `agent run` with the plain forms of its options runs straight away,
read by run_args.py. Anything else goes to the full parser, which stays the one place that
defines the command line. While a warm process runs (`agent warm start`), `agent run` is
handed to it (once.warm).
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not typing's: importing typing costs a fifth of the help path
if TYPE_CHECKING:
    from once.cli.app_args import AppArgs

HELP_FLAGS = ("--help", "-h")


def main(argv: list[str] | None = None, *, warm: bool = True) -> None:
    """`agent ARGS`. `warm=False` in the warm process's own fork, which is where a run goes."""
    args = sys.argv[1:] if argv is None else argv
    if _answered_without_parser(args):
        return
    if args[:1] == ["run"] and warm:
        from once.warm.client import run_warm

        try:
            code = run_warm(args)
        except KeyboardInterrupt as exc:  # Ctrl-C before the run was handed over: nothing ran
            _exit_as_the_parser_does(exc)
        if code is not None:
            sys.exit(code)
    if args[:1] == ["run"] and _ran_without_parser(args[1:]):
        return
    from once.cli.app_args import parse_app_args

    app_args = parse_app_args(args)
    if app_args is not None:
        from once.cli.tui_cmd import has_terminal

        if has_terminal():
            _open_app(app_args)
            return
    from once.cli.main import main as full_main

    full_main(args)


def _answered_without_parser(args: list[str]) -> bool:
    """Print the version or a command's help when that is all `args` ask for."""
    if args == ["--version"]:
        from once import __version__

        print(f"once {__version__}")
        return True
    if not args or args[-1] not in HELP_FLAGS or not _help_text_fits():
        return False
    from once.cli.help_text import HELP

    text = HELP.get(tuple(args[:-1]))
    if text is None:
        return False
    sys.stdout.write(text + "\n")
    return True


def _help_text_fits() -> bool:
    """Whether the terminal is as wide as the stored help assumes (as click measures it)."""
    from once.cli.help_text import WIDTH

    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns) >= WIDTH
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns >= WIDTH
    except (AttributeError, ValueError, OSError):
        return True  # not a terminal: click assumes 80 columns too


def _open_app(app_args: "AppArgs") -> None:
    """What `agent` does in a terminal, with the same error reporting as every command."""
    import gc

    # Nearly everything the start allocates (modules, classes, styles, widgets) lives as long as the
    # app: collecting it took ~40 ms of CPU before the first frame. The app turns collection back on
    # after its first paint (app.resume_collection).
    gc.disable()
    from once.cli.common import exit_on_error
    from once.cli.tui_cmd import open_tui

    exit_on_error(lambda: open_tui(app_args))


def _ran_without_parser(args: list[str]) -> bool:
    """`agent run` with plain options: run it and exit as the full parser would. False when the
    options are for the full parser to read."""
    from once.cli.run_args import parse_run_args

    parsed = parse_run_args(args)
    if parsed is None:
        return False
    from once.cli.common import exit_on_error
    from once.cli.executor import run_task

    def run() -> None:
        try:
            code = run_task(parsed.prompt, parsed.mode, parsed.plan, parsed.options)
        except (KeyboardInterrupt, EOFError, OSError) as exc:
            _exit_as_the_parser_does(exc)
        sys.exit(code)

    exit_on_error(run)
    return True


def _exit_as_the_parser_does(exc: BaseException) -> None:
    """Ctrl-C, end of input and a closed pipe end a command in the full parser's own way (an
    exit code, `Aborted!`): the exception is handed to it, so the two paths cannot differ."""
    import typer

    from once.cli.main import bare_app

    app = bare_app()

    @app.command()
    def reraise() -> None:
        raise exc

    typer.main.get_command(app)(args=[], prog_name="agent")
