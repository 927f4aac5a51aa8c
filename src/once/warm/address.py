"""Where the warm process listens: a socket in a folder only its user can reach.

Imported by every `agent run`, so it imports nothing beyond os and sys.
"""

from __future__ import annotations

import os
import sys

FOLDER_ENV = "ONCE_WARM_DIR"
"""A folder for the socket instead of $XDG_RUNTIME_DIR/once or /tmp/once-warm-UID (tests)."""
OFF_ENV = "ONCE_WARM"
"""`ONCE_WARM=0`: this run does not use the warm process even when one is running."""


def package_dir() -> str:
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def install_key() -> str:
    """What a server and its clients must share: the environment and Python, the package's folder and
    PYTHONPATH (a client's code is the code its server imported)."""
    return "\n".join((sys.prefix, sys.version, package_dir(), os.environ.get("PYTHONPATH", "")))


def compatibility() -> str:
    """What a run's process takes from how Python started, which a fork of the warm process
    cannot take on: the encodings of file names and of files opened without one (the locale's,
    or UTF-8 mode's), by their codec names (LANG=C.UTF-8 and UTF-8 mode agree)."""
    import _locale
    import codecs

    preferred = "utf-8" if sys.flags.utf8_mode else _locale.nl_langinfo(_locale.CODESET)
    return f"{codecs.lookup(sys.getfilesystemencoding()).name} {codecs.lookup(preferred or 'ascii').name}"


def socket_folder() -> str:
    chosen = os.environ.get(FOLDER_ENV)
    if chosen:
        return chosen
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        return os.path.join(runtime, "once")
    return f"/tmp/once-warm-{os.geteuid()}"


def socket_path() -> str:
    """The socket of this install's warm process (its name hashes `install_key`; a socket path
    must stay under ~100 bytes, so the folder holds short names)."""
    digest = 0xCBF29CE484222325  # FNV-1a: hashlib would cost the client a millisecond
    for byte in install_key().encode("utf-8", "surrogateescape"):
        digest = ((digest ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return os.path.join(socket_folder(), f"run-{digest:016x}.sock")


def folder_is_private(folder: str) -> bool:
    """The folder is a real folder (not a link), ours, and closed to everyone else: on a shared
    /tmp another user could have made it first, to hear the environment (API keys) a run sends."""
    try:
        info = os.lstat(folder)
    except OSError:
        return False
    return (info.st_mode & 0o170000) == 0o040000 and info.st_uid == os.geteuid() and info.st_mode & 0o077 == 0


def make_private_folder(folder: str) -> None:
    """Create the socket's folder (mode 0700) or check the one there; OSError when it is not private."""
    try:
        os.makedirs(folder, mode=0o700)
    except FileExistsError:
        pass
    if not folder_is_private(folder):
        raise PermissionError(f"{folder} is not a private folder of this user (owner and mode 0700)")
