"""Text embeddings that work offline: a MiniLM ONNX model when the `embeddings` extra is
installed, otherwise a hashed character n-gram + word embedding in pure numpy.

Every embedder returns float32 rows, L2-normalized (an empty text is a zero row), so a dot
product is the cosine similarity. numpy is imported inside functions: `agent --help`
imports the CLI, which must stay light.
"""

from __future__ import annotations

import re
import zlib
from typing import TYPE_CHECKING, Any, Protocol, Sequence, runtime_checkable

if TYPE_CHECKING:  # pragma: no cover
    import numpy


@runtime_checkable
class Embedder(Protocol):
    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> "numpy.ndarray": ...


# Words that carry no topic: without an IDF (the embedding must be stateless) they would
# dominate the word features of short texts.
_STOPWORDS = frozenset(
    """a an the and or but if then else of to in on at by for with from into onto as is are
    was were be been being it its this that these those there here i you he she we they me
    my your our their them us do does did done doing have has had having not no so too very
    can could should would will shall may might must just also than when while which who
    whom what where why how all any some such only own same other more most each few both
    about above below after before again further once up down out off over under""".split()
)

_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)
_MASK32 = (1 << 32) - 1


def normalize_text(text: str) -> str:
    """Lowercase, punctuation to single spaces: the form both hashed views read."""
    return _NON_WORD.sub(" ", text.lower()).strip()


class HashedNgramEmbedder:
    """Deterministic, stateless embedding: signed feature hashing of character 3-5-grams
    (typos, inflections, identifiers) and word unigrams + bigrams (topic, phrasing), each
    with sublinear term frequency, each view normalized before they are mixed."""

    def __init__(
        self,
        dim: int = 512,
        ngram_range: tuple[int, int] = (3, 5),
        char_weight: float = 1.0,
        word_weight: float = 1.0,
        bigram_weight: float = 0.5,
    ) -> None:
        self.dim = dim
        self.ngram_range = ngram_range
        self.weights = (char_weight, word_weight, bigram_weight)
        self.name = f"hashed-ngram-{dim}"

    def embed(self, texts: Sequence[str]) -> "numpy.ndarray":
        import numpy as np

        normalized = [normalize_text(t) for t in texts]
        n = len(normalized)
        out = np.zeros((n, self.dim), dtype=np.float32)
        if n == 0:
            return out
        views = (
            _char_view(normalized, self.dim, self.ngram_range),
            *_word_views(normalized, self.dim),
        )
        for weight, view in zip(self.weights, views):
            if weight:
                out += np.float32(weight) * _l2_rows(view)
        return _l2_rows(out)


def _l2_rows(matrix: "numpy.ndarray") -> "numpy.ndarray":
    import numpy as np

    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.where(norms > 0, norms, 1.0)).astype(np.float32, copy=False)


def _mix(h: "numpy.ndarray") -> "numpy.ndarray":
    """A 32-bit finalizer (murmur3 fmix32) so nearby polynomial hashes spread out."""
    import numpy as np

    h = h.astype(np.uint64) & np.uint64(_MASK32)
    h ^= h >> np.uint64(16)
    h = (h * np.uint64(0x85EBCA6B)) & np.uint64(_MASK32)
    h ^= h >> np.uint64(13)
    h = (h * np.uint64(0xC2B2AE35)) & np.uint64(_MASK32)
    h ^= h >> np.uint64(16)
    return h


def _accumulate(docs: "numpy.ndarray", hashes: "numpy.ndarray", n: int, dim: int) -> "numpy.ndarray":
    """Signed hashing into (n, dim), then sublinear tf: sign(x) * (1 + log|x|)."""
    import numpy as np

    h = _mix(hashes)
    bucket = (h % np.uint64(dim)).astype(np.int64)
    sign = np.where((h >> np.uint64(31)) & np.uint64(1), -1.0, 1.0)
    flat = np.bincount(docs * dim + bucket, weights=sign, minlength=n * dim)
    counts = flat.reshape(n, dim)
    mag = np.abs(counts)
    return np.where(mag > 0, np.sign(counts) * (1.0 + np.log(np.maximum(mag, 1.0))), 0.0)


