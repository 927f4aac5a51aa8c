"""Built-in rules: commands refused whatever the configured rules and the permission mode say.

Each check looks at one simple command (with the path state of the line so far) and
returns findings: "deny" for what is destructive or escapes the repository, "ask" for
what needs a person's approval every time (sudo, targets only known at run time).
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath
from typing import Literal

from once.safety.command_paths import PathWalk, brace_words, in_git_dir, parameter_words
from once.safety.private_paths import holds_home, names_process_secret, private_path
from once.safety.program_effects import RUNS_OR_READS, SCRIPTED, risky_assignments, runs_or_reads
from once.safety.program_writes import has_short as _short
from once.safety.program_writes import options_and_operands as _options
from once.safety.program_writes import write_targets
from once.safety.shell_command import SimpleCommand
from once.safety.shell_unwrap import ENV_CHDIR, code_positions, find_starts

DOWNLOADERS = frozenset({"curl", "wget", "fetch", "http", "https", "xh", "aria2c", "lwp-request", "GET"})
ROOT_WRAPPERS = frozenset({"sudo", "doas", "su", "pkexec"})
SAFE_DEVICES = frozenset({"/dev/null", "/dev/zero", "/dev/stdout", "/dev/stderr", "/dev/tty"})
_FORK_WHILE_FORK = re.compile(r"\bfork\b[\s();]*\bwhile\b[\s(]*\bfork\b")

DELETE_OUTSIDE = "recursive delete outside the repository"
DELETE_BROAD = "recursive delete of the whole repository"
GIT_DIR = "write into .git"
RESET_HARD = "git reset --hard"
FORCE_PUSH = "git push --force"
GIT_CLEAN = "git clean -f"
DOWNLOAD_TO_SHELL = "download run as code"
DEVICE = "write to a device"
FORMAT = "format a disk"
FORK_BOMB = "fork bomb"
POWER = "power off the machine"
CHMOD_OUTSIDE = "recursive permission change outside the repository"
ROOT = "runs as root"
UNPARSEABLE = "cannot be parsed"
UNKNOWN_TARGET = "target only known at run time"
UNKNOWN_PROGRAM = "program only known at run time"
WRITE_OUTSIDE = "write outside the repository"
DISCARD_CHANGES = "discard uncommitted changes"
GIT_HOOKS = "redirect git hooks"
PRIVATE_FILES = "reads the user's private files"
# Places a command may write outside the repository without asking.
_SCRATCH = ("/tmp", "/var/tmp", "/dev/null", "/dev/stdout", "/dev/stderr")


@dataclass(frozen=True)
class Finding:
    decision: Literal["deny", "ask"]
    rule: str
    detail: str
    firm: bool = True
    """An "ask" that a person must answer every time. A soft one only takes the command out of
    what allow rules cover: the sandbox (which confines it) or full-auto still run it."""


@dataclass
class LineState:
    """What earlier commands of the line left behind: the directory, downloaded files, the
    shell variables set so far (None: a value only known at run time)."""

    paths: PathWalk
    downloads: set[str] = field(default_factory=set)
    variables: dict[str, str | None] = field(default_factory=dict)
    unknown_variables: bool = False
    """A `source`, `eval` or `read`-like builtin ran: any variable may hold anything since."""

    def hidden(self, name: str) -> bool:
        """Whether `$name` holds text the policy cannot see (set at run time in this line)."""
        if name in self.variables:
            return self.variables[name] is None
        return self.unknown_variables

    def expand(self, word: str) -> str:
        """`word` with the variables this line set to known text put in."""
        if "$" not in word:
            return word

        def known(match: re.Match[str]) -> str:
            value = self.variables.get(match.group(1) or match.group(2))
            return match.group(0) if value is None else value

        return _VARIABLE.sub(known, word)

    def remember(self, part: SimpleCommand) -> None:
        """Variables a command sets for the rest of the line."""
        if part.sets_variables_only:
            for name, value in part.assigns:
                self.variables[name] = None if value is None or "$(" in value or "`" in value else self.expand(value)
            return
        program, args = part.program, list(part.argv[1:])
        if program in (".", "source", "eval"):
            self.unknown_variables = True
        elif program in ("read", "mapfile", "readarray", "getopts"):
            names = [arg for arg in args if _NAME.fullmatch(arg)]
            for name in names if program == "read" else names[-1:]:  # the others fill their last operand
                self.variables[name] = None
        elif program == "printf" and "-v" in args[:-1]:
            self.variables[args[args.index("-v") + 1]] = None
        elif program in ("export", "declare", "typeset", "local", "readonly"):
            for arg in args:
                name, equals, value = arg.partition("=")
                if equals and _NAME.fullmatch(name):
                    self.variables[name] = self.expand(value) if "$(" not in value and "`" not in value else None


_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _target(state: LineState, part: SimpleCommand, target: str, what: str) -> Finding | None:
    """Judge one target of a recursive delete or permission change."""
    resolved = state.paths.resolve(target, part.scope)
    if resolved is None:
        return Finding("ask", UNKNOWN_TARGET, f"`{target}` is only known when the shell expands it")
    if not state.paths.inside(resolved):
        rule = DELETE_OUTSIDE if what == "delete" else CHMOD_OUTSIDE
        return Finding("deny", rule, f"`{target}` is outside the repository")
    if what == "delete" and resolved == state.paths.root:
        return Finding("deny", DELETE_BROAD, f"`{target}` is the whole repository")
    if what == "delete" and state.paths.top_level_glob(resolved):
        return Finding("deny", DELETE_BROAD, f"`{target}` matches everything at the top of the repository")
    return None


def _recursive_delete(part: SimpleCommand, state: LineState) -> list[Finding]:
    if part.program == "find":
        return _find_delete(part, state)
    if part.program != "rm":
        return []
    options, operands = _options(part.argv[1:])
    if not (_short(options, "rR") or "--recursive" in options):
        return []
    if "--no-preserve-root" in options:
        return [Finding("deny", DELETE_OUTSIDE, "--no-preserve-root asks to delete `/`")]
    if "xargs" in part.wrappers:
        return [Finding("ask", UNKNOWN_TARGET, "the paths to delete come from xargs' input")]
    return [found for target in operands if (found := _target(state, part, target, "delete"))]


def _find_delete(part: SimpleCommand, state: LineState) -> list[Finding]:
    if not any(arg in ("-delete", "-exec", "-execdir", "-ok", "-okdir") for arg in part.argv):
        return []
    findings = []
    for start in find_starts(part.argv):
        resolved = state.paths.resolve(start, part.scope)
        if resolved is None:
            findings.append(Finding("ask", UNKNOWN_TARGET, f"`{start}` is only known when the shell expands it"))
        elif not state.paths.inside(resolved):
            findings.append(Finding("deny", DELETE_OUTSIDE, f"find deletes or runs commands under `{start}`, "
                                                            "outside the repository"))
    return findings


def _chmod(part: SimpleCommand, state: LineState) -> list[Finding]:
    if part.program not in ("chmod", "chown", "chgrp"):
        return []
    options, operands = _options(part.argv[1:])
    if not ("-R" in options or _short(options, "R") or "--recursive" in options):
        return []
    targets = operands if any(opt.startswith("--reference") for opt in options) else operands[1:]
    return [found for target in targets if (found := _target(state, part, target, "chmod"))]


def _write_targets(part: SimpleCommand) -> list[str]:
    return write_targets(part, _download_files(part) if part.program in DOWNLOADERS else None)


def _git_dir(part: SimpleCommand, state: LineState) -> list[Finding]:
    if part.program == "git":
        return []  # git itself keeps .git; only its own subcommands (rules below) are judged
    return [Finding("deny", GIT_DIR, f"`{target}` is inside .git") for target in _write_targets(part)
            if state.paths.writes_git(target, part.scope)]


def _outside(part: SimpleCommand, state: LineState) -> list[Finding]:
    """Writes outside the repository (a dotfile in ~, another project) need a person each time."""
    findings = []
    targets = [each for named in _write_targets(part) for braced in brace_words(named)
               for each in parameter_words(braced)]
    for target in targets:
        resolved = state.paths.resolve(target, part.scope)
        if resolved is None:
            if "$" in target or "`" in target:  # `> $OUT`: where it lands is only known then
                findings.append(Finding("ask", UNKNOWN_TARGET, f"`{target}` is only known when the shell "
                                                               "expands it", firm=False))
            continue
        if state.paths.inside(resolved):
            if not state.paths.lands_inside(resolved):
                findings.append(Finding("ask", WRITE_OUTSIDE, f"`{target}` is a link out of the repository"))
            continue
        text = str(resolved)
        if any(text == place or text.startswith(place + "/") for place in _SCRATCH) or text.startswith("/dev/fd/"):
            continue
        findings.append(Finding("ask", WRITE_OUTSIDE, f"`{target}` is outside the repository"))
    if part.program == "ln" and any(in_git_dir(arg) or arg.rstrip("/") == ".git" for arg in part.argv[1:]):
        findings.append(Finding("deny", GIT_DIR, "a link to .git would let later writes reach it"))
    return findings


def _devices(part: SimpleCommand, state: LineState) -> list[Finding]:
    targets = [redirect.target for redirect in part.redirects if redirect.writes]
    if part.program == "dd":
        targets += [arg[3:] for arg in part.argv if arg.startswith("of=")]
    findings = []
    for target in targets:
        normal = posixpath.normpath(target) if target.startswith("/") else target
        if normal.startswith("/dev/") and normal not in SAFE_DEVICES and not normal.startswith("/dev/fd/"):
            findings.append(Finding("deny", DEVICE, f"it writes to `{target}`"))
    if part.program.startswith("mkfs") or part.program in ("mke2fs", "mkswap", "wipefs"):
        findings.append(Finding("deny", FORMAT, f"`{part.program}` erases a filesystem"))
    return findings


def git_subcommand(argv: tuple[str, ...]) -> tuple[str, tuple[str, ...]] | None:
    """`git -C x -c k=v push -f` -> ("push", ("-f",))."""
    i = 1
    while i < len(argv):
        arg = argv[i]
        if arg in ("-C", "-c", "--git-dir", "--work-tree", "--namespace", "--super-prefix", "--config-env"):
            i += 2
        elif arg.startswith("-"):
            i += 1
        else:
            return arg, argv[i + 1:]
    return None


def _git(part: SimpleCommand, state: LineState) -> list[Finding]:
    found = git_subcommand(part.argv) if part.program == "git" else None
    if found is None:
        return []
    sub, args = found
    options, operands = _options(args)
    if sub == "reset" and "--hard" in options:
        return [Finding("deny", RESET_HARD, "it throws away uncommitted work")]
    if sub == "push":
        forced = _short(options, "f") or any(
            opt.split("=", 1)[0] in ("--force", "--force-with-lease", "--force-if-includes", "--mirror")
            for opt in options)
        if forced or any(operand.startswith("+") for operand in operands):
            return [Finding("deny", FORCE_PUSH, "a forced push can overwrite other people's commits")]
    if sub == "config" and any(arg.lower().startswith(("core.hookspath", "core.fsmonitor")) for arg in args):
        return [Finding("deny", GIT_HOOKS, "it changes which programs git runs on its own")]
    if (sub == "checkout" and ("." in operands or "--" in args) and not _short(options, "b")) or (
            sub == "restore" and not ({"--staged", "-S"} & set(options)) or sub == "restore" and "-W" in options):
        if operands:
            return [Finding("deny", DISCARD_CHANGES, "it overwrites uncommitted changes in the work tree")]
    dry_run = _short(options, "n") or "--dry-run" in options
    if sub == "clean" and (_short(options, "f") or "--force" in options) and not dry_run:
        return [Finding("deny", GIT_CLEAN, "it deletes untracked files for good")]
    return []


def _download_files(part: SimpleCommand) -> list[str]:
    """Files a downloader writes: `-o FILE`, `wget -O FILE`, or the URL's name for `curl -O` / wget."""
    args, files = part.argv[1:], []
    flags = ("-o", "--output") if part.program != "wget" else ("-O", "--output-document")
    for i, arg in enumerate(args):
        if arg in flags and i + 1 < len(args):
            files.append(args[i + 1])
        elif arg.startswith(tuple(f"{flag}=" for flag in flags if flag.startswith("--"))):
            files.append(arg.split("=", 1)[1])
    remote_name = part.program != "wget" and (_short(_options(args)[0], "O") or "--remote-name" in args)
    names_from_url = part.program == "wget" or remote_name
    if not files and names_from_url:
        files += [posixpath.basename(arg.split("?")[0]) for arg in args if "://" in arg]
    return [name for name in files if name and name != "-"]


