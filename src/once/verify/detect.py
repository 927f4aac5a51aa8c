"""Which checks prove an edit: configured commands, else the project's own test setup.

Detection only reads a few well-known files at the repository root (and peeks into
`tests/`); it never runs anything. Commands are run from the repository root, so they
use repository-relative paths.

Python tests run with the project's interpreter, not the one `once` runs under: a
virtualenv in the repository (`.venv/`, `venv/`, `env/`) when there is one, otherwise
`python` from PATH (`python3` where no `python` exists). The command is
`<python> -m pytest -q`: without `-x`, so one run reports every failing test.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

_READ_LIMIT = 1_000_000
"""Bytes read from a marker file; config files are far smaller."""
_SAMPLED_TEST_FILES = 20
_NPM_DEFAULT_TEST = re.compile(r"no test specified", re.IGNORECASE)
_MAKE_TEST_TARGET = re.compile(r"^test\s*::?(?!=)", re.MULTILINE)
_SETUP_CFG_PYTEST = re.compile(r"^\[tool:pytest\]", re.MULTILINE)
_TOX_INI_PYTEST = re.compile(r"^\[pytest\]", re.MULTILINE)
_VENV_DIRS = (".venv", "venv", "env")
_TEST_DIRS = ("tests", "test")


@dataclass(frozen=True)
class Check:
    """One command whose exit code says whether the work is sound."""

    name: str
    """Short label, e.g. "pytest", "npm test", "test" (configured) or "lint"."""
    command: str
    """Shell command, run from the repository root."""
    source: str
    """Why it runs: "config", or "detected: <file>"."""


def detect_checks(repo_root: Path, test_command: str | None = None, lint_command: str | None = None) -> list[Check]:
    """Configured commands win; otherwise the project's tests are detected. [] when none."""
    checks: list[Check] = []
    if test_command and test_command.strip():
        checks.append(Check("test", test_command.strip(), "config"))
    else:
        checks.extend(detect_test_checks(repo_root))
    if lint_command and lint_command.strip():
        checks.append(Check("lint", lint_command.strip(), "config"))
    return checks


def detect_test_checks(repo_root: Path) -> list[Check]:
    """One check per ecosystem found (a repo may hold Python and JavaScript, say).

    A Makefile `test` target is used only when nothing else is found: it usually wraps
    one of the others, and running both would do the work twice.
    """
    detectors: list[Callable[[Path], Check | None]] = [_python_check, _npm_check, _go_check, _cargo_check]
    found = [check for detect in detectors if (check := detect(repo_root)) is not None]
    if found:
        return found
    make = _make_check(repo_root)
    return [make] if make is not None else []


# ---------------------------------------------------------------- Python


def _python_check(root: Path) -> Check | None:
    python = python_command(root)
    reason = _pytest_config(root)
    if reason is not None:
        return Check("pytest", f"{python} -m pytest -q", f"detected: {reason}")
    tests_dir = _tests_dir(root)
    if tests_dir is not None:
        if _prefers_unittest(root, tests_dir):
            return Check("unittest", _unittest_command(python, tests_dir), f"detected: {tests_dir.name}/test_*.py")
        return Check("pytest", f"{python} -m pytest -q", f"detected: {tests_dir.name}/test_*.py")
    # tox and nox build their own environments: slow, so only when pytest is not set up directly.
    if (root / "tox.ini").is_file():
        return Check("tox", "tox", "detected: tox.ini")
    if _pyproject_tool(root, "tox"):
        return Check("tox", "tox", "detected: pyproject.toml [tool.tox]")
    if (root / "noxfile.py").is_file():
        return Check("nox", "nox", "detected: noxfile.py")
    root_tests = [p for pattern in ("test_*.py", "*_test.py") for p in root.glob(pattern) if p.is_file()]
    if root_tests:  # small projects keep their tests beside the code
        return Check("pytest", f"{python} -m pytest -q", "detected: test_*.py at the root")
    return None


def python_command(root: Path) -> str:
    """The project's interpreter: a repository virtualenv, else python (or python3) from PATH."""
    for name in _VENV_DIRS:
        if (root / name / "bin" / "python").is_file():
            return f"{name}/bin/python"
    return "python" if shutil.which("python") or not shutil.which("python3") else "python3"


