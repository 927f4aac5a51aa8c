"""Stage two: the small model picks the files to read from stage one's candidates.

It sees one index line per candidate (path and top symbols) and answers with a JSON
list of paths. Only paths it was offered are kept; an unusable answer, or a model
that cannot be reached, leaves stage one's order in charge. Offline there is no
small model and stage one alone decides.

Measured on SWE-bench Lite (benchmarks/swebench_localization.py), a 1.5B local model's
list is no better than stage one's order at 5 on held-out instances (and worse at 10), and
neither is keeping stage one's first file ahead of its picks.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Literal

from once.agent.small import SmallAsk
from once.errors import ProviderError
from once.index.rank import Candidate

Method = Literal["bm25", "small_model"]

SYSTEM = (
    "You choose which files of a repository a coding agent should read first for a task. "
    "You are given the task and a ranked list of candidate files, one per line: the path, then "
    "the file's top-level symbols. Answer with a JSON array of paths copied exactly from the list, "
    "most relevant first, and nothing else."
)
_ARRAY = re.compile(r"\[.*?\]", re.DOTALL)


@dataclass
class Selection:
    files: list[str]
    method: Method


def index_line(candidate: Candidate, max_symbols: int = 8) -> str:
    symbols = ", ".join(candidate.symbols[:max_symbols])
    return f"{candidate.path}" + (f"  ({symbols})" if symbols else "")


def selection_question(prompt: str, shown: list[Candidate], max_files: int) -> str:
    lines = "\n".join(index_line(c) for c in shown)
    return (f"Task:\n{prompt.strip()}\n\nCandidate files:\n{lines}\n\n"
            f"Reply with a JSON array of at most {max_files} paths from the list.")


def parse_answer(answer: str, offered: list[str], max_files: int) -> list[str]:
    """The valid paths of the first JSON array of strings in `answer`, deduplicated, capped."""
    allowed = set(offered)
    for match in _ARRAY.finditer(answer):
        try:
            items = json.loads(match.group(0))
        except ValueError:
            continue
        picked = [item.strip() for item in items if isinstance(item, str)] if isinstance(items, list) else []
        if picked:
            return list(dict.fromkeys(path for path in picked if path in allowed))[:max_files]
    return []


def select_files(prompt: str, candidates: list[Candidate], small: SmallAsk | None, max_files: int = 8,
                 show: int = 30) -> Selection:
    fallback = Selection([c.path for c in candidates[:max_files]], "bm25")
    if small is None or not candidates:
        return fallback
    shown = candidates[:show]
    try:
        answer = small(SYSTEM, selection_question(prompt, shown, max_files))
    except ProviderError:
        return fallback
    picked = parse_answer(answer, [c.path for c in shown], max_files)
    # An empty pick is treated as unusable: the first call is better with stage one's guess than with nothing.
    return Selection(picked, "small_model") if picked else fallback
