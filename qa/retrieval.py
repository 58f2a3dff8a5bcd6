"""Retrieval down to single lines: rankers (dense: the index's embeddings in Chroma, queried
through llama-index's vector store; keyword: BM25 over the index's keyword postings), composed by
rank fusion. Lines' text, for the answerers and for neighbours, is read from the keyword index
as a question needs it; nothing here holds the corpus in memory."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.vector_stores.types import VectorStoreQuery

from index import ChunkStore, KeywordStore, join_pieces
from index.text import terms

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

    def rank(self, query: str, depth: int) -> list[tuple[Address, float]]: ...


class DenseRanker:
    """The index's embeddings in Chroma, queried through llama-index's vector store; the
    score is the cosine similarity to the question. Only lines of documents the keyword
    index holds in the same version are ranked: a document whose writing was cut short (or
    that the keyword side has not caught up with) is not served."""

    name = "dense"

    def __init__(self, store: ChunkStore, embed_model: BaseEmbedding, keywords: KeywordStore):
        self.store = store
        self.embed_model = embed_model
        self.keywords = keywords
        self.size = 1  # chunks in the collection, as last counted (the query's upper bound)

    def rank(self, query: str, depth: int) -> list[tuple[Address, float]]:
        vector = self.embed_model.get_query_embedding(query)
        found = self.store.vector_store.query(
            VectorStoreQuery(query_embedding=vector, similarity_top_k=min(depth, self.size))
        )
        held = self.keywords.documents()
        best: dict[Address, float] = {}
        for node, sim in zip(found.nodes or [], found.similarities or [], strict=False):
            source = str(node.metadata["source"])
            if held.get(source) != node.metadata.get("doc_hash"):
                continue
            key = (source, int(node.metadata["line_start"]))
            # ChromaVectorStore reports exp(-distance); cosine distance = 1 - cosine.
            best.setdefault(key, 1.0 + float(np.log(max(sim, 1e-12))))  # a line's best piece
        return list(best.items())


class KeywordRanker:
    """BM25 over every stored piece of a line (the index's keyword postings, `index.keywords`);
    a line's score is its best piece's."""

    name = "keyword"

    def __init__(self, keywords: KeywordStore) -> None:
        self.keywords = keywords

    def rank(self, query: str, depth: int) -> list[tuple[Address, float]]:
        best: dict[Address, float] = {}
        for hit in self.keywords.search(terms(query), depth):
            best.setdefault((hit.source, hit.line), hit.score)
        return list(best.items())


RANKERS = {"hybrid": ("dense", "keyword"), "dense": ("dense",), "keyword": ("keyword",)}


class HybridRetriever:
    """Ranks lines for a question by fusing rankers (dense and keyword unless told
    otherwise: `Settings.retrieval`). Before ranking it makes sure the keyword index holds
    the same documents as the vectors (`KeywordStore.sync`): once when it opens, and again
    whenever the collection's count changes, which is checked at most every `FRESHNESS_S`
    seconds (counting costs ~10 ms at 100k chunks)."""

    def __init__(
        self,
        store: ChunkStore,
        embed_model: BaseEmbedding,
        kind: str = "hybrid",
        *,
        keywords: KeywordStore,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        if kind not in RANKERS:
            raise ValueError(f"unknown retrieval {kind!r}: use {', '.join(RANKERS)}")
        self.store = store
        self.embed_model = embed_model
        self.keywords = keywords
        self._notify = notify or (lambda message: None)
        self._dense = DenseRanker(store, embed_model, keywords)
        every: dict[str, Ranker] = {"dense": self._dense, "keyword": KeywordRanker(keywords)}
        self.rankers = [every[name] for name in RANKERS[kind]]
        self._count = -1
        self._checked = 0.0
        self._lock = threading.Lock()

    def in_step(self) -> int:
        """Bring the keyword index level with the vectors if the collection changed; returns
        the collection's chunk count."""
        with self._lock:
            now = time.monotonic()
            if self._count >= 0 and now - self._checked < FRESHNESS_S:
                return self._count
            count = self.store.count()
            self._checked = now
            if count != self._count:
                self.keywords.sync(self.store, self._notify, self._progress)
                self._count = count
                self._dense.size = max(count, 1)
            return count

    def _progress(self, done: int, total: int) -> None:
        if total >= 20 and (done == total or done % max(total // 10, 1) == 0):
            self._notify(f"keyword index: {done}/{total} documents")

    def invalidate(self) -> None:
        """This process changed the collection: check it at the next question."""
        with self._lock:
            self._count = -1

    def retrieve(self, query: str, top_k: int) -> list[LineHit]:
        """The best `top_k` lines, best first. A line split into several chunks is one hit."""
        depth = max(top_k * 4, 20)
        if self.in_step() == 0:
            return []
        hits: dict[Address, LineHit] = {}
        rankings: list[dict[Address, int]] = []
        for ranker in self.rankers:
            ranked = ranker.rank(query, depth)
            rankings.append({key: i for i, (key, _) in enumerate(ranked)})
            for key, score in ranked:
                hit = hits.setdefault(key, LineHit(key[0], key[1], ""))
                setattr(hit, ranker.name, score)
        for key, score in fuse(*rankings).items():
            hits[key].fused = score
        ranked_hits = sorted(hits.values(), key=lambda h: -h.fused)[:top_k]
        texts = self.keywords.lines_pieces((hit.source, hit.line) for hit in ranked_hits)
        for rank, hit in enumerate(ranked_hits):
            hit.rank = rank
            pieces = texts.get((hit.source, hit.line), [])
            hit.text = _joined(pieces)
            hit.layout = pieces[0][2] if pieces else ""
        return ranked_hits

    def neighbours(self, source: str, line: int, reach: int = 3) -> tuple[str, str]:
        """The nearest stored lines before and after a line (blank lines are not stored), so
        a reader can resolve "he" or "the attack" from the text around it."""
        near = self.keywords.pieces(source, max(line - reach, 1), line + reach)
        before = [n for n in near if n < line]
        after = [n for n in near if n > line]
        return (
            _joined(near[max(before)]) if before else "",
            _joined(near[min(after)]) if after else "",
        )

    def line_text(self, source: str, line: int) -> str | None:
        pieces = self.keywords.pieces(source, line, line).get(line)
        return _joined(pieces) if pieces else None


def _joined(pieces: list[tuple[int, str, str]]) -> str:
    return join_pieces([(col, text) for col, text, _ in pieces])
