"""The files a command writes, as far as its program is known: redirections, the operands of
`rm`/`touch`/`tee`..., the destination of `cp`/`mv`/`ln` (`-t DIR` too), `sed -i`, `dd of=`,
downloads, and what options and operands write (`sort -o`, `uniq IN OUT`, `tar -cf ARCHIVE`,
`split IN PREFIX`, compressors, `pytest --basetemp`). Pure: words in, paths out.
"""

from __future__ import annotations

import re

from once.safety.program_effects import long_option, option_values
from once.safety.shell_command import SimpleCommand

_WRITES_ANY = frozenset({"rm", "rmdir", "unlink", "shred", "touch", "truncate", "mkdir", "tee", "mv", "chmod",
                         "chown", "chgrp", "chattr", "setfacl"})
_WRITES_LAST = frozenset({"cp", "install", "ln", "rsync", "scp"})
_COMPRESSORS = frozenset({"gzip", "gunzip", "bzip2", "bunzip2", "xz", "unxz", "zstd", "unzstd", "lz4", "lzma",
                          "compress", "uncompress"})
_PYTEST_WRITES = ("--basetemp", "--junitxml", "--junit-xml", "--log-file", "--report-log", "--resultlog",
                  "--result-log", "--debug")


def options_and_operands(args: tuple[str, ...] | list[str]) -> tuple[list[str], list[str]]:
    """Split arguments into options and operands; `--` ends the options."""
    options: list[str] = []
    operands: list[str] = []
    for index, arg in enumerate(args):
        if arg == "--":
            operands.extend(args[index + 1:])
            break
        (options if arg.startswith("-") and arg != "-" else operands).append(arg)
    return options, operands


def has_short(options: list[str], letters: str) -> bool:
    return any(not opt.startswith("--") and any(letter in opt[1:] for letter in letters) for opt in options)


def write_targets(part: SimpleCommand, downloads: list[str] | None = None) -> list[str]:
    """Paths this command writes, as far as its kind is known (`downloads`: a downloader's files)."""
    args, program = part.argv[1:], part.program
    options, operands = options_and_operands(args)
    targets = [redirect.target for redirect in part.redirects if redirect.writes]
    directory = _target_directory(list(args)) if program in _WRITES_ANY | _WRITES_LAST else []
    if program in _WRITES_ANY:
        targets += operands + directory
    elif program in _WRITES_LAST:
        targets += directory or operands[-1:]
    elif in_place(program, options):
        targets += operands
    elif program == "dd":
        targets += [arg[3:] for arg in args if arg.startswith("of=")]
    elif program in _COMPRESSORS and not has_short(options, "cltd") and not any(
            long_option(arg, "--stdout", "--to-stdout", "--list", "--test") for arg in options):
        targets += operands  # `gzip F` replaces F by F.gz, next to it
    targets += downloads or []
    return targets + extra_writes(part)


def _target_directory(args: list[str]) -> list[str]:
    """`-t DIR`, `-tDIR`, `--target-directory DIR` and `--target-directory=DIR` (abbreviated too)."""
    out = []
    for i, arg in enumerate(args):
        if arg == "-t" and i + 1 < len(args):
            out.append(args[i + 1])
        elif arg.startswith("-t") and not arg.startswith("--") and len(arg) > 2:
            out.append(arg[2:])
        elif long_option(arg, "--target-directory") and len(arg) > 4:
            value = arg.split("=", 1)[1] if "=" in arg else (args[i + 1] if i + 1 < len(args) else "")
            out.append(value)
    return [value for value in out if value]


def in_place(program: str, options: list[str]) -> bool:
    """`sed -i` and `perl -pi` rewrite the files they are given."""
    if program == "sed":
        return has_short(options, "i") or any(option.startswith("--in-place") for option in options)
    return bool(re.fullmatch(r"perl[0-9.]*", program)) and has_short(options, "i")


