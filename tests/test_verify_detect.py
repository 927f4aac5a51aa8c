"""Which checks a repository gets: configured commands, else its own test setup."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from once.verify import Check, detect_checks
from once.verify.detect import python_command


def make(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def only(checks: list[Check]) -> Check:
    assert len(checks) == 1, checks
    return checks[0]


PY = python_command(Path("/nonexistent"))


@pytest.mark.parametrize(
    ("files", "source"),
    [
        ({"pytest.ini": "[pytest]\n"}, "detected: pytest.ini"),
        ({"pyproject.toml": "[project]\nname = 'x'\n\n[tool.pytest.ini_options]\naddopts = '-q'\n"},
         "detected: pyproject.toml [tool.pytest.ini_options]"),
        ({"setup.cfg": "[metadata]\nname = x\n\n[tool:pytest]\ntestpaths = tests\n"},
         "detected: setup.cfg [tool:pytest]"),
        ({"tox.ini": "[tox]\nenvlist = py311\n\n[pytest]\naddopts = -q\n"}, "detected: tox.ini [pytest]"),
        ({"conftest.py": ""}, "detected: conftest.py"),
        ({"tests/conftest.py": ""}, "detected: tests/conftest.py"),
        ({"tests/test_app.py": "def test_x():\n    assert True\n"}, "detected: tests/test_*.py"),
        ({"test/unit/test_deep.py": "import pytest\n"}, "detected: test/test_*.py"),
    ],
)
def test_pytest_projects(tmp_path: Path, files: dict[str, str], source: str) -> None:
    check = only(detect_checks(make(tmp_path, files)))
    assert check == Check("pytest", f"{PY} -m pytest -q", source)


def test_plain_unittest_tests_run_with_unittest(tmp_path: Path) -> None:
    make(tmp_path, {"tests/test_a.py": "import unittest\n\nclass T(unittest.TestCase):\n    pass\n"})
    assert only(detect_checks(tmp_path)).command == f"{PY} -m unittest discover -s tests"
    (tmp_path / "tests" / "__init__.py").write_text("")
    assert only(detect_checks(tmp_path)).command == f"{PY} -m unittest discover -s tests -t ."
    make(tmp_path, {"requirements-dev.txt": "pytest>=8\n"})  # pytest named as a dependency wins
    assert only(detect_checks(tmp_path)).name == "pytest"


def test_repository_virtualenv_is_the_interpreter(tmp_path: Path) -> None:
    make(tmp_path, {"pytest.ini": "[pytest]\n", ".venv/bin/python": ""})
    assert only(detect_checks(tmp_path)).command == ".venv/bin/python -m pytest -q"


def test_tox_and_nox_only_without_direct_pytest(tmp_path: Path) -> None:
    make(tmp_path, {"tox.ini": "[tox]\nenvlist = py311\n"})
    assert only(detect_checks(tmp_path)) == Check("tox", "tox", "detected: tox.ini")
    make(tmp_path, {"tests/test_a.py": "def test_a():\n    pass\n"})
    assert only(detect_checks(tmp_path)).name == "pytest"


def test_nox(tmp_path: Path) -> None:
    make(tmp_path, {"noxfile.py": "import nox\n"})
    assert only(detect_checks(tmp_path)) == Check("nox", "nox", "detected: noxfile.py")


def test_tox_in_pyproject(tmp_path: Path) -> None:
    make(tmp_path, {"pyproject.toml": "[tool.tox]\nlegacy_tox_ini = ''\n"})
    assert only(detect_checks(tmp_path)).source == "detected: pyproject.toml [tool.tox]"


def test_package_json_test_script(tmp_path: Path) -> None:
    make(tmp_path, {"package.json": json.dumps({"name": "x", "scripts": {"test": "jest"}})})
    expected = Check("npm test", "npm test --silent", "detected: package.json scripts.test")
    assert only(detect_checks(tmp_path)) == expected


@pytest.mark.parametrize(
    "text",
    [
        json.dumps({"scripts": {"test": 'echo "Error: no test specified" && exit 1'}}),  # what `npm init` writes
        json.dumps({"scripts": {"build": "tsc"}}),
        json.dumps({"scripts": {"test": ""}}),
        json.dumps(["not", "an", "object"]),
        "{ broken json",
    ],
)
def test_package_json_without_a_real_test_script(tmp_path: Path, text: str) -> None:
    make(tmp_path, {"package.json": text})
    assert detect_checks(tmp_path) == []


def test_go_and_cargo(tmp_path: Path) -> None:
    go = make(tmp_path / "go", {"go.mod": "module example.com/x\n\ngo 1.22\n"})
    assert only(detect_checks(go)) == Check("go test", "go test ./...", "detected: go.mod")
    rust = make(tmp_path / "rust", {"Cargo.toml": "[package]\nname = 'x'\n"})
    assert only(detect_checks(rust)) == Check("cargo test", "cargo test", "detected: Cargo.toml")


def test_makefile_test_target(tmp_path: Path) -> None:
    make(tmp_path, {"Makefile": "TEST_FLAGS := -v\n\nbuild:\n\tcc x.c\n\ntest: build\n\t./run-tests\n"})
    assert only(detect_checks(tmp_path)) == Check("make test", "make test", "detected: Makefile test target")


def test_makefile_without_test_target(tmp_path: Path) -> None:
    make(tmp_path, {"Makefile": "test := yes\ntests:\n\techo no\nbuild:\n\tcc x.c\n"})
    assert detect_checks(tmp_path) == []


def test_makefile_only_when_nothing_else(tmp_path: Path) -> None:
    make(tmp_path, {"Makefile": "test:\n\tgo test ./...\n", "go.mod": "module x\n"})
    assert only(detect_checks(tmp_path)).name == "go test"


def test_several_ecosystems_each_get_a_check(tmp_path: Path) -> None:
    make(tmp_path, {"pyproject.toml": "[tool.pytest.ini_options]\n", "package.json": '{"scripts": {"test": "vitest"}}'})
    assert [check.name for check in detect_checks(tmp_path)] == ["pytest", "npm test"]


def test_nothing_found(tmp_path: Path) -> None:
    make(tmp_path, {"README.md": "hello\n", "src/app.py": "print(1)\n", "tests/helpers.py": "x = 1\n"})
    assert detect_checks(tmp_path) == []


def test_configured_commands_win(tmp_path: Path) -> None:
    make(tmp_path, {"pytest.ini": "[pytest]\n", "go.mod": "module x\n"})
    checks = detect_checks(tmp_path, test_command="  make check  ", lint_command="ruff check .")
    assert checks == [Check("test", "make check", "config"), Check("lint", "ruff check .", "config")]


def test_lint_command_adds_to_detected_tests(tmp_path: Path) -> None:
    make(tmp_path, {"go.mod": "module x\n"})
    checks = detect_checks(tmp_path, lint_command="go vet ./...")
    assert [check.name for check in checks] == ["go test", "lint"]
    assert detect_checks(tmp_path, test_command=" ", lint_command="") == [Check("go test", "go test ./...",
                                                                                 "detected: go.mod")]


def test_broken_pyproject_still_detects_pytest(tmp_path: Path) -> None:
    make(tmp_path, {"pyproject.toml": "[tool.pytest.ini_options\naddopts = \n"})
    assert only(detect_checks(tmp_path)).name == "pytest"