def _downloads(part: SimpleCommand, state: LineState) -> list[Finding]:
    if part.program in DOWNLOADERS and part.feeds_shell:
        return [Finding("deny", DOWNLOAD_TO_SHELL, "what it downloads would be run as code")]
    positions, _ = code_positions(list(part.argv))
    for index in sorted(positions):
        resolved = state.paths.resolve(part.argv[index], part.scope)
        if resolved is not None and str(resolved) in state.downloads:
            return [Finding("deny", DOWNLOAD_TO_SHELL, f"it runs `{part.argv[index]}`, which was just downloaded")]
    return []


def _misc(part: SimpleCommand, state: LineState) -> list[Finding]:
    findings = []
    if part.unparseable is not None:
        findings.append(Finding("ask", UNPARSEABLE, f"the command could not be checked ({part.unparseable})"))
    if part.function and part.argv[:1] == (part.function,) and part.connector in ("|", "&"):
        findings.append(Finding("deny", FORK_BOMB, f"function `{part.function}` starts copies of itself"))
    if any(_FORK_WHILE_FORK.search(arg) for arg in part.argv):
        findings.append(Finding("deny", FORK_BOMB, "it forks without end"))
    if part.argv and ("$" in part.argv[0] or "`" in part.argv[0]):
        # `$SHELL -c '...'` or `$(echo rm) -rf /`: no rule can see what would run.
        findings.append(Finding("ask", UNKNOWN_PROGRAM, f"`{part.argv[0]}` is only known when the shell expands it"))
    if part.program in ("shutdown", "reboot", "halt", "poweroff"):
        findings.append(Finding("deny", POWER, f"`{part.program}` stops the machine"))
    if ENV_CHDIR in part.wrappers:
        findings.append(Finding("ask", UNKNOWN_TARGET, "`env -C` runs it in another folder, where its paths "
                                                       "cannot be checked"))
    root = [name for name in (*part.wrappers, part.program) if name in ROOT_WRAPPERS]
    if root:
        findings.append(Finding("ask", ROOT, f"`{root[0]}` runs it with root rights"))
    return findings


