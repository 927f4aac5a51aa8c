"""What a harmless-looking program can do through its options or script: run another program,
or write a file. An allow rule for `sed*` or `sort*` is meant for reading and filtering;
GNU sed's `e` command, awk's `system()`, `tar --checkpoint-action=exec=...` or
`sort -o ~/.bashrc` are not what it allowed. Pure: words in, reasons and paths out.
"""

from __future__ import annotations

import re

from once.safety.shell_command import SimpleCommand

RUNS_OR_READS = "runs a program or reads a file through its script or options"
SEDS = frozenset({"sed", "gsed"})
AWKS = frozenset({"awk", "gawk", "mawk", "nawk", "busybox-awk"})
TARS = frozenset({"tar", "gtar", "bsdtar"})
SCRIPTED = SEDS | AWKS | TARS | frozenset({"sort", "git", "find", "man", "less", "uniq", "shuf", "make", "xargs"})
"""Programs whose arguments decide whether they run another program or write a file."""
_TAR_RUNS = ("--checkpoint-action", "--to-command", "--use-compress-program", "--info-script",
             "--new-volume-script", "--rsh-command", "--rmt-command")
# awk: a call of system(), a pipe to or from a command (not `||`), output redirected to a file,
# a file read with getline, the environment (where credentials live).
_AWK_EFFECTS = re.compile(r"\bsystem\s*\(|(?<!\|)\|(?!\|)|\bprintf?\b[^;{}\n]*>|\bgetline\b[^;{}\n]*<"
                          r"|\bENVIRON\b|@include|@load")
# Variables that make a program run or load another one, or read its settings from elsewhere.
_RISKY_NAMES = re.compile(
    r"LD_\w+|DYLD_\w+|GIT_\w+|\w*PAGER|LESS\w*|EDITOR|VISUAL|BROWSER|BASH_ENV|ENV|SHELLOPTS|BASHOPTS|PS4"
    r"|PROMPT_COMMAND|BASH_FUNC_\S+|IFS|PATH|HOME|CDPATH|ZDOTDIR|INPUTRC|XDG_\w+|TMPDIR|SHELL"
    r"|PYTHON(PATH|STARTUP|HOME|USERBASE|INSPECT|BREAKPOINT|EXECUTABLE|PLATLIBDIR)|PERL\w*|RUBY(OPT|LIB)"
    r"|NODE_(OPTIONS|PATH)|\w*JAVA\w*OPTIONS|MAKEFLAGS|MFLAGS|MAKEFILES|TAR_OPTIONS|\w*ASKPASS|SSH_\w+"
    r"|MANOPT|MANPATH|GROFF\w*|GNUPGHOME|GCONV_PATH|LOCPATH|NLSPATH|HOSTALIASES|AWKPATH|AWKLIBPATH"
    r"|PYTEST_(ADDOPTS|PLUGINS)|(?i:npm_config_\w+)|PIP_\w+|CC|CXX|CPP|LD|AR|AS", re.ASCII)


def risky_assignments(assigns) -> list[str]:
    """The names among (name, value) pairs that change which programs run or what they load."""
    return [name for name, _ in assigns if _RISKY_NAMES.fullmatch(name)]


def long_option(arg: str, *names: str) -> bool:
    """`arg` is one of the long options `names`, or an abbreviation GNU getopt would take for
    it (`--expr=...` for `--expression`), with or without `=value`."""
    if not arg.startswith("--") or len(arg) < 3:
        return False
    given = arg.split("=", 1)[0]
    return any(name.startswith(given) for name in names)


def runs_or_reads(part: SimpleCommand) -> str | None:
    """Why this command may run a program or read any file beyond what its name suggests, or None."""
    args = list(part.argv[1:])
    program = part.program
    if "xargs" in part.wrappers and program in SCRIPTED:
        return f"the arguments xargs gives {program} come from its input, which cannot be checked"
    if program in SEDS:
        scripts = _sed_scripts(args)
        if scripts is None:
            return "a sed script from a file cannot be checked"
        if any(sed_effects(script) for script in scripts):
            return "its sed script runs a command (`e`) or reads or writes a file (`r`, `R`, `w`, `W`)"
    if program in AWKS:
        program_text = _awk_program(args)
        if program_text is None:
            return "an awk program from a file, or an extension, cannot be checked"
        if _AWK_EFFECTS.search(program_text) or any(_AWK_EFFECTS.search(text) for text in _awk_sources(args)):
            return "its awk program calls system(), a pipe, getline from a file, ENVIRON or writes to a file"
    if program in TARS and _tar_runs(args):
        return "a tar option runs a program"
    if program == "sort" and any(long_option(arg, "--compress-program") for arg in args):
        return "sort --compress-program runs a program"
    if program == "git":
        return _git_runs(args)
    if program == "man" and any(arg.startswith(("-P", "-H")) or long_option(arg, *_MAN_RUNS) for arg in args):
        return "man runs the pager or browser it is given"
    if program == "less" and any(arg.startswith("+") and ("!" in arg or "|" in arg) for arg in args):
        return "less runs the shell command in its `+` option"
    if program == "make" and any(arg.startswith(("-E", "-f")) or long_option(arg, "--eval", "--file", "--makefile")
                                 for arg in args):
        return "make runs what --eval or another makefile says"
    return None


