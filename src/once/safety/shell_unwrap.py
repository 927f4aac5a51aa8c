"""Peel wrappers off a command and find where its words are run as code.

`sudo timeout 5 bash -c 'rm -rf x'` is really `rm -rf x` run as root: the policy must
see the inner command, and must know which substitutions produce code (the text of
`bash -c "$(curl ...)"`) rather than plain arguments.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from once.safety.shell_command import INPUT_OPS, Redirect, SimpleCommand, Word

Reparse = Callable[[str, tuple[str, ...]], list[SimpleCommand]]
"""Parse a string found inside a command (the text of `bash -c`), under the given wrappers."""

MAX_UNWRAP = 16
STDIN_PATHS = frozenset({"-", "/dev/stdin", "/dev/fd/0", "/proc/self/fd/0"})
SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "fish", "yash", "rbash"})
_ASSIGN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\+?=")


@dataclass(frozen=True)
class _Spec:
    """How an interpreter takes code: inline flags (`-c`, `-e`), options with an argument."""

    inline: str = ""
    inline_is_operand: bool = False  # shells: with -c the first operand is the code
    arg_chars: str = ""  # short options that take the next word
    long_inline: frozenset[str] = frozenset()
    long_args: frozenset[str] = frozenset()
    stdin_flag: str = ""  # `bash -s`: read the script from stdin
    no_code: str = ""  # `python -m mod`: runs a module, reads no code


_SHELL_SPEC = _Spec(inline="c", inline_is_operand=True, arg_chars="oO", stdin_flag="s",
                    long_args=frozenset({"--rcfile", "--init-file"}), long_inline=frozenset({"--command"}))
_INTERPRETERS: tuple[tuple[re.Pattern[str], _Spec], ...] = (
    (re.compile(r"(python|pypy)[0-9.]*"), _Spec(inline="c", arg_chars="WX", no_code="m")),
    (re.compile(r"perl[0-9.]*"), _Spec(inline="eE")),
    (re.compile(r"ruby[0-9.]*"), _Spec(inline="e", arg_chars="rI")),
    (re.compile(r"node(js)?"), _Spec(inline="ep", arg_chars="r", long_inline=frozenset({"--eval", "--print"}),
                                     long_args=frozenset({"--require", "--import", "--loader"}))),
    (re.compile(r"php[0-9.]*"), _Spec(inline="r", arg_chars="cdz")),
    (re.compile(r"lua(jit|[0-9.]*)"), _Spec(inline="e")),
    (re.compile(r"Rscript"), _Spec(inline="e")),
)


@dataclass(frozen=True)
class _Scan:
    code: int | None = None  # index of the word holding inline code (`-c CODE`)
    script: int | None = None  # index of the script operand (`bash install.sh`)
    reads_stdin: bool = False


def _spec_for(program: str) -> _Spec | None:
    if program in SHELLS:
        return _SHELL_SPEC
    for pattern, spec in _INTERPRETERS:
        if pattern.fullmatch(program):
            return spec
    return None


def _scan(spec: _Spec, argv: list[str]) -> _Scan:
    """Walk an interpreter's options to find its code: inline, a script, or stdin."""
    i, inline_seen, stdin_flag = 1, False, False
    while i < len(argv):
        word = argv[i]
        if word == "--":
            i += 1
            break
        if word == "-" or len(word) < 2 or word[0] not in "-+":
            break
        if word.startswith("--"):
            name, eq, _ = word.partition("=")
            if name in spec.long_inline:
                if spec.inline_is_operand:
                    return _Scan(code=i + 1)
                return _Scan(code=i if eq else i + 1)
            i += 2 if name in spec.long_args and not eq else 1
            continue
        flags, skip = word[1:], 1
        for k, char in enumerate(flags):
            if char in spec.inline:
                if spec.inline_is_operand:
                    inline_seen = True
                    continue
                return _Scan(code=i if k + 1 < len(flags) else i + 1)
            if char in spec.no_code:
                return _Scan()
            if char == spec.stdin_flag:
                stdin_flag = True
            if char in spec.arg_chars:
                skip = 2 if k + 1 == len(flags) else 1
                break
        i += skip
    operand = i if i < len(argv) else None
    if inline_seen:
        return _Scan(code=operand)
    if operand is None or stdin_flag:
        return _Scan(reads_stdin=True)
    if argv[operand] in STDIN_PATHS:
        return _Scan(reads_stdin=True)
    return _Scan(script=operand)