def _char_view(texts: list[str], dim: int, ngram_range: tuple[int, int]) -> "numpy.ndarray":
    """Character n-grams of ' text ' computed for all texts at once over one byte array."""
    import numpy as np

    n = len(texts)
    encoded = [f" {t} ".encode("utf-8") if t else b"" for t in texts]
    lengths = np.fromiter((len(e) for e in encoded), dtype=np.int64, count=n)
    data = np.frombuffer(b"".join(encoded), dtype=np.uint8).astype(np.uint64)
    doc_of = np.repeat(np.arange(n, dtype=np.int64), lengths)
    lo, hi = ngram_range
    docs_parts, hash_parts = [], []
    rolling = np.zeros(len(data), dtype=np.uint64)
    for size in range(1, hi + 1):
        # rolling[i] = hash of data[i : i + size]
        m = len(data) - size + 1
        if m <= 0:
            break
        rolling = (rolling[:m] * np.uint64(1000003) + data[size - 1 : size - 1 + m]) & np.uint64(_MASK32)
        if size < lo:
            continue
        valid = doc_of[:m] == doc_of[size - 1 : size - 1 + m]
        docs_parts.append(doc_of[:m][valid])
        hash_parts.append(rolling[valid] ^ np.uint64(size * 0x9E3779B1 & _MASK32))
    if not docs_parts:
        return np.zeros((n, dim))
    return _accumulate(np.concatenate(docs_parts), np.concatenate(hash_parts), n, dim)


def _word_views(texts: list[str], dim: int) -> tuple["numpy.ndarray", "numpy.ndarray"]:
    """Word unigrams and bigrams (stopwords dropped), hashed with crc32 per distinct word."""
    import numpy as np

    n = len(texts)
    words: list[str] = []
    docs: list[int] = []
    for i, text in enumerate(texts):
        kept = [w for w in text.split() if w not in _STOPWORDS]
        words.extend(kept)
        docs.extend([i] * len(kept))
    if not words:
        return np.zeros((n, dim)), np.zeros((n, dim))
    uniq, inverse = np.unique(np.array(words, dtype=object), return_inverse=True)
    uniq_hash = np.fromiter((zlib.crc32(w.encode("utf-8")) for w in uniq), dtype=np.uint64, count=len(uniq))
    word_hash = uniq_hash[inverse]
    doc_arr = np.array(docs, dtype=np.int64)
    unigrams = _accumulate(doc_arr, word_hash, n, dim)
    same_doc = doc_arr[:-1] == doc_arr[1:]
    pair = (word_hash[:-1] * np.uint64(0x01000193) ^ (word_hash[1:] + np.uint64(0x7F4A7C15))) & np.uint64(_MASK32)
    bigrams = _accumulate(doc_arr[:-1][same_doc], pair[same_doc], n, dim)
    return unigrams, bigrams


def default_embedder() -> Embedder:
    """MiniLM (ONNX) when the optional `embeddings` extra is installed, else hashed n-grams."""
    try:
        from once.learn.minilm import MiniLMEmbedder, minilm_available
    except ImportError:
        return HashedNgramEmbedder()
    if minilm_available():
        try:
            return MiniLMEmbedder()
        except Exception:  # a broken optional install must not break learning
            return HashedNgramEmbedder()
    return HashedNgramEmbedder()


def top_k(query: "numpy.ndarray", matrix: "numpy.ndarray", k: int) -> list[tuple[int, float]]:
    """The k rows of `matrix` most similar (cosine, rows normalized) to `query`, best first;
    ties broken by the lower index so results are deterministic."""
    import numpy as np

    if k <= 0 or len(matrix) == 0:
        return []
    scores = np.asarray(matrix, dtype=np.float32) @ np.asarray(query, dtype=np.float32).reshape(-1)
    k = min(k, len(scores))
    order = np.lexsort((np.arange(len(scores)), -scores))[:k]
    return [(int(i), float(scores[i])) for i in order]


def vector_to_blob(vector: "numpy.ndarray") -> bytes:
    """A float32 row as bytes, for an SQLite BLOB column."""
    import numpy as np

    return np.asarray(vector, dtype=np.float32).reshape(-1).tobytes()


def blob_to_vector(blob: bytes) -> "numpy.ndarray":
    import numpy as np

    return np.frombuffer(blob, dtype=np.float32).copy()


def embedder_by_name(name: str) -> Any:
    """The embedder that produced vectors stored under `name` (stored vectors from a
    different embedder must be recomputed, not compared)."""
    if name.startswith("hashed-ngram-"):
        return HashedNgramEmbedder(dim=int(name.rsplit("-", 1)[1]))
    from once.learn.minilm import MiniLMEmbedder

    return MiniLMEmbedder()