# Commands that only name a folder, never read what is in it.
_NAMES_ONLY = frozenset({"cd", "pushd", "popd", "echo", "printf", "ls", "test", "[", "stat", "dirname", "basename",
                         "realpath", "readlink", "pwd", "true", "false", "mkdir"})
HOME_TREE = "reads the home folder as a whole"


def _private_reads(part: SimpleCommand, state: LineState) -> list[Finding]:
    """A path in the home folder's dot-files (~/.ssh, ~/.aws/credentials, ~/.netrc, ~/.config...)
    or the system's private files, named by any command, directly or through a link in the
    repository: an allow rule for `cat*` is for the repository's files, not the user's keys."""
    named = [arg.split("=", 1)[-1] for arg in part.argv[1:] if arg != "-"]
    named += [r.target for r in part.redirects if r.operator in ("<", "<>")]
    named = [_without_file_scheme(each) for name in named for braced in brace_words(name)
             for each in parameter_words(braced)]
    home = state.paths.home
    for name in named:
        if names_process_secret(name):
            return [Finding("ask", PRIVATE_FILES, f"`{name}` is another process's environment, memory or files")]
        resolved = state.paths.resolve(name, part.scope)
        if resolved is None:
            continue
        if holds_home(resolved, home) and part.program not in _NAMES_ONLY and not (
                part.program == "ls" and not _short(_options(part.argv[1:])[0], "R")):
            return [Finding("ask", HOME_TREE, f"`{name}` holds the home folder, private files and all", firm=False)]
        if state.paths.inside(resolved):
            if state.paths.lands_inside(resolved):
                continue
            followed = state.paths.follow(resolved)  # a link made earlier in the line, or one on disk
            resolved = followed if followed is not None and followed != resolved else PurePosixPath(
                os.path.realpath(str(resolved)))
        elif "/" not in name and not name.startswith("~"):
            continue
        if private_path(resolved, home):
            return [Finding("ask", PRIVATE_FILES, f"`{name}` is among the user's private files")]
    return []