def code_positions(argv: list[str]) -> tuple[set[int], bool]:
    """Indices of words whose value is run as code, and whether the command runs code from stdin."""
    if not argv:
        return set(), False
    program = argv[0].rsplit("/", 1)[-1]
    positions = {0}
    if program in ("source", ".", "eval"):
        if program == "eval":
            positions.update(range(1, len(argv)))
        elif len(argv) > 1:
            positions.add(1)
        return positions, program != "eval" and len(argv) > 1 and argv[1] in STDIN_PATHS
    spec = _spec_for(program)
    if spec is None:
        return positions, False
    scan = _scan(spec, argv)
    positions.update(index for index in (scan.code, scan.script) if index is not None and index < len(argv))
    return positions, scan.reads_stdin


# ---------------------------------------------------------------- wrappers


@dataclass(frozen=True)
class _Step:
    """One wrapper peeled: the words that remain, or a string to parse as the real command."""

    name: str
    rest: list[Word] | None = None
    code: str | None = None
    code_words: tuple[int, ...] = ()  # indices of the words the code came from


def _skip_options(words: list[Word], start: int, with_arg: str, long_with_arg: frozenset[str] = frozenset(),
                  assignments: bool = False) -> int:
    """Index of the first word after the options of a wrapper such as `sudo -u bob`."""
    i = start
    while i < len(words):
        value = words[i].value
        if value == "--":
            return i + 1
        if assignments and _ASSIGN.match(value):
            i += 1
        elif value.startswith("--") and len(value) > 2:
            i += 2 if value.split("=", 1)[0] in long_with_arg and "=" not in value else 1
        elif value.startswith("-") and len(value) > 1:
            i += 2 if len(value) == 2 and value[1] in with_arg else 1
        else:
            return i
    return i


_SIMPLE_WRAPPERS: dict[str, tuple[str, frozenset[str], bool]] = {
    # name: (short options taking an argument, long ones, NAME=value words allowed)
    "sudo": ("ughpCDrtUTR", frozenset({"--user", "--group", "--prompt", "--chdir", "--close-from", "--host",
                                       "--role", "--type", "--other-user", "--command-timeout"}), True),
    "doas": ("uC", frozenset(), False),
    "pkexec": ("", frozenset({"--user"}), False),
    "nohup": ("", frozenset(), False),
    "time": ("fo", frozenset({"--format", "--output"}), False),
    "nice": ("n", frozenset({"--adjustment"}), False),
    "ionice": ("cnp", frozenset({"--class", "--classdata"}), False),
    "stdbuf": ("ioe", frozenset({"--input", "--output", "--error"}), False),
    "setsid": ("", frozenset(), False),
    "exec": ("a", frozenset(), False),
    "builtin": ("", frozenset(), False),
    "busybox": ("", frozenset(), False),
    "xargs": ("adEILnPs", frozenset({"--arg-file", "--delimiter", "--eof", "--replace", "--max-lines",
                                      "--max-args", "--max-procs", "--max-chars", "--process-slot-var"}), False),
}


def _split_string(words: list[Word], i: int) -> tuple[str, int] | None:
    """`env -S 'a b'` (or `-Sa b`, `--split-string=...`): the string and the index after it."""
    value = words[i].value
    if value in ("-S", "--split-string"):
        return (words[i + 1].value if i + 1 < len(words) else ""), i + 2
    if value.startswith("--split-string="):
        return value.split("=", 1)[1], i + 1
    if value.startswith("-S"):
        return value[2:], i + 1
    return None


ENV_CHDIR = "env -C"
"""The wrapper name of `env -C DIR` / `env --chdir=DIR`: the command runs in another folder."""