def _git_runs(args: list[str]) -> str | None:
    if "--ext-diff" in args or _git_settings(args) or any(
            arg.startswith("-O") or long_option(arg, "--open-files-in-pager", "--ext-diff") for arg in args):
        return "git runs with an external diff, a pager it is given (`grep -O`) or a `-c` setting"
    if any(long_option(arg, "--exec-path") and "=" in arg for arg in args):
        return "git --exec-path= runs its subcommands from another folder"
    words = _git_subcommand(args)
    sub, rest = (words[0], words[1:]) if words else ("", [])
    if any(long_option(arg, "--upload-pack", "--receive-pack", "--exec", "--upload-archive") for arg in rest) or (
            sub in ("clone", "fetch", "pull", "ls-remote", "archive") and "-u" in rest) or (
            sub in ("rebase", "pull") and ("-x" in rest or any(long_option(arg, "--exec") for arg in rest))):
        return f"git {sub} runs the program an option names"
    if sub in ("init", "clone") and any(arg.startswith("-c") or long_option(arg, "--template", "--config")
                                        for arg in rest):
        return f"git {sub} copies hooks from a template or sets config that runs programs"
    if sub in ("difftool", "mergetool", "filter-branch", "filter-repo", "send-email") or (
            sub == "bisect" and rest[:1] == ["run"]) or (sub == "submodule" and "foreach" in rest):
        return f"git {sub} runs other programs"
    if _git_config_changes(args):
        return "git config changes a setting (a pager, editor, hook or filter set there runs programs later)"
    return None


_MAN_RUNS = ("--pager", "--html", "--browser")
_GIT_CONFIG_WRITES = frozenset({"--add", "--unset", "--unset-all", "--replace-all", "--rename-section",
                                "--remove-section", "-e", "--edit", "set", "unset", "rename-section",
                                "remove-section", "edit"})
_GIT_CONFIG_VALUED = frozenset({"--file", "-f", "--blob", "--type", "--default", "--comment", "--value"})


# Settings that never name a program to run: a change to one of these is as harmless as the rule meant.
_GIT_SAFE_KEYS = ("user.", "color.", "advice.", "init.defaultbranch", "core.autocrlf", "core.eol", "core.filemode",
                  "core.ignorecase", "core.quotepath", "pull.rebase", "pull.ff", "push.default", "merge.ff",
                  "commit.verbose", "log.", "status.", "branch.autosetuprebase", "i18n.")


def _git_config_changes(args: list[str]) -> bool:
    """`git config NAME VALUE` (or --add, --unset, `set`, --edit...) of a setting that may name a
    program (core.pager, alias.*, filter.*, core.sshCommand...): it runs later, out of sight."""
    words = _git_subcommand(args)
    if not words or words[0] != "config":
        return False
    operands, writes, i = [], False, 1
    while i < len(words):
        word = words[i]
        if word in _GIT_CONFIG_WRITES:
            writes = True
        elif word in _GIT_CONFIG_VALUED:
            i += 1
        elif not word.startswith("-"):
            operands.append(word)
        i += 1
    if not (writes or len(operands) >= 2):
        return False
    keys = [word for word in operands if "." in word][:1]
    return not keys or not keys[0].lower().startswith(_GIT_SAFE_KEYS)


def _git_subcommand(args: list[str]) -> list[str]:
    """git's subcommand and what follows it, past the global options."""
    i = 0
    while i < len(args) and args[i].startswith("-"):
        i += 2 if args[i] in ("-C", "-c", "--git-dir", "--work-tree", "--namespace") else 1
    return args[i:]


def _tar_runs(args: list[str]) -> bool:
    for arg in args:
        if long_option(arg, *_TAR_RUNS) or arg in ("-I", "-F"):
            return True
        if arg.startswith("-") and not arg.startswith("--") and {"I", "F"} & set(arg[1:]):
            return True
    return False


def _git_settings(args: list[str]) -> bool:
    """A `-c name=value` or `--config-env` among git's global options (before the subcommand)."""
    i = 0
    while i < len(args) and args[i].startswith("-"):
        arg = args[i]
        if arg == "-c" or (arg.startswith("-c") and not arg.startswith("--")) or arg.startswith("--config-env"):
            return True
        i += 2 if arg in ("-C", "--git-dir", "--work-tree", "--namespace") else 1
    return False


def option_values(args: list[str], *, short: str | None, long: str) -> list[str]:
    out = []
    for i, arg in enumerate(args):
        if long_option(arg, long) and "=" not in arg and i + 1 < len(args):
            out.append(args[i + 1])
        elif long_option(arg, long) and "=" in arg:
            out.append(arg.split("=", 1)[1])
        elif short and arg == short and i + 1 < len(args):
            out.append(args[i + 1])
        elif short and arg.startswith(short) and len(arg) > len(short) and not arg.startswith("--"):
            out.append(arg[len(short):])
    return out


