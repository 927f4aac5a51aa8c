"""Which vent reports are the same problem: a normalized signature plus embedding similarity.

Pure except `embed_texts`, which loads the embedder (numpy is imported inside functions so
`agent --help` stays light). A report joins the existing group it is most similar to when
the score clears `THRESHOLD`; an identical signature always joins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:  # pragma: no cover
    import numpy

THRESHOLD = 0.30
"""Score from which two reports are one problem, with the hashed n-gram embedder."""
MINILM_THRESHOLD = 0.50
"""The same for MiniLM, whose cosines run higher for unrelated texts. Both sit between the
lowest paraphrase and the highest unrelated pair of the test set, and merge about 1-2% of
random bug-report pairs (benchmarks/vent_grouping.py)."""
EMBED_WEIGHT = 0.75
"""The rest of the score is the overlap of the signatures' words."""

_QUOTED = re.compile(r"`[^`]*`|'[^']*'|\"[^\"]*\"")
_PATH = re.compile(r"(?:[\w.-]+/)+[\w.-]+|\b[\w-]+\.(?:py|js|ts|md|json|toml|txt|cfg|yaml|yml|rs|go)\b")
_HEX = re.compile(r"\b0x[0-9a-f]+\b|\b[0-9a-f]{7,40}\b")
_NUMBER = re.compile(r"\b\d+(?:\.\d+)*\b")
_WORD = re.compile(r"[a-z_][a-z0-9_]+")
_STOP = frozenset(
    """a an the and or but if then else of to in on at by for with from into as is are was were be been
    being it its this that these those there here i you we they me my your our their do does did doing
    have has had not no so too very can could should would will may might must just also than when while
    which who what where why how all any some such only same other more most each again when""".split()
)


@dataclass(frozen=True)
class GroupKey:
    """What a new report is compared against: an existing group's id, tool, signature and vector."""

    id: str
    tool: str
    signature: str
    vector: "numpy.ndarray | None"


def _stem(word: str) -> str:
    # A crude suffix strip so "fails", "failed" and "failing" share a word.
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def signature_words(message: str) -> list[str]:
    """The message's content words, with paths, hashes, numbers and quoted values masked."""
    text = message.lower()
    text = _QUOTED.sub(" qval ", text)
    text = _PATH.sub(" path ", text)
    text = _HEX.sub(" hexval ", text)
    text = _NUMBER.sub(" num ", text)
    words = {_stem(w) for w in _WORD.findall(text) if w not in _STOP}
    return sorted(words)


def signature(category: str, tool: str, message: str) -> str:
    """`category|tool|sorted content words`: the same complaint worded the same way, twice."""
    return f"{category}|{tool.strip().lower()}|{' '.join(signature_words(message))}"


def embed_text(category: str, tool: str, message: str) -> str:
    """What is embedded for a report: the tool's name carries weight in the similarity."""
    return " ".join(part for part in (tool.strip(), category.replace("_", " "), message.strip()) if part)


def _words_of(sig: str) -> set[str]:
    return set(sig.split("|", 2)[-1].split())


def similarity(sig_a: str, vec_a: "numpy.ndarray | None", sig_b: str, vec_b: "numpy.ndarray | None") -> float:
    """EMBED_WEIGHT * cosine + the rest * Jaccard of the signature words; 1.0 for equal signatures."""
    if sig_a == sig_b:
        return 1.0
    words_a, words_b = _words_of(sig_a), _words_of(sig_b)
    union = words_a | words_b
    jaccard = len(words_a & words_b) / len(union) if union else 0.0
    if vec_a is None or vec_b is None or len(vec_a) != len(vec_b):
        return jaccard
    cosine = float((vec_a * vec_b).sum())
    return EMBED_WEIGHT * cosine + (1.0 - EMBED_WEIGHT) * jaccard


def threshold_for(embedder: str) -> float:
    """The grouping threshold for vectors made by the embedder named `embedder`."""
    return THRESHOLD if embedder.startswith("hashed") else MINILM_THRESHOLD


def assign(tool: str, sig: str, vector: "numpy.ndarray | None", groups: Sequence[GroupKey],
           threshold: float = THRESHOLD) -> tuple[str | None, float]:
    """The id of the group this report belongs to (None: a new problem) and its score.

    Reports naming two different tools are never one problem.
    """
    best_id, best = None, 0.0
    tool = tool.strip().lower()
    for group in groups:
        if tool and group.tool and tool != group.tool.lower():
            continue
        score = similarity(sig, vector, group.signature, group.vector)
        if score > best:
            best_id, best = group.id, score
    return (best_id, best) if best >= threshold else (None, best)


def embed_texts(texts: Sequence[str]) -> tuple["numpy.ndarray", str]:
    """Vectors for `texts` (rows L2-normalized) and the embedder's name."""
    from once.learn.embed import default_embedder

    embedder = default_embedder()
    return embedder.embed(list(texts)), embedder.name
