"""The keyword index behind a Chroma server: the postings live in the server, in a companion
collection named after the index's (`<collection>-keywords`), so that every client on every
machine searches the same postings and none builds or copies them (see `index.keywords` for
why postings, and how they are kept in step with the vectors).

Read by id, never by a metadata filter: a Chroma server answers `get(ids=...)` in a few
milliseconds, while a `where` filter costs about a tenth of a millisecond per record it
matches (measured at 200k lines: docs/benchmarks.md). So postings are kept in segments, as
a search engine keeps them, and a question reads one record per term and segment:

- a segment (written by one `flush`: an ingest's documents, or the ones a sync brought
  level) holds, for each term, one record `s:<segment>:<term>` of packed `_ENTRY` postings
  (document slot, piece number, count, length), and a header `h:<segment>` naming its
  slots' (source, content hash). Segments are never changed, only deleted whole, so clients
  writing at once cannot undo each other's postings;
- each document has a record `d:<source key>` (source, hash, pieces, length, the segment
  that holds its postings; its document is each piece's line number, packed), written after
  its segment. A search counts a posting only when its document's record names that
  segment and version: a document rewritten, removed, or written twice (two clients
  repairing at once) is searched once, in the version the record names, and what is no
  longer named is garbage that `_collect` deletes (and merges once there are many segments).

Line text for neighbours and quotes is read from the index's own collection by chunk id (a
piece number is its chunk's place in the document: `index.chunking.chunk_id`).
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import uuid
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from index.chunking import chunk_id, source_key
from index.config import IndexConfig
from index.errors import StoreUnavailableError, store_failure
from index.keywords import KeywordHit, KeywordStore, bm25, piece_postings

if TYPE_CHECKING:
    from index.store import StoredChunk

SCHEMA = 1
# One posting: its document's slot in the segment, the piece's number in the document, how
# often the term is in it, the piece's length in terms.
_ENTRY = np.dtype([("slot", "<i4"), ("piece", "<i4"), ("tf", "<f4"), ("dl", "<f4")])
_POSTING = np.dtype([("piece", "<i4"), ("tf", "<f4"), ("dl", "<f4")])  # before a slot
_LINE = np.dtype("<i4")
_DOC = "doc"
_HEAD = "head"
FLUSH_PIECES = 50_000  # a segment is written once this many pieces wait (bounds memory)
MAX_SEGMENTS = 8  # more live segments than this are merged into one


def companion_name(collection: str) -> str:
    return f"{collection}-keywords"


@dataclass(frozen=True)
class _Held:
    """A document's record: the version held, the segment with its postings, and how many
    piece numbers it uses."""

    doc_hash: str
    segment: str
    span: int

    def names(self, doc_hash: str, segment: str) -> bool:
        """Whether a segment's posting of this version is what the record names."""
        return self.doc_hash == doc_hash and self.segment == segment


@dataclass(frozen=True)
class _Document:
    """A document put and not yet written: its record's fields, and for each term the
    (piece number, count, length) of its pieces that hold it."""

    doc_hash: str
    pieces: int
    length: int
    lines: np.ndarray
    postings: dict[str, np.ndarray]


@dataclass
class _Pending:
    """Documents put but not yet written: the next segment (a document put again replaces
    its earlier version)."""

    docs: dict[str, _Document] = field(default_factory=dict)
    pieces: int = 0