def extra_writes(part: SimpleCommand) -> list[str]:
    """Files written through an option or operand: `sort -o F`, `git diff --output=F`, `find -fprint F`,
    `uniq IN OUT`, `tar -cf F` / `tar -xC DIR`, `split IN PREFIX`, `zip F`, pytest's `--basetemp DIR`
    (emptied first) and reports."""
    args = list(part.argv[1:])
    program = part.program
    if program in ("tar", "gtar", "bsdtar"):
        return _tar_writes(args)
    if program in ("split", "csplit"):
        operands = [arg for arg in args if not arg.startswith("-") or arg == "-"]
        prefix = option_values(args, short="-f", long="--prefix") if program == "csplit" else operands[1:2]
        return [f"{name}xx" for name in prefix] if prefix else []
    if program in ("zip", "7z", "7za", "ar", "jar"):
        operands = [arg for arg in args if not arg.startswith("-")]
        return operands[1:2] if program in ("7z", "7za") else operands[:1]
    if program == "unzip":
        return option_values(args, short="-d", long="--directory") or ["."]
    if program in ("sort", "shuf"):
        return option_values(args, short="-o", long="--output")
    if program == "git":
        return option_values(args, short=None, long="--output")
    if program == "find":
        return [args[i + 1] for i, arg in enumerate(args[:-1]) if arg in ("-fprint", "-fprint0", "-fprintf", "-fls")]
    if program == "less":
        return [*option_values(args, short="-o", long="--log-file"), *option_values(args, short="-O",
                                                                                       long="--LOG-FILE")]
    if program == "uniq":
        operands = [arg for arg in args if not arg.startswith("-") or arg == "-"]
        return operands[1:2]
    if program in ("pytest", "py.test") or _runs_module(part, "pytest"):
        return [value for name in _PYTEST_WRITES for value in option_values(args, short=None, long=name)] + [
            arg.split("=", 1)[1] for arg in option_values(args, short="-o", long="--override-ini")
            if arg.startswith("cache_dir=")]
    return []


def _runs_module(part: SimpleCommand, module: str) -> bool:
    """`python -m pytest ...` (any python)."""
    argv = part.argv
    return bool(re.fullmatch(r"python[0-9.]*", part.program)) and any(
        argv[i] == "-m" and argv[i + 1] == module for i in range(1, len(argv) - 1))




def _tar_writes(args: list[str]) -> list[str]:
    """The archive a creating tar writes (`-cf F`, `cf F`, `--file=F`), and the folder an
    extracting one writes into (`-C DIR`, else the current one)."""
    first = args[0] if args else ""
    letters = first.lstrip("-") if first and not first.startswith("--") else ""
    clustered = [arg.lstrip("-") for arg in args if arg.startswith("-") and not arg.startswith("--")]
    modes = set(letters) | {c for arg in clustered for c in arg}
    long_modes = {arg for arg in args if long_option(arg, "--create", "--append", "--update", "--extract", "--get")}
    creates = bool(modes & set("cruA")) or any(long_option(arg, "--create", "--append", "--update") for arg in long_modes)
    extracts = "x" in modes or any(long_option(arg, "--extract", "--get") for arg in long_modes)
    archives = option_values(args, short=None, long="--file")
    for i, arg in enumerate(args):
        flags = arg.lstrip("-") if not arg.startswith("--") else ""
        if flags and (arg.startswith("-") or i == 0) and "f" in flags:
            rest = flags[flags.index("f") + 1:]
            if rest and arg.startswith("-"):
                archives.append(rest)
            else:  # the archive is the next word (in old-style `cf F`, after the other letters' values)
                taking = [c for c in flags if c in "fCbgKLNTVX"]
                offset = taking.index("f") + 1
                if i + offset < len(args):
                    archives.append(args[i + offset])
    out = [name for name in archives if name != "-"] if creates else []
    if extracts:
        out += option_values(args, short="-C", long="--directory") or ["."]
    return out
