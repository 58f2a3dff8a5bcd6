"""Hybrid retrieval down to single lines: dense (the index's embeddings in Chroma, queried
through llama-index's vector store) plus keyword (BM25 via bm25s), fused by rank."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import bm25s
import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.vector_stores.types import VectorStoreQuery

from index import ChunkStore, join_pieces
from qa.text import idf, terms

FRESHNESS_S = 2.0
RRF_K = 60  # the constant from Cormack et al. (2009); rank fusion is robust to it


@dataclass
class LineHit:
    """A retrieved line, with the evidence that ranked it."""

    source: str
    line: int
    text: str
    fused: float = 0.0
    dense: float = 0.0  # cosine similarity to the question, 0 when only keywords found it
    keyword: float = 0.0  # BM25 score, 0 when only the dense side found it
    rank: int = 0
    layout: str = ""  # paged formats: where the line sits (index.layout)

    @property
    def key(self) -> tuple[str, int]:
        return (self.source, self.line)


@dataclass
class KeywordIndex:
    """BM25 over every chunk, built once per index version (never per query)."""

    bm25: bm25s.BM25 | None
    ids: list[str]
    addresses: list[tuple[str, int]]
    lines: dict[tuple[str, int], list[tuple[int, str]]]  # address -> (column, piece text)
    df: Counter[str] = field(default_factory=Counter)
    layouts: dict[tuple[str, int], str] = field(default_factory=dict)  # paged formats only

    @property
    def n_docs(self) -> int:
        return len(self.ids)

    def idf(self, term: str) -> float:
        return idf(self.df.get(term, 0), max(self.n_docs, 1))

    @classmethod
    def build(cls, store: ChunkStore) -> KeywordIndex:
        ids: list[str] = []
        addresses: list[tuple[str, int]] = []
        tokens: list[list[str]] = []
        lines: dict[tuple[str, int], list[tuple[int, str]]] = {}
        df: Counter[str] = Counter()
        layouts: dict[tuple[str, int], str] = {}
        for chunk in store.iter_chunks():
            if chunk.layout:
                layouts[(chunk.source, chunk.line)] = chunk.layout
            ids.append(chunk.id)
            addresses.append((chunk.source, chunk.line))
            lines.setdefault((chunk.source, chunk.line), []).append((chunk.col_start, chunk.text))
            toks = terms(chunk.text)
            tokens.append(toks or ["\x00"])  # bm25s rejects empty documents
            df.update(set(toks))
        bm25 = None
        if ids:
            bm25 = bm25s.BM25()
            bm25.index(tokens, show_progress=False)
        return cls(bm25=bm25, ids=ids, addresses=addresses, lines=lines, df=df, layouts=layouts)

    def search(self, query_terms: list[str], k: int) -> list[tuple[int, float]]:
        known = [t for t in query_terms if t in self.df]
        if self.bm25 is None or not known:
            return []
        k = min(k, self.n_docs)
        docs, scores = self.bm25.retrieve([known], k=k, show_progress=False, n_threads=1)
        return [(int(d), float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]


def fuse(*rankings: dict[tuple[str, int], int]) -> dict[tuple[str, int], float]:
    """Reciprocal rank fusion of rankings (address -> 0-based rank): each ranking adds
    1 / (RRF_K + rank + 1). Written out: llama-index's QueryFusionRetriever does the same but
    runs its retrievers through an async event loop per query, which costs more than the
    whole query here."""
    fused: dict[tuple[str, int], float] = {}
    for ranks in rankings:
        for key, rank in ranks.items():
            fused[key] = fused.get(key, 0.0) + 1.0 / (RRF_K + rank + 1)
    return fused


class HybridRetriever:
    """Ranks lines for a question. The keyword index is rebuilt only when the collection's
    size changes (an ingest happened), so its cost is paid once, not per query."""

    def __init__(self, store: ChunkStore, embed_model: BaseEmbedding) -> None:
        self.store = store
        self.embed_model = embed_model
        self._keyword: KeywordIndex | None = None
        self._keyword_count = -1
        self._checked = 0.0
        self._lock = threading.Lock()

    def keyword_index(self) -> KeywordIndex:
        """The keyword index for the collection as it is now. Changes made through this
        process invalidate it at once; changes by another process (a `qa index` run beside a
        chat page) are noticed by the chunk count, checked at most every `FRESHNESS_S`
        seconds because counting costs ~10 ms at 100k chunks, a third of a whole answer."""
        with self._lock:
            now = time.monotonic()
            if self._keyword is not None and now - self._checked < FRESHNESS_S:
                return self._keyword
            count = self.store.count()
            self._checked = now
            if self._keyword is None or count != self._keyword_count:
                self._keyword = KeywordIndex.build(self.store)
                self._keyword_count = count
            return self._keyword

    def invalidate(self) -> None:
        with self._lock:
            self._keyword = None

    def retrieve(self, query: str, top_k: int) -> list[LineHit]:
        """The best `top_k` lines, best first. A line split into several chunks is one hit."""
        depth = max(top_k * 4, 20)
        keyword = self.keyword_index()
        hits: dict[tuple[str, int], LineHit] = {}
        if keyword.n_docs == 0:
            return []

        vector = self.embed_model.get_query_embedding(query)
        dense = self.store.vector_store.query(
            VectorStoreQuery(query_embedding=vector, similarity_top_k=min(depth, keyword.n_docs))
        )
        dense_rank: dict[tuple[str, int], int] = {}
        for node, sim in zip(dense.nodes or [], dense.similarities or [], strict=False):
            key = (str(node.metadata["source"]), int(node.metadata["line_start"]))
            # ChromaVectorStore reports exp(-distance); cosine distance = 1 - cosine.
            cosine = 1.0 + float(np.log(max(sim, 1e-12)))
            hit = hits.setdefault(key, LineHit(key[0], key[1], ""))
            hit.dense = max(hit.dense, cosine)
            dense_rank.setdefault(key, len(dense_rank))

        keyword_rank: dict[tuple[str, int], int] = {}
        for doc, score in keyword.search(terms(query), depth):
            key = keyword.addresses[doc]
            hit = hits.setdefault(key, LineHit(key[0], key[1], ""))
            hit.keyword = max(hit.keyword, score)
            keyword_rank.setdefault(key, len(keyword_rank))

        for key, score in fuse(dense_rank, keyword_rank).items():
            hits[key].fused = score
        ranked = sorted(hits.values(), key=lambda h: -h.fused)[:top_k]
        self._fill_text(ranked, keyword)
        for rank, hit in enumerate(ranked):
            hit.rank = rank
        return ranked

    def _fill_text(self, hits: list[LineHit], keyword: KeywordIndex) -> None:
        """Whole line texts: a long line's pieces are joined back together."""
        for hit in hits:
            hit.text = join_pieces(keyword.lines.get(hit.key, []))
            hit.layout = keyword.layouts.get(hit.key, "")

    def current_keyword_index(self) -> KeywordIndex:
        """The keyword index the last query used: answering that query looks words and
        neighbouring lines up in it without re-checking the collection each time."""
        return self._keyword or self.keyword_index()

    def neighbours(self, source: str, line: int, reach: int = 3) -> tuple[str, str]:
        """The nearest stored lines before and after a line (blank lines are not stored), so
        a reader can resolve "he" or "the attack" from the text around it."""
        before = after = ""
        for step in range(1, reach + 1):
            if not before and line - step >= 1:
                before = self.line_text(source, line - step) or ""
            if not after:
                after = self.line_text(source, line + step) or ""
        return before, after

    def line_text(self, source: str, line: int) -> str | None:
        parts = self.current_keyword_index().lines.get((source, line))
        return join_pieces(parts) if parts else None