def _env_step(words: list[Word]) -> _Step:
    i, name = 1, "env"
    while i < len(words):
        value = words[i].value
        split = _split_string(words, i)
        if split is not None:  # env splits the string into words: parse it as a command
            text, after = split
            rest = " ".join(word.value for word in words[after:])
            return _Step(name, code=f"{text} {rest}".strip(), code_words=tuple(range(1, len(words))))
        if value.startswith("--ch") or (value.startswith("-") and not value.startswith("--") and "C" in value):
            name = ENV_CHDIR
        if value in ("-u", "-C", "--unset", "--chdir") or (
                value.startswith("--") and "=" not in value and "--unset".startswith(value) and len(value) > 2):
            i += 2
        elif value.startswith("--ch") and "=" not in value:
            i += 2
        elif value.startswith("-") or _ASSIGN.match(value):
            i += 1
        else:
            break
    return _Step(name, rest=words[i:])


def _timeout_step(words: list[Word]) -> _Step:
    i = _skip_options(words, 1, "sk", frozenset({"--signal", "--kill-after"}))
    return _Step("timeout", rest=words[i + 1:])  # the word at i is the duration


def _command_step(words: list[Word]) -> _Step | None:
    if any(word.value in ("-v", "-V") for word in words[1:2]):
        return None  # `command -v rm` looks rm up; it runs nothing
    return _Step("command", rest=words[_skip_options(words, 1, ""):])


def _shell_step(program: str, words: list[Word]) -> _Step | None:
    argv = [word.value for word in words]
    scan = _scan(_SHELL_SPEC, argv)
    if scan.code is None or scan.code >= len(argv) or scan.script is not None:
        return None
    return _Step(f"{program} -c", code=argv[scan.code], code_words=(scan.code,))


def _su_step(words: list[Word]) -> _Step | None:
    for i, word in enumerate(words[1:], start=1):
        if word.value in ("-c", "--command") and i + 1 < len(words):
            return _Step("su", code=words[i + 1].value, code_words=(i + 1,))
        if word.value.startswith("--command="):
            return _Step("su", code=word.value.split("=", 1)[1], code_words=(i,))
    return None


def _watch_step(words: list[Word]) -> _Step:
    # watch hands its words to `sh -c`, joined by spaces.
    i = _skip_options(words, 1, "nq", frozenset({"--interval", "--differences"}))
    return _Step("watch", code=" ".join(word.value for word in words[i:]), code_words=tuple(range(i, len(words))))


def unwrap_step(words: list[Word]) -> _Step | None:
    """Peel one wrapper off `words`, or None when the first word is the real command."""
    program = words[0].value.rsplit("/", 1)[-1]
    if program in _SIMPLE_WRAPPERS:
        with_arg, long_with_arg, assignments = _SIMPLE_WRAPPERS[program]
        rest = words[_skip_options(words, 1, with_arg, long_with_arg, assignments):]
        return _Step(program, rest=rest) if rest else None
    if program == "env":
        step = _env_step(words)
        # `env` with nothing to run prints the environment: it is the command, not a wrapper.
        return step if step.rest or step.code is not None else None
    if program == "timeout":
        return _timeout_step(words)
    if program == "command":
        return _command_step(words)
    if program == "eval":
        return _Step("eval", code=" ".join(word.value for word in words[1:]),
                     code_words=tuple(range(1, len(words))))
    if program in SHELLS:
        return _shell_step(program, words)
    if program == "su":
        return _su_step(words)
    if program == "watch":
        return _watch_step(words)
    if program == "trap" and len(words) > 2 and words[1].value not in ("-", "-p", "-l"):
        return _Step("trap", code=words[1].value, code_words=(1,))  # the handler runs later as code
    return None


def mark_feeds_shell(parts: list[SimpleCommand] | tuple[SimpleCommand, ...]) -> list[SimpleCommand]:
    return [replace(part, feeds_shell=True) for part in parts]


@dataclass
class Context:
    """Where a command sits: its wrappers so far, function body and subshell scope."""

    wrappers: tuple[str, ...] = ()
    function: str | None = None
    scope: tuple[int, ...] = ()