def _pytest_config(root: Path) -> str | None:
    """The file that says this project uses pytest, if any."""
    for name in ("pytest.ini", ".pytest.ini"):
        if (root / name).is_file():
            return name
    if _pyproject_tool(root, "pytest"):
        return "pyproject.toml [tool.pytest.ini_options]"
    if _SETUP_CFG_PYTEST.search(_read(root / "setup.cfg")):
        return "setup.cfg [tool:pytest]"
    if _TOX_INI_PYTEST.search(_read(root / "tox.ini")):
        return "tox.ini [pytest]"
    for place in ("conftest.py", "tests/conftest.py", "test/conftest.py"):
        if (root / place).is_file():
            return place
    return None


def _pyproject_tool(root: Path, tool: str) -> bool:
    text = _read(root / "pyproject.toml")
    if not text:
        return False
    import tomllib  # only a repository with a pyproject.toml needs it

    try:
        data: Any = tomllib.loads(text)
    except tomllib.TOMLDecodeError:  # a broken file still tells us something
        return f"[tool.{tool}" in text
    tools = data.get("tool")
    return isinstance(tools, dict) and tool in tools


def _tests_dir(root: Path) -> Path | None:
    for name in _TEST_DIRS:
        folder = root / name
        if folder.is_dir() and _test_files(folder, 1):
            return folder
    return None


def _test_files(folder: Path, limit: int) -> list[Path]:
    found: list[Path] = []
    for pattern in ("test_*.py", "*_test.py"):
        for path in sorted(folder.rglob(pattern)):
            if path.is_file():
                found.append(path)
                if len(found) >= limit:
                    return found
    return found


def _prefers_unittest(root: Path, tests_dir: Path) -> bool:
    """Plain unittest only when tests use it and nothing mentions pytest.

    pytest runs unittest-style tests too, but if pytest is not installed the check
    would fail for a reason the agent cannot fix by editing code.
    """
    deps = " ".join(_read(root / name) for name in
                    ("pyproject.toml", "setup.cfg", "setup.py", "requirements-dev.txt", "requirements.txt", "Pipfile"))
    if "pytest" in deps:
        return False
    texts = [_read(path) for path in _test_files(tests_dir, _SAMPLED_TEST_FILES)]
    return bool(texts) and all("unittest" in text for text in texts) and not any("pytest" in text for text in texts)


def _unittest_command(python: str, tests_dir: Path) -> str:
    # Discovery from the repo root needs the tests folder to be a package; else start inside it.
    top = " -t ." if (tests_dir / "__init__.py").is_file() else ""
    return f"{python} -m unittest discover -s {tests_dir.name}{top}"


# ---------------------------------------------------------------- other ecosystems


def _npm_check(root: Path) -> Check | None:
    text = _read(root / "package.json")
    if not text:
        return None
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError:
        return None
    scripts = data.get("scripts") if isinstance(data, dict) else None
    test = scripts.get("test") if isinstance(scripts, dict) else None
    if not isinstance(test, str) or not test.strip() or _NPM_DEFAULT_TEST.search(test):
        return None  # `npm init` writes a test script that only fails
    return Check("npm test", "npm test --silent", "detected: package.json scripts.test")


def _go_check(root: Path) -> Check | None:
    return Check("go test", "go test ./...", "detected: go.mod") if (root / "go.mod").is_file() else None


def _cargo_check(root: Path) -> Check | None:
    return Check("cargo test", "cargo test", "detected: Cargo.toml") if (root / "Cargo.toml").is_file() else None


def _make_check(root: Path) -> Check | None:
    for name in ("GNUmakefile", "Makefile", "makefile"):
        if _MAKE_TEST_TARGET.search(_read(root / name)):
            return Check("make test", "make test", f"detected: {name} test target")
    return None


def _read(path: Path) -> str:
    """A marker file's text, or "" when it is missing or unreadable."""
    try:
        with path.open("rb") as handle:
            return handle.read(_READ_LIMIT).decode("utf-8", errors="replace")
    except OSError:
        return ""
