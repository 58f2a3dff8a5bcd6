"""Retrieval down to single lines: rankers (dense: the index's embeddings in Chroma, queried
through llama-index's vector store; keyword: BM25 via bm25s), composed by rank fusion."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

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


Address = tuple[str, int]  # (source, line)


def fuse(*rankings: dict[Address, int]) -> dict[Address, float]:
    """Reciprocal rank fusion of rankings (address -> 0-based rank): each ranking adds
    1 / (RRF_K + rank + 1). Written out: llama-index's QueryFusionRetriever does the same but
    runs its retrievers through an async event loop per query, which costs more than the
    whole query here."""
    fused: dict[tuple[str, int], float] = {}
    for ranks in rankings:
        for key, rank in ranks.items():
            fused[key] = fused.get(key, 0.0) + 1.0 / (RRF_K + rank + 1)
    return fused


class Ranker(Protocol):
    """One way of ranking lines for a query: the best `depth` addresses, best first, each
    with its own score. Rankers are fused, never used alone by the answerer."""

    name: str

    def rank(self, query: str, depth: int, lines: KeywordIndex) -> list[tuple[Address, float]]: ...


class DenseRanker:
    """The index's embeddings in Chroma, queried through llama-index's vector store; the
    score is the cosine similarity to the question."""

    name = "dense"

    def __init__(self, store: ChunkStore, embed_model: BaseEmbedding) -> None:
        self.store = store
        self.embed_model = embed_model

    def rank(self, query: str, depth: int, lines: KeywordIndex) -> list[tuple[Address, float]]:
        vector = self.embed_model.get_query_embedding(query)
        found = self.store.vector_store.query(
            VectorStoreQuery(query_embedding=vector, similarity_top_k=min(depth, lines.n_docs))
        )
        best: dict[Address, float] = {}
        for node, sim in zip(found.nodes or [], found.similarities or [], strict=False):
            key = (str(node.metadata["source"]), int(node.metadata["line_start"]))
            if key not in lines.lines:
                continue  # a document whose writing was cut short is not served (iter_chunks)
            # ChromaVectorStore reports exp(-distance); cosine distance = 1 - cosine.
            best.setdefault(key, 1.0 + float(np.log(max(sim, 1e-12))))  # a line's best piece
        return list(best.items())


class KeywordRanker:
    """BM25 (bm25s) over every chunk; the score is the chunk's BM25 score."""

    name = "keyword"

    def rank(self, query: str, depth: int, lines: KeywordIndex) -> list[tuple[Address, float]]:
        best: dict[Address, float] = {}
        for doc, score in lines.search(terms(query), depth):
            best.setdefault(lines.addresses[doc], score)
        return list(best.items())


RANKERS = {"hybrid": ("dense", "keyword"), "dense": ("dense",), "keyword": ("keyword",)}


class HybridRetriever:
    """Ranks lines for a question by fusing rankers (dense and keyword unless told
    otherwise: `Settings.retrieval`). The keyword index, which also holds every line's text
    for the rankers and the reader, is rebuilt only when the collection's size changes (an
    ingest happened), so its cost is paid once, not per query."""

    def __init__(self, store: ChunkStore, embed_model: BaseEmbedding, kind: str = "hybrid") -> None:
        if kind not in RANKERS:
            raise ValueError(f"unknown retrieval {kind!r}: use {', '.join(RANKERS)}")
        self.store = store
        self.embed_model = embed_model
        every: dict[str, Ranker] = {
            "dense": DenseRanker(store, embed_model),
            "keyword": KeywordRanker(),
        }
        self.rankers = [every[name] for name in RANKERS[kind]]
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
        if keyword.n_docs == 0:
            return []
        hits: dict[Address, LineHit] = {}
        rankings: list[dict[Address, int]] = []
        for ranker in self.rankers:
            ranked = ranker.rank(query, depth, keyword)
            rankings.append({key: i for i, (key, _) in enumerate(ranked)})
            for key, score in ranked:
                hit = hits.setdefault(key, LineHit(key[0], key[1], ""))
                setattr(hit, ranker.name, score)
        for key, score in fuse(*rankings).items():
            hits[key].fused = score
        ranked_hits = sorted(hits.values(), key=lambda h: -h.fused)[:top_k]
        self._fill_text(ranked_hits, keyword)
        for rank, hit in enumerate(ranked_hits):
            hit.rank = rank
        return ranked_hits

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
