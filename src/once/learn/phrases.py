"""Phrase patterns for the user's words: complaints, pasted failures, success, corrections.

Pure matching, no state. The patterns were written from common coding-assistant
dissatisfaction phrasing and then checked against real user turns (see the labelled
fixture in the tests); they favour precision: a missed complaint costs less than a
knowledge entry mined from a turn that was not a complaint.
"""

from __future__ import annotations

import re

_I = re.IGNORECASE | re.MULTILINE

# "still broken", "same error", "that didn't work", "you broke it", "no, I meant ...".
COMPLAINT = [re.compile(p, _I) for p in (
    # "it still fails", but not "will they still support ...": a modal before it makes it a question.
    (r"(?<!will )(?<!would )(?<!can )(?<!could )(?<!does )(?<!do )(?<!should )"
    r"\b(it|that|this|they|there|which)('s| is| are)? still\b"),
    r"^\s*still\b",
    (r"\bstill (broken|fail\w*|wrong|not\b|no\b|doesn'?t|does not|don'?t|isn'?t|shows?|showing|getting|"
    r"happen\w*|the same|an? (error|issue|problem|bug)|\d+\b)"),
    r"\bsame (error|problem|issue|failure|exception|result|bug|output|traceback)\b(?!\s+if\b)",
    # "it shows undefined", "tooltips show 0 lines": the result on screen is empty or wrong.
    (r"\b(shows?|showing|displays?|displaying|returns?|returning|prints?|printing|gives?|giving)\s+"
    r"[\"'`]?(undefined|nan|null|nothing|empty|0|zero|blank|garbage)\b"),
    r"\b(nonsense|pointless|useless)\b",
    (r"\b(it|that|this|the (fix|change|edit|patch)|your (fix|change|edit|patch))\s+"
    r"(didn'?t|did not|doesn'?t|does not|isn'?t|is not|wasn'?t|hasn'?t|has not|won'?t|still doesn'?t)\s+"
    r"(work|help|fix|change|solve|do anything|compile|run|pass|resolve)"),
    r"\b(not|isn'?t|aren'?t|stopped|no longer) working\b",
    r"\b(doesn'?t|does not|don'?t|do not) work( anymore| at all)?\b",
    r"\b(you|that|this|it|the (fix|change|edit))\s+(broke|has broken|have broken|made it worse|made things worse)\b",
    r"\bbroke (everything|it|the|all)\b",
    r"\b(that'?s|that is|this is|it'?s|is) (not|still not) (what|how) i\b",
    r"\bnot what i (asked|wanted|meant|said)\b",
    r"\b(that'?s|this is|it'?s|is) (wrong|incorrect|broken)\b",
    r"\byou (forgot|missed|ignored|didn'?t|did not|removed|deleted|broke)\b",
    r"\b(your|the) (previous|last) (fix|change|edit|attempt|answer)\b",
    r"^\s*no[,.!]\s",
    r"^\s*(nope|wrong|undo that|revert that)\b",
    r"\b(try|do it) again\b",
    r"\bnothing (changed|happened|works)\b",
    r"\bmade no difference\b",
)]

# A pasted failure (traceback, test failure, error line): a complaint when it follows an edit.
FAILURE_PASTE = [re.compile(p, re.MULTILINE) for p in (
    r"Traceback \(most recent call last\)",
    r"^\s*(\w+\.)*\w*(Error|Exception): ",
    r"^E\s{2,}\S",
    r"^FAILED ",
    r"\b\d+ (failed|errors?)\b.* in \d",
    r"^\s*(error|ERROR)(\[\w+\])?: ",
)]

# Explicit success in the user's words.
SUCCESS = [re.compile(p, _I) for p in (
    r"\b(it|that|this|everything)('s| is)? (works?|working)( now| great| fine| perfectly)?\b(?!\s+(for|on|with|if)\b)",
    r"\bworks (now|great|perfectly|fine)\b",
    r"\b(that|this) (did it|fixed it|solved it)\b",
    r"\b(problem|issue|bug|error)('s| is)? (fixed|solved|gone|resolved)\b",
    r"^\s*(perfect|great|awesome|excellent|nice|lgtm|looks good|thanks|thank you)\b",
    r"\bthanks?,? (that|it) works\b",
)]

# Negations that make a success phrase a complaint ("it works" inside "it still doesn't work" is
# caught by COMPLAINT first; these catch "not working now" style phrasing).
_SUCCESS_NEGATED = re.compile(r"\b(not|n't|never|no longer)\b[^.]{0,20}\bwork", _I)

# Corrections: the user telling the agent how it should have done it.
CORRECTION = [re.compile(p, _I) for p in (
    r"^\s*(no|nope|actually)[,.!]?\s",
    r"\binstead\b",
    r"\bi (meant|mean|said|asked)\b",
    r"^\s*(don'?t|do not|never|stop)\b",
    r"\bshould (not|n'?t|be|use|have)\b",
    r"\b(not|rather than) [`'\"]?\w+[`'\"]?,? (but|use)\b",
)]

# Prompts too short or generic to count as a request someone could repeat.
TRIVIAL = re.compile(
    r"^\s*(hi|hello|hey|ok(ay)?|yes|y|no|n|sure|thanks?( you)?|go ahead|do (it|that|this)|"
    r"make (that|those|these|the) changes?|ok,? (do|make) (that|it|those changes)|proceed|continue|"
    r"run it|try that|ok,? try that|<blank>)\s*[.!?]*\s*$",
    re.IGNORECASE,
)


def _first(patterns: list[re.Pattern[str]], text: str) -> str:
    for pattern in patterns:
        match = pattern.search(text)
        if match:
            return match.group(0).strip()
    return ""


def complaint_phrase(text: str) -> str:
    """The complaint phrase found in `text`, or ""."""
    return _first(COMPLAINT, text)


def failure_paste(text: str) -> str:
    """The error line of a pasted failure in `text`, or ""."""
    for pattern in FAILURE_PASTE:
        match = pattern.search(text)
        if match:
            line_start = text.rfind("\n", 0, match.start()) + 1
            line_end = text.find("\n", match.end())
            return text[line_start: line_end if line_end >= 0 else len(text)].strip()[:200]
    return ""


def success_phrase(text: str) -> str:
    """An explicit success phrase ("works now", "that fixed it"), or "" (also when negated)."""
    if complaint_phrase(text) or _SUCCESS_NEGATED.search(text):
        return ""
    return _first(SUCCESS, text)


def correction_phrase(text: str) -> str:
    return _first(CORRECTION, text)


def is_trivial(text: str) -> bool:
    return bool(TRIVIAL.match(text))