_SED_FLAGS = "nrEsuzb"
"""GNU sed's short options that take no argument (`-i` takes an optional attached suffix)."""


def _sed_scripts(args: list[str]) -> list[str] | None:
    """The sed scripts given on the command line; None when one comes from a file (-f) or the
    options cannot be read. Clustered short options (`-nes/x/y/ep`), option arguments (`-l 5`)
    and abbreviated long options (`--expr=...`) as GNU sed reads them."""
    scripts: list[str] = []
    operands: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            operands.extend(args[i:])
            break
        if arg.startswith("--"):
            name, equals, value = arg.partition("=")
            if long_option(name, "--file"):
                return None
            if long_option(name, "--expression"):
                scripts.append(value if equals else (args[i] if i < len(args) else ""))
                i += 0 if equals else 1
            elif long_option(name, "--line-length") and not equals:
                i += 1
            continue
        if not arg.startswith("-") or arg == "-":
            operands.append(arg)
            continue
        for at, letter in enumerate(arg[1:], 1):
            rest = arg[at + 1:]
            if letter == "f":
                return None
            if letter in "el":
                value = rest if rest else (args[i] if i < len(args) else "")
                i += 0 if rest else 1
                if letter == "e":
                    scripts.append(value)
                break
            if letter == "i":
                break  # the rest is the backup suffix
            if letter not in _SED_FLAGS:
                return None
    if not scripts and operands:
        scripts.append(operands[0])
    return scripts


def _awk_sources(args: list[str]) -> list[str]:
    """Program text given with gawk's `--source=TEXT` / `--source TEXT` / `-e TEXT` (or `--sou=`)."""
    out = []
    for i, arg in enumerate(args):
        if long_option(arg, "--source") and "=" in arg:
            out.append(arg.split("=", 1)[1])
        elif (arg == "-e" or long_option(arg, "--source")) and i + 1 < len(args):
            out.append(args[i + 1])
    return out


def _awk_program(args: list[str]) -> str | None:
    """The program text; None when it (or part of it) comes from a file or loads an extension:
    `-f`, `-E`, `-i`, `-l`, mawk's `-W exec`, and gawk's long forms, abbreviated or not."""
    i = 0
    while i < len(args):
        arg = args[i]
        if arg.startswith(("-f", "-E", "-i", "-l", "-W")) or long_option(
                arg, "--file", "--exec", "--include", "--load"):
            return None
        if arg in ("-v", "-F") or long_option(arg, "--assign", "--field-separator") and "=" not in arg:
            i += 2
            continue
        if arg == "--":
            return args[i + 1] if i + 1 < len(args) else ""
        if not arg.startswith("-"):
            return arg
        i += 1
    return ""


def sed_effects(script: str) -> bool:
    """Whether a sed script has a command or flag that runs a program or touches another file:
    `e`, `r`, `R`, `w`, `W`, or an `s` command with the `e` or `w` flag."""
    i, n = 0, len(script)
    while i < n:
        c = script[i]
        if c in " \t\n;{}!":
            i += 1
            continue
        i = _skip_address(script, i)
        if i >= n:
            break
        c = script[i]
        if c in "sy":
            i, flags = _skip_s(script, i + 1, with_flags=c == "s")
            if "e" in flags or "w" in flags:
                return True
        elif c in "eEwWrR":
            return True
        elif c in "aic":
            end = script.find("\n", i)
            i = n if end < 0 else end + 1
        elif c in "btT:":
            i += 1
            while i < n and script[i] not in ";\n":
                i += 1
        else:
            i += 1
    return False


def _skip_address(script: str, i: int) -> int:
    """Past an address or range (`3`, `$`, `/re/I`, `\\%re%`, `1,5`, `0~2`, `addr,+3`)."""
    n = len(script)
    for _ in range(2):
        if i < n and script[i] in "0123456789$":
            while i < n and script[i] in "0123456789$~+":
                i += 1
        elif i < n and script[i] in "/\\":
            delim = script[i] if script[i] == "/" else (script[i + 1] if i + 1 < n else "/")
            i += 1 if script[i] == "/" else 2
            while i < n and script[i] != delim:
                i += 2 if script[i] == "\\" else 1
            i += 1
            while i < n and script[i] in "IM":
                i += 1
        while i < n and script[i] in " \t":
            i += 1
        if i < n and script[i] == ",":
            i += 1
            while i < n and script[i] in " \t":
                i += 1
            continue
        break
    while i < n and script[i] in " \t!":
        i += 1
    return i


def _skip_s(script: str, i: int, *, with_flags: bool) -> tuple[int, str]:
    """Past `/pattern/replacement/flags` of an s (or y) command; returns (index, flags)."""
    n = len(script)
    if i >= n:
        return i, ""
    delim = script[i]
    i += 1
    for _ in range(2):
        while i < n and script[i] != delim:
            i += 2 if script[i] == "\\" else 1
        i += 1
    start = i
    while with_flags and i < n and script[i] not in ";\n}":
        if script[i] in "wW" or script[i] == "e":
            return n, script[start:i + 1]  # `w file` takes the rest of the line
        i += 1
    return i, script[start:i]
