"""The keyword side of the index: every stored line's BM25 postings, kept with the store, so
that a question needs neither a BM25 build nor a copy of the corpus in memory.

Two homes, one behaviour (`KeywordStore`):
- an embedded index keeps them in a SQLite file beside the Chroma folder (`sqlite.py`);
- behind a Chroma server they live in the server, in a companion collection of the index's
  collection (`chroma.py`), so that every client on every machine searches the same postings
  and none builds or copies them.

What was measured before choosing (docs/benchmarks.md): Chroma's own sparse (BM25) index is
refused by its embedded and single-node server builds ("Sparse vector indexing is not
enabled in local"), and its full-text filter (`$contains`) matches substrings without
scores. SQLite FTS5 ranks by BM25 itself but scores every row that holds any query term: at
200k synthetic lines, where each term is in a tenth of them, a question took 180-420 ms.
bm25s is fast because it scores from precomputed matrices, but holds them in memory and
cannot change one document without rebuilding all. So both homes keep postings records
keyed by term (the pieces that hold it, term counts and lengths, packed: per document in the
file, per segment in the server), and a question reads only the records of its own terms and
scores them with numpy, with the same formula as bm25s (Lucene's BM25, k1 1.5, b 0.75), so
rankings are those it gave. Written by hand for that reason; SQLite or Chroma does the
storage.

Both are derived from the vector store and kept in step with it by document: each holds a
record of (source, content hash) for every document whose postings it holds, written after
them, so a document is searched entirely or not at all. `sync` compares that with the store's
manifest (the documents whose every chunk is stored) and adds or drops exactly the documents
that differ, reading only those from the store. Ingest writes each document as soon as its
vectors are complete and syncs at its end, under the writer's lock; a reader syncs when it
opens the index and whenever the store's count changes, so it never ranks lines the vectors
do not hold (after a kill mid-ingest, the first open repairs it).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from index.config import IndexConfig
from index.text import terms

if TYPE_CHECKING:
    from index.store import ChunkStore, DocEntry, StoredChunk

# BM25 as bm25s computes it by default (Lucene's variant).
K1 = 1.5
B = 0.75


@dataclass(frozen=True)
class KeywordHit:
    source: str
    line: int
    score: float  # BM25, higher is better


def keywords_path(config: IndexConfig) -> Path:
    """The keyword file of an embedded index: beside its Chroma folder."""
    return config.data_dir / f"{config.collection}.keywords.sqlite3"


def bm25(
    postings: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]],
    n_pieces: int,
    mean_length: float,
    k: int,
) -> list[tuple[int, float]]:
    """The best `k` pieces as (piece key, score), best first, from each query term's
    postings: (piece keys, term counts, piece lengths), one triple per term."""
    all_keys, all_scores = [], []
    for keys, tf, dl in postings:
        df = len(keys)
        if df == 0:
            continue
        idf = math.log(1 + (n_pieces - df + 0.5) / (df + 0.5))
        all_keys.append(keys)
        all_scores.append(idf * tf / (K1 * ((1 - B) + B * dl / mean_length) + tf))
    if not all_keys or k <= 0:
        return []
    keys = np.concatenate(all_keys)
    weights = np.concatenate(all_scores)
    unique: np.ndarray | None = None
    if int(keys.max()) < 4 * n_pieces + 4096:  # dense keys (row ids): sum by key directly
        scores = np.bincount(keys, weights=weights)
    else:
        unique, where = np.unique(keys, return_inverse=True)
        scores = np.bincount(where, weights=weights)
    top = min(k, int(np.count_nonzero(scores)))
    if top == 0:
        return []
    best = np.argpartition(-scores, top - 1)[:top]
    best = best[np.argsort(-scores[best], kind="stable")]
    chosen = best if unique is None else unique[best]
    return [(int(c), float(scores[b])) for c, b in zip(chosen, best, strict=True) if scores[b] > 0]


def piece_postings(
    chunks: Iterable[StoredChunk],
) -> tuple[list[StoredChunk], dict[str, list[tuple[int, int, int]]], int]:
    """A document's pieces, and for each term the (piece number, count, piece length) of
    the pieces that hold it, and the document's length in terms (BM25's dl summed)."""
    pieces = list(chunks)
    postings: dict[str, list[tuple[int, int, int]]] = {}
    length = 0
    for number, chunk in enumerate(pieces):
        found = terms(chunk.text)
        size = max(len(found), 1)  # as bm25s counts an empty piece
        for term, count in Counter(found).items():
            postings.setdefault(term, []).append((number, count, size))
        length += size
    return pieces, postings, length


class KeywordStore(ABC):
    """BM25 over every line of every complete document, and the lines' text, read as a
    question needs them."""

    damaged = False  # a damaged keyword index was set aside on open

    @classmethod
    def open(cls, config: IndexConfig) -> KeywordStore:
        """The keyword index of this collection: in the Chroma server when there is one,
        else in a file beside the embedded store."""
        if config.chroma_url:
            from index.keywords.chroma import ChromaKeywords

            return ChromaKeywords.open(config)
        from index.keywords.sqlite import SqliteKeywords

        return SqliteKeywords.open(config)

    # -- what each home provides ---------------------------------------------------------

    @abstractmethod
    def documents(self) -> Mapping[str, str]:
        """The documents held: source -> content hash. Kept until the index is written (here
        or, after `_forget`, by another process); never changed in place."""

    @abstractmethod
    def put(self, source: str, doc_hash: str, chunks: Iterable[StoredChunk]) -> None:
        """Replace a document's postings with these; readers see the old or the new, whole."""

    @abstractmethod
    def remove(self, source: str) -> None: ...

    def flush(self) -> None:  # noqa: B027 - most stores write at once: nothing to do
        """Write what `put` may have queued (a store that writes in batches)."""

    @abstractmethod
    def discard(self) -> None:
        """Delete the whole keyword index: the index it mirrors was dropped."""

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def search(self, query_terms: list[str], k: int) -> list[KeywordHit]:
        """The best `k` pieces by BM25, best first; a line split in pieces may appear more
        than once. Reads the postings of the query's terms only."""

    @abstractmethod
    def pieces(self, source: str, first: int, last: int) -> dict[int, list[tuple[int, str, str]]]:
        """The stored pieces of a held document's lines `first`..`last`: line -> (column,
        text, layout) pieces."""

    def lines_pieces(
        self, addresses: Iterable[tuple[str, int]]
    ) -> dict[tuple[str, int], list[tuple[int, str, str]]]:
        """The pieces of several lines at once ((source, line) -> pieces), for a store where
        each read is a round trip."""
        out = {}
        for source, line in addresses:
            found = self.pieces(source, line, line).get(line)
            if found:
                out[(source, line)] = found
        return out

    @abstractmethod
    def _forget(self) -> None:
        """Drop what is cached: the index may have been written by another process."""

    # -- keeping in step with the vectors ------------------------------------------------

    def out_of_step(self, manifest: dict[str, DocEntry]) -> tuple[list[str], list[DocEntry]]:
        """What differs from the store: sources to drop, documents to (re)write."""
        self.flush()
        self._forget()
        held = self.documents()
        drop = [s for s, h in held.items() if s not in manifest or manifest[s].doc_hash != h]
        add = [e for s, e in manifest.items() if held.get(s) != e.doc_hash]
        return drop, add

    def sync(
        self,
        store: ChunkStore,
        announce: Callable[[str], None] | None = None,
        advance: Callable[[int, int], None] | None = None,
    ) -> int:
        """Bring the index level with the store's complete documents: drop what the store no
        longer holds, write what it holds and the index lacks, a document at a time.
        `announce` is told once, in a line, when there is work; `advance(done, total)` as
        each document lands. Returns the number of documents changed."""
        drop, add = self.out_of_step(store.manifest())
        if not drop and not add:
            return 0
        if announce is not None:
            announce(
                f"bringing the keyword index up to date: {len(add)} document(s) to add, "
                f"{len(drop)} to remove"
            )
        for source in drop:
            self.remove(source)
        for done, entry in enumerate(add, 1):
            chunks = store.document_chunks(entry.source, entry.doc_hash)
            self.put(entry.source, entry.doc_hash, chunks)
            if advance is not None:
                advance(done, len(add))
        self.flush()
        return len(drop) + len(add)