def _without_file_scheme(name: str) -> str:
    """`file:///home/me/.ssh/id_rsa` (curl reads it) is the path."""
    return name[len("file://"):] if name.lower().startswith("file://") else name


def _effects(part: SimpleCommand, state: LineState) -> list[Finding]:
    """An allowed filter that would run a program or read any file through its script or options."""
    reason = runs_or_reads(part)
    if reason is not None:
        return [Finding("ask", RUNS_OR_READS, reason)]
    if part.program in SCRIPTED and any(_run_time_text(arg, state) for arg in part.argv[1:]):
        # Unknown, not known to be harmful (`git commit -m "$(cat msg)"`): outside what rules cover,
        # but the sandbox, which confines whatever it turns out to be, may run it.
        return [Finding("ask", RUNS_OR_READS, f"its {part.program} arguments are only known when the shell "
                                              "expands them", firm=False)]
    return []


def _run_time_text(word: str, state: LineState) -> bool:
    """A substitution, or a variable this line set at run time (`read S < f; sed "$S"`)."""
    if "$(" in word or "`" in word or _EXPANSION.search(word):
        return True
    return any(state.hidden(m.group(1) or m.group(2)) for m in _VARIABLE.finditer(word))


# `${X:-text}`, `${a[0]}`, `${!N}`, `${#X}`: anything in braces but a plain name.
_EXPANSION = re.compile(r"\$\{(?![A-Za-z_][A-Za-z0-9_]*\})")