class ChromaKeywords(KeywordStore):
    """Postings in a collection of the Chroma server, read over HTTP as a question needs."""

    def __init__(self, config: IndexConfig, client: Any, collection: Any) -> None:
        self.config = config
        self.client = client
        self.collection = collection
        self._chunks: Any = None  # the index's own collection, opened at the first quote
        self._held: dict[str, _Held] | None = None
        self._docs: dict[str, str] = {}
        self._stats: tuple[int, float] = (0, 0.0)
        self._heads: dict[str, list[tuple[str, str]]] = {}  # segments never change: kept
        self._line_maps: dict[tuple[str, str], np.ndarray] = {}
        self._keys: tuple[list[str], np.ndarray, dict[str, np.ndarray]] | None = None
        self._pending = _Pending()
        self._lock = threading.RLock()
        self._batch = int(getattr(client, "get_max_batch_size", lambda: 1000)())

    @classmethod
    def open(cls, config: IndexConfig) -> ChromaKeywords:
        from index.store import chroma_client

        client = chroma_client(config)
        name = companion_name(config.collection)
        damaged = False
        with _failing_as_one_line(config, reading=True):
            collection = cls._companion(client, name)
            if (collection.metadata or {}).get("qa_keywords") != SCHEMA:
                # Of another version: it holds nothing the index's collection does not.
                client.delete_collection(name)
                collection = cls._companion(client, name)
                damaged = True
        store = cls(config, client, collection)
        store.damaged = damaged
        return store

    @staticmethod
    def _companion(client: Any, name: str) -> Any:
        return client.get_or_create_collection(
            name,
            metadata={"qa_keywords": SCHEMA},
            configuration={"hnsw": {"space": "l2"}},
            embedding_function=None,
        )

    def close(self) -> None:
        self.flush()

    def discard(self) -> None:
        with self._lock:
            self._pending = _Pending()
            with contextlib.suppress(Exception):  # already gone
                self.client.delete_collection(self.collection.name)
            self._forget()

    def _forget(self) -> None:
        with self._lock:
            self._held = None
            self._keys = None
            self._line_maps.clear()

    # -- reading ---------------------------------------------------------------------

    def documents(self) -> Mapping[str, str]:
        return self._documents()[0]

    def _documents(self) -> tuple[dict[str, str], dict[str, _Held]]:
        with self._lock:
            if self._held is None:
                with _failing_as_one_line(self.config, reading=True):
                    got = self.collection.get(where={"kind": _DOC}, include=["metadatas"])
                held: dict[str, _Held] = {}
                pieces = length = 0
                for meta in got["metadatas"] or []:
                    held[str(meta["source"])] = _Held(
                        str(meta["doc_hash"]), str(meta["segment"]), int(meta["span"])
                    )
                    pieces += int(meta["pieces"])
                    length += int(meta["length"])
                self._held = held
                self._docs = {source: h.doc_hash for source, h in held.items()}
                self._stats = (pieces, length / max(pieces, 1))
            return self._docs, self._held

    def search(self, query_terms: list[str], k: int) -> list[KeywordHit]:
        wanted = list(dict.fromkeys(query_terms))
        self._documents()  # read (and cached) with the collection's statistics
        n_pieces, mean_length = self._stats
        if not wanted or k <= 0 or n_pieces == 0:
            return []
        names, bases, views = self._layout()
        with _failing_as_one_line(self.config, reading=True):
            got = self.collection.get(
                ids=[f"s:{seg}:{term}" for seg in views for term in wanted],
                include=["documents"],
            )
        by_term: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
        for record_id, packed in zip(got["ids"], got["documents"] or [], strict=True):
            _, segment, term = record_id.split(":", 2)
            if segment not in views:
                continue
            entries = np.frombuffer(base64.b64decode(packed or ""), dtype=_ENTRY)
            slot_base = views[segment][entries["slot"]]
            entries, slot_base = entries[slot_base >= 0], slot_base[slot_base >= 0]
            keys = slot_base + entries["piece"]
            by_term.setdefault(term, []).append((keys, entries["tf"], entries["dl"]))
        postings = [
            (
                np.concatenate([p[0] for p in parts]),
                np.concatenate([p[1] for p in parts]),
                np.concatenate([p[2] for p in parts]),
            )
            for parts in by_term.values()
        ]
        best = bm25(postings, n_pieces, mean_length, k)
        found = [(int(np.searchsorted(bases, key, "right")) - 1, key, score) for key, score in best]
        lines = self._lines_of({names[n] for n, _, _ in found})
        return [
            KeywordHit(names[n], int(lines[names[n]][key - int(bases[n])]), score)
            for n, key, score in found
            if names[n] in lines  # else rewritten since: searched again once synced
        ]

    def _layout(self) -> tuple[list[str], np.ndarray, dict[str, np.ndarray]]:
        """Where each held document's pieces are scored: its name, the first of its keys
        (documents in a range each, [base, base + span), one key per piece number, so that
        keys are dense and scores are summed without sorting them), and for each segment its
        slots' bases (-1: garbage). The same for every question until the index is written."""
        with self._lock:
            _, held = self._documents()
            if self._keys is None:
                heads = self._heads_of(sorted({h.segment for h in held.values()}))
                names: list[str] = []
                bases: list[int] = []
                base_of: dict[str, int] = {}
                next_base = 0
                views: dict[str, np.ndarray] = {}
                for segment, slots in heads.items():
                    slot_bases = []
                    for source, doc_hash in slots:
                        record = held.get(source)
                        if record is None or not record.names(doc_hash, segment):
                            slot_bases.append(-1)
                            continue
                        if source not in base_of:
                            base_of[source] = next_base
                            names.append(source)
                            bases.append(next_base)
                            next_base += record.span
                        slot_bases.append(base_of[source])
                    views[segment] = np.array(slot_bases or [-1], dtype=np.int64)
                self._keys = (names, np.array(bases or [0], dtype=np.int64), views)
            return self._keys

    def _heads_of(self, segments: list[str]) -> dict[str, list[tuple[str, str]]]:
        """Each segment's slots: (source, hash) of the documents it was written with."""
        missing = [s for s in segments if s not in self._heads]
        if missing:
            with _failing_as_one_line(self.config, reading=True):
                got = self.collection.get(ids=[f"h:{s}" for s in missing], include=["documents"])
            for record_id, slots in zip(got["ids"], got["documents"] or [], strict=True):
                self._heads[record_id[2:]] = [(s, h) for s, h in json.loads(slots or "[]")]
        return {s: self._heads[s] for s in segments if s in self._heads}

    def pieces(self, source: str, first: int, last: int) -> dict[int, list[tuple[int, str, str]]]:
        lines = self._lines_of({source}).get(source)
        if lines is None:
            return {}
        numbers = np.flatnonzero((lines >= first) & (lines <= last))
        found = self._read({source: [int(n) for n in numbers]})
        return {line: parts for (_, line), parts in sorted(found.items())}

    def lines_pieces(
        self, addresses: Iterable[tuple[str, int]]
    ) -> dict[tuple[str, int], list[tuple[int, str, str]]]:
        wanted = list(addresses)
        maps = self._lines_of({source for source, _ in wanted})
        numbers: dict[str, list[int]] = {}
        for source, line in wanted:
            if source in maps:
                found = np.flatnonzero(maps[source] == line)
                numbers.setdefault(source, []).extend(int(n) for n in found)
        return self._read(numbers)

    def _read(
        self, numbers: dict[str, list[int]]
    ) -> dict[tuple[str, int], list[tuple[int, str, str]]]:
        """These pieces of these held documents, in one read by chunk id."""
        held = self.documents()
        ids = [chunk_id(s, held[s], n) for s, ns in numbers.items() if s in held for n in ns]
        if not ids:
            return {}
        with _failing_as_one_line(self.config, reading=True):
            if self._chunks is None:
                self._chunks = self.client.get_collection(
                    self.config.collection, embedding_function=None
                )
            got = self._chunks.get(ids=ids, include=["documents", "metadatas"])
        out: dict[tuple[str, int], list[tuple[int, str, str]]] = {}
        for text, meta in zip(got["documents"] or [], got["metadatas"] or [], strict=True):
            piece = (int(meta["col_start"]), text or "", str(meta.get("layout") or ""))
            out.setdefault((str(meta["source"]), int(meta["line_start"])), []).append(piece)
        return {address: sorted(parts) for address, parts in out.items()}

    def _lines_of(self, sources: set[str]) -> dict[str, np.ndarray]:
        """Each held document's line number of every piece, read once per version."""
        held = self.documents()
        wanted = {(s, held[s]) for s in sources if s in held}
        missing = [key for key in wanted if key not in self._line_maps]
        if missing:
            with _failing_as_one_line(self.config, reading=True):
                got = self.collection.get(
                    ids=[f"d:{source_key(s)}" for s, _ in missing],
                    include=["documents", "metadatas"],
                )
            for packed, meta in zip(got["documents"] or [], got["metadatas"] or [], strict=True):
                key = (str(meta["source"]), str(meta["doc_hash"]))
                self._line_maps[key] = np.frombuffer(base64.b64decode(packed or ""), dtype=_LINE)
        return {s: self._line_maps[(s, h)] for s, h in wanted if (s, h) in self._line_maps}

    # -- writing ---------------------------------------------------------------------

    def put(self, source: str, doc_hash: str, chunks: Iterable[StoredChunk]) -> None:
        """Queue the document for the next segment, written by `flush` (by `sync`, `close`,
        or once `FLUSH_PIECES` wait). Until then it is not searched; a stop before that is
        repaired by the next open's `sync`."""
        pieces, postings, length = piece_postings(chunks)
        lines = np.zeros(max((c.index for c in pieces), default=-1) + 1, dtype=_LINE)
        for chunk in pieces:
            lines[chunk.index] = chunk.line
        packed = {
            term: np.array([(pieces[n].index, tf, dl) for n, tf, dl in rows], dtype=_POSTING)
            for term, rows in postings.items()
        }
        with self._lock:
            self._pending.docs[source] = _Document(doc_hash, len(pieces), length, lines, packed)
            self._pending.pieces += len(pieces)
            if self._pending.pieces >= FLUSH_PIECES:
                self.flush()

    def flush(self) -> None:
        """Write what was put as one new segment, then its documents' records (from then on
        they are searched in it), then collect the garbage."""
        with self._lock:
            pending, self._pending = self._pending, _Pending()
            if not pending.docs:
                return
            segment = uuid.uuid4().hex[:12]
            docs = list(pending.docs.items())
            slots = [(source, doc.doc_hash) for source, doc in docs]
            postings: dict[str, list[np.ndarray]] = {}
            for slot, (_, doc) in enumerate(docs):
                for term, rows in doc.postings.items():
                    entries = np.empty(len(rows), dtype=_ENTRY)
                    entries["slot"] = slot
                    for name in ("piece", "tf", "dl"):
                        entries[name] = rows[name]
                    postings.setdefault(term, []).append(entries)
            with _failing_as_one_line(self.config, reading=False):
                self._write_segment(segment, slots, postings)
                self._upsert(
                    [f"d:{source_key(source)}" for source, _ in docs],
                    [_b64(doc.lines) for _, doc in docs],
                    [
                        {
                            "kind": _DOC,
                            "source": source,
                            "doc_hash": doc.doc_hash,
                            "pieces": doc.pieces,
                            "length": doc.length,
                            "span": len(doc.lines),
                            "segment": segment,
                        }
                        for source, doc in docs
                    ],
                )
            self._forget()
            self._collect()

    def _write_segment(
        self, segment: str, slots: list[tuple[str, str]], postings: dict[str, list[np.ndarray]]
    ) -> None:
        terms = list(postings)
        self._upsert(
            [f"s:{segment}:{term}" for term in terms],
            [_b64(np.concatenate(postings[term])) for term in terms],
            [{"segment": segment} for _ in terms],
        )
        self._upsert([f"h:{segment}"], [json.dumps(slots)], [{"kind": _HEAD, "segment": segment}])

    def remove(self, source: str) -> None:
        """Forget the document's record; its postings are garbage from then on."""
        with self._lock, _failing_as_one_line(self.config, reading=False):
            self.collection.delete(ids=[f"d:{source_key(source)}"])
            self._forget()
            self._collect()

    def _collect(self) -> None:
        """Delete the segments no document names; merge the named ones into one when there
        are more than `MAX_SEGMENTS`, keeping only the postings still named."""
        with _failing_as_one_line(self.config, reading=False):
            got = self.collection.get(where={"kind": _HEAD}, include=["metadatas"])
            written = {str(m["segment"]) for m in got["metadatas"] or []}
            _, held = self._documents()
            named = {h.segment for h in held.values()}
            dead = sorted(written - named)
            if dead:
                self.collection.delete(where={"segment": {"$in": dead}})
            if len(named & written) > MAX_SEGMENTS:
                self._merge(sorted(named & written), held)

    def _merge(self, segments: list[str], held: dict[str, _Held]) -> None:
        heads = self._heads_of(segments)
        docs = {s: h for s, h in held.items() if h.segment in heads}
        slots = sorted((s, h.doc_hash) for s, h in docs.items())
        slot_of = {doc: n for n, doc in enumerate(slots)}
        postings: dict[str, list[np.ndarray]] = {}
        for segment in segments:
            # This segment's slots as the merged segment's (-1: garbage, dropped).
            renumber = np.array(
                [
                    slot_of[(s, h)] if s in held and held[s].names(h, segment) else -1
                    for s, h in heads[segment]
                ]
                or [-1]
            )
            for record_id, packed in self._records(segment):
                entries = np.frombuffer(base64.b64decode(packed or ""), dtype=_ENTRY).copy()
                entries["slot"] = renumber[entries["slot"]]
                entries = entries[entries["slot"] >= 0]
                if len(entries):
                    postings.setdefault(record_id.split(":", 2)[2], []).append(entries)
        merged = uuid.uuid4().hex[:12]
        self._write_segment(merged, slots, postings)
        ids = [f"d:{source_key(s)}" for s, _ in slots]
        got = self.collection.get(ids=ids, include=["documents", "metadatas"])
        metas = [dict(m, segment=merged) for m in got["metadatas"] or []]
        self._upsert(got["ids"], list(got["documents"] or []), metas)
        self._forget()
        self.collection.delete(where={"segment": {"$in": segments}})

    def _records(self, segment: str) -> Iterator[tuple[str, str]]:
        offset = 0
        while True:
            page = self.collection.get(
                where={"segment": segment}, include=["documents"], limit=5000, offset=offset
            )
            for record_id, packed in zip(page["ids"], page["documents"] or [], strict=True):
                if record_id.startswith("s:"):
                    yield record_id, packed
            if len(page["ids"]) < 5000:
                return
            offset += 5000

    def _upsert(self, ids: list[str], docs: list[str], metas: list[dict[str, Any]]) -> None:
        for start in range(0, len(ids), self._batch):
            part = slice(start, start + self._batch)
            self.collection.upsert(
                ids=ids[part],
                documents=docs[part],
                metadatas=metas[part],
                embeddings=[[_spread(i)] for i in ids[part]],
            )


def _b64(array: np.ndarray) -> str:
    return base64.b64encode(array.tobytes()).decode("ascii")


def _spread(record_id: str) -> float:
    """A record's one-number embedding: spread over [0, 1) so that Chroma's vector index,
    which nothing searches, stays a well-shaped graph."""
    return (zlib.crc32(record_id.encode()) & 0xFFFFFF) / float(1 << 24)


@contextlib.contextmanager
def _failing_as_one_line(config: IndexConfig, *, reading: bool) -> Iterator[None]:
    """A server that fails mid-way (gone, full, refusing) as one line that names it."""
    try:
        yield
    except StoreUnavailableError:
        raise
    except Exception as err:  # chromadb raises assorted transport and server errors
        where = f"{config.chroma_url} ({companion_name(config.collection)})"
        raise StoreUnavailableError(store_failure(err, where, reading=reading)) from err