def finish(words: list[Word], redirects: list[tuple[Redirect, Word]], ctx: Context,
           reparse: Reparse) -> tuple[list[SimpleCommand], SimpleCommand | None]:
    """Turn the words of one simple command into SimpleCommands, and return the command itself
    (None when a wrapper such as `bash -c` replaced it by the commands of its string).

    Substitutions come first (they run before the command); those in a code position
    are marked as feeding a shell.
    """
    i = 0
    while i < len(words) and words[i].assign:
        i += 1
    assigns = [_assignment(word.value) for word in words[:i]]
    command, wrappers, skipped = words[i:], list(ctx.wrappers), set()
    for _ in range(MAX_UNWRAP):
        step = unwrap_step(command) if command else None
        if step is None:
            break
        if step.code is not None:
            skipped.update(id(command[index]) for index in step.code_words if index < len(command))
            inner = reparse(step.code, (*wrappers, step.name))
            outer = tuple(redirect for redirect, _ in redirects)
            parts = _subs(words, redirects, skipped, set(), False)
            return parts + [replace(part, redirects=part.redirects + outer, assigns=(*assigns, *part.assigns))
                            for part in inner], None
        consumed = command[1:len(command) - len(step.rest or [])]
        assigns += [_assignment(word.value) for word in consumed if _ASSIGN.match(word.value)]  # env A=1 cmd
        wrappers.append(step.name)
        command = step.rest or []
    argv = [word.value for word in command]
    if not argv and not redirects:  # `X=1` alone runs nothing but its substitutions; it sets X for later
        sets = [SimpleCommand((), assigns=tuple(assigns), function=ctx.function, scope=ctx.scope)] if assigns else []
        return _subs(words, redirects, skipped, set(), False) + sets, None
    positions, reads_code = code_positions(argv)
    code_ids = {id(command[index]) for index in positions}
    parts = _subs(words, redirects, skipped, code_ids, reads_code)
    main = SimpleCommand(tuple(argv), tuple(redirect for redirect, _ in redirects), tuple(wrappers),
                         reads_code=reads_code, function=ctx.function, scope=ctx.scope, assigns=tuple(assigns))
    return parts + [main] + _find_exec(command, ctx, wrappers, reparse), main


def _assignment(word: str) -> tuple[str, str | None]:
    """(name, value); `S+=x` appends to what S held, so its value is only known at run time."""
    name, _, value = word.partition("=")
    return (name[:-1], None) if name.endswith("+") else (name, value)


def _subs(words: list[Word], redirects: list[tuple[Redirect, Word]], skipped: set[int], code_ids: set[int],
          reads_code: bool) -> list[SimpleCommand]:
    """The commands inside substitutions, in order; those whose output becomes code are marked."""
    parts: list[SimpleCommand] = []
    for word in words:
        if id(word) not in skipped:
            parts.extend(mark_feeds_shell(word.subs) if id(word) in code_ids else word.subs)
    for redirect, word in redirects:
        as_code = reads_code and redirect.operator in INPUT_OPS  # `bash < <(curl ...)`
        parts.extend(mark_feeds_shell(word.subs) if as_code else word.subs)
    return parts


_EXEC_FLAGS = frozenset({"-exec", "-execdir", "-ok", "-okdir"})


def _find_exec(command: list[Word], ctx: Context, wrappers: list[str], reparse: Reparse) -> list[SimpleCommand]:
    """`find DIR -exec rm -rf {} ;` also runs `rm -rf DIR/{}`: return those commands."""
    if not command or command[0].value.rsplit("/", 1)[-1] != "find":
        return []
    values = [word.value for word in command]
    starts = find_starts(values)
    found: list[SimpleCommand] = []
    i = 0
    while i < len(values):
        if values[i] in _EXEC_FLAGS:
            end = i + 1
            while end < len(values) and values[end] not in (";", "+"):
                end += 1
            segment = values[i + 1:end]
            for start in starts:
                inner = [Word(value.replace("{}", f"{start.rstrip('/')}/{{}}")) for value in segment]
                if inner:
                    parts, _ = finish(inner, [], Context((*wrappers, "find-exec"), ctx.function, ctx.scope), reparse)
                    found.extend(parts)
            i = end
        i += 1
    return found


def find_starts(values: list[str] | tuple[str, ...]) -> list[str]:
    """The directories `find` walks (default `.`), given its argv."""
    i = 1
    while i < len(values):
        if values[i] in ("-H", "-L", "-P") or values[i].startswith("-O"):
            i += 1
        elif values[i] == "-D":
            i += 2
        else:
            break
    starts = []
    while i < len(values) and not values[i].startswith(("-", "(", "!", ")")):
        starts.append(values[i])
        i += 1
    return starts or ["."]