def _environment(part: SimpleCommand, state: LineState) -> list[Finding]:
    """`GIT_EXTERNAL_DIFF=sh git diff`, `LESSOPEN='|cmd' less f`, `PATH=./bin:$PATH`: variables that
    make a program run or load another one. A rule for `git diff` did not mean that."""
    names = risky_assignments(part.assigns)
    if part.program in ("export", "declare", "typeset", "local", "readonly"):
        names += risky_assignments([arg.partition("=")[::2] for arg in part.argv[1:] if "=" in arg])
    if not names:
        return []
    return [Finding("ask", RUNS_OR_READS, f"`{names[0]}` changes which programs run or what they load",
                    firm=False)]


CHECKS: tuple[Callable[[SimpleCommand, LineState], list[Finding]], ...] = (
    _misc, _recursive_delete, _chmod, _git_dir, _outside, _devices, _git, _downloads, _effects, _private_reads,
    _environment)


def check(part: SimpleCommand, state: LineState) -> list[Finding]:
    """Every built-in finding for one command; then record what it changes for later commands.
    A command that uses variables the line set is judged as written and with their values put in."""
    if part.sets_variables_only:
        findings = _environment(part, state)
        state.remember(part)
        return findings
    findings = [found for rule in CHECKS for found in rule(part, state)]
    expanded = replace(part, argv=tuple(state.expand(arg) for arg in part.argv),
                       redirects=tuple(r._replace(target=state.expand(r.target)) for r in part.redirects))
    defaults = replace(expanded, argv=tuple(parameter_words(arg)[-1] for arg in expanded.argv))  # `${X:-1e id}`
    for variant in (expanded, defaults):
        if variant != part:
            findings += [found for rule in CHECKS for found in rule(variant, state) if found not in findings]
    state.remember(part)
    if part.program in DOWNLOADERS:
        for name in _download_files(part) + [r.target for r in part.redirects if r.writes]:
            resolved = state.paths.resolve(name, part.scope)
            if resolved is not None:
                state.downloads.add(str(resolved))
    state.paths.after(part)
    return findings
