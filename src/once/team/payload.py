"""What may leave a machine, and what a teammate's entry may ask of the agent. Pure.

An entry is shared when it is admitted (not a candidate), not blocked or waiting for review
here, and its scope allows it: global entries always, project entries only for repositories
whose remote URL the user opted in (`learn.team_repos`). Its text is redacted again and
absolute paths are cut to their last part before it is sent.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from once.safety.redact import redact

SHARED_STATUSES = ("probation", "active", "demoted", "pruned")
_ABSOLUTE_PATH = re.compile(r"(?<![\w.~-])(?:/(?:home|Users|root|tmp|var|srv|opt|mnt|workspace|work)"
                            r"|[A-Za-z]:\\)[^\s'\"`)]*")
_ACTIONS = [
    (re.compile(r"\b(?:run|execute|exec|invoke|call)\b[^.\n]{0,60}`[^`]+`|\$\(|`(?:curl|wget|bash|sh|rm|sudo|chmod|"
                r"pip install|npm install|git push)\b", re.I), "asks the agent to run a command"),
    (re.compile(r"https?://|\bftp://|\b(?:curl|wget|fetch|download)\b", re.I), "names a URL to fetch"),
    (re.compile(r"\b(?:permission[- ]mode|full-auto|policy\.allow|--dangerously|sandbox(?:_network)?\s*=|"
                r"allow (?:all|every) commands?|disable (?:the )?(?:sandbox|checks|hooks)|chmod|sudo)\b", re.I),
     "asks to change permissions"),
]


@dataclass(frozen=True)
class EntryPayload:
    id: str
    author: str
    scope: str
    repo_key: str | None
    kind: str
    title: str
    description: str
    knowledge: str
    status: str
    status_reason: str
    holdout: float
    model: str
    tool_version: str
    created_at: float
    updated_at: float


def normalized_remote(url: str) -> str:
    """`git@github.com:acme/api.git`, `https://user@github.com/acme/api` -> `github.com/acme/api`."""
    text = url.strip()
    text = re.sub(r"^[a-z+]+://", "", text)
    text = re.sub(r"^[^@/]+@", "", text)
    text = re.sub(r"^([^/:]+):(?!\d+/)", r"\1/", text)  # scp-like host:path
    text = re.sub(r":\d+/", "/", text)
    return re.sub(r"\.git$", "", text.rstrip("/")).lower()


def repo_opted_in(remote: str | None, patterns: Sequence[str]) -> bool:
    if not remote:
        return False
    key = normalized_remote(remote)
    return any(fnmatch.fnmatchcase(key, normalized_remote(p)) for p in patterns)


def generalized(text: str) -> str:
    """Redacted, with absolute paths cut to their last part (`/home/ana/acme/app.py` -> `app.py`)."""
    cut = _ABSOLUTE_PATH.sub(lambda m: m.group(0).rstrip("/\\").replace("\\", "/").rsplit("/", 1)[-1] or "<path>",
                             text)
    return redact(cut)


def entry_payload(entry: Mapping[str, Any], member: str, remote_of: Mapping[str, str | None],
                  opted: Sequence[str]) -> EntryPayload | None:
    """The entry as the team sees it, or None when it stays on this machine."""
    if entry["status"] not in SHARED_STATUSES:
        return None
    repo_key = None
    if entry["scope"] != "global":
        remote = remote_of.get(entry["repo"] or "")
        if not repo_opted_in(remote, opted):
            return None
        repo_key = normalized_remote(remote or "")
    author = entry["author"] or member
    return EntryPayload(
        id=entry["id"], author=author, scope=entry["scope"], repo_key=repo_key, kind=entry["kind"],
        title=generalized(entry["title"]), description=generalized(entry["description"]),
        knowledge=generalized(entry["knowledge"]), status=entry["status"],
        status_reason=generalized(entry["status_reason"]), holdout=float(entry["holdout"]),
        model=entry["model"], tool_version=entry["tool_version"], created_at=float(entry["created_at"]),
        updated_at=float(entry["updated_at"]))


def needs_review(title: str, description: str, knowledge: str) -> list[str]:
    """Why a teammate's entry must wait for a person before it is injected: instructions to run
    commands, fetch URLs or change permissions. Empty when it may go live."""
    text = "\n".join((title, description, knowledge))
    return [reason for pattern, reason in _ACTIONS if pattern.search(text)]
