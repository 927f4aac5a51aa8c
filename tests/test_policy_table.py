"""The command policy as a table (tests/policy_table.txt): each command line through the real
permission gate in five configurations, with the allow rules of its row."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from once.agent.permissions import Answer, ApprovalRequest, Decision, PermissionGate
from once.safety.policy import Policy
from once.safety.sandbox import SandboxState

TABLE = Path(__file__).with_name("policy_table.txt")
CONFIGS = (("plan", False), ("ask", False), ("auto-edit", False), ("auto-edit", True), ("full-auto", False))
HOME = "/home/dev"


@dataclass(frozen=True)
class Row:
    line: int
    command: str
    allow: tuple[str, ...]
    expected: str


def read_table() -> list[Row]:
    rows = []
    for number, text in enumerate(TABLE.read_text(encoding="utf-8").splitlines(), 1):
        if not text.strip() or text.startswith("#"):
            continue
        outcomes, _, rest = text.partition(" | ")
        command, _, allow = rest.partition(" @allow ")
        rows.append(Row(number, command, tuple(r.strip() for r in allow.split(",") if r.strip()),
                        outcomes.replace(" ", "")))
    return rows


ROWS = read_table()


class _Events:
    run_id = "r-table"

    def emit(self, event: object) -> None:
        pass


class _NothingIgnored:
    def ignored_paths(self, paths: list[str]) -> list[str]:
        return []


@pytest.fixture(scope="module")
def repo() -> Iterator[Path]:
    """A repository outside /tmp (the policy's scratch), with the table's two committed links."""
    place = next((p for p in ("/dev/shm", "/var/lib/once-tests", os.getcwd()) if os.access(p, os.W_OK)), None)
    base = Path(tempfile.mkdtemp(prefix="once-policy-", dir=place))
    if str(base).startswith(("/tmp", "/var/tmp")):
        pytest.skip("no writable place outside the scratch folders for the table's repository")
    root = base / "repo"
    root.mkdir()
    (root / "README.md").write_text("readme\n")
    os.symlink(f"{HOME}/.bashrc", root / "evil_link")
    os.symlink(f"{HOME}/.ssh/id_rsa", root / "private_link")
    yield root
    for child in root.iterdir():
        child.unlink()
    root.rmdir()
    base.rmdir()


def outcome(repo: Path, mode: str, sandboxed: bool, row: Row) -> str:
    asked: list[ApprovalRequest] = []

    def nobody(request: ApprovalRequest) -> Answer:
        asked.append(request)
        return Answer(Decision.reject, "table")

    sandbox = SandboxState(True, False) if sandboxed else SandboxState(False, False, "sandbox = off")
    gate = PermissionGate(mode, Policy(allow=row.allow), nobody, repo, _NothingIgnored(), _Events(), sandbox=sandbox)
    refusal = gate.check_command(row.command)
    if refusal is None:
        return "R"
    return "A" if asked else "D"


def test_the_table_is_large_and_covers_every_outcome() -> None:
    assert len(ROWS) >= 150
    assert {"R", "A", "D"} <= set("".join(row.expected for row in ROWS))
    assert all(len(row.expected) == len(CONFIGS) and set(row.expected) <= set("RAD") for row in ROWS)


@pytest.mark.parametrize("row", ROWS, ids=[f"line{row.line}" for row in ROWS])
def test_policy_table(row: Row, repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", HOME)
    got = "".join(outcome(repo, mode, sandboxed, row) for mode, sandboxed in CONFIGS)
    assert got == row.expected, f"{row.command!r} (allow {list(row.allow)}): expected {row.expected}, got {got}"
