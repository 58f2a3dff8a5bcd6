"""The keyword side of the index: every stored line's terms and BM25 postings in a SQLite file
beside the vectors, so that a question needs neither a BM25 build nor a copy of the corpus
in memory.

What was measured before choosing (docs/benchmarks.md): Chroma's own sparse (BM25) index is
refused by its embedded and single-node server builds ("Sparse vector indexing is not
enabled in local"), and its full-text filter (`$contains`) matches substrings without
scores. SQLite FTS5 ranks by BM25 itself but scores every row that holds any query term: at
200k synthetic lines, where each term is in a tenth of them, a question took 180-420 ms.
bm25s is fast because it scores from precomputed matrices, but holds them in memory and
cannot change one document without rebuilding all. So this file keeps, for each document,
one postings row per term (its lines' ids, term counts and lengths as packed arrays), and a
question reads only the rows of its own terms and scores them with numpy, with the same
formula as bm25s (Lucene's BM25, k1 1.5, b 0.75), so rankings are those it gave. Written by
hand for that reason; SQLite (in Python's standard library) does the storage.

The file is derived from the vector store and kept in step with it by document: a `docs`
table holds (source, content hash) for each document whose lines it holds, written in the
same transaction as those lines and postings, so a document is in it entirely or not at
all. `sync` compares that with the store's manifest (the documents whose every chunk is
stored) and adds or drops exactly the documents that differ, reading only those from the
store. Ingest writes each document as soon as its vectors are complete and syncs at its end,
under the writer's lock; a reader syncs when it opens the index and whenever the store's
count changes, so it never ranks lines the vectors do not hold (after a kill mid-ingest, the
first open repairs the file).

Where it lives: beside the Chroma folder in the data dir. Behind a Chroma server there is no
place for it in the server (see above), so each client keeps its file in its own data dir,
named for the server and collection, and `sync` brings it level with the server's documents
on open, reading only the documents it has not seen.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from index.config import IndexConfig
from index.errors import IndexError_
from index.text import terms

if TYPE_CHECKING:
    from index.store import ChunkStore, DocEntry, StoredChunk

_SCHEMA = 2
# BM25 as bm25s computes it by default (Lucene's variant).
K1 = 1.5
B = 0.75


@dataclass(frozen=True)
class KeywordHit:
    source: str
    line: int
    score: float  # BM25, higher is better


def keywords_path(config: IndexConfig) -> Path:
    """The keyword file for this collection: beside the embedded store, or named for the
    server it mirrors."""
    if config.chroma_url:
        server = hashlib.sha1(config.chroma_url.encode()).hexdigest()[:10]
        return config.data_dir / f"{config.collection}.{server}.keywords.sqlite3"
    return config.data_dir / f"{config.collection}.keywords.sqlite3"


class KeywordStore:
    """BM25 over every line of every complete document, and the lines' text, read from disk
    as a question needs them. One connection per thread (the chat page answers in several)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._docs: dict[str, str] | None = None  # source -> doc_hash, as held in the file
        self._stats: tuple[int, float] | None = None  # pieces, their mean length in terms
        self.damaged = False  # a damaged file was set aside on open
        self._docs_lock = threading.Lock()

    # -- opening ---------------------------------------------------------------------

    @classmethod
    def open(cls, config: IndexConfig) -> KeywordStore:
        """Open (or create) the file. A file that SQLite cannot read, or of another schema,
        is set aside and started anew; `sync` then fills it from the store."""
        path = keywords_path(config)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise IndexError_(
                f"the data dir {config.data_dir} cannot be written ({err.strerror or err}); "
                "choose another with --data-dir or QA_DATA_DIR"
            ) from err
        store = cls(path)
        try:
            store._create()
        except sqlite3.OperationalError as err:  # locked, busy, unreadable: not damage
            store.close()
            raise IndexError_(f"the keyword index {path} cannot be opened ({err})") from err
        except sqlite3.DatabaseError:  # not a database, malformed, another schema
            store.close()
            try:  # damaged, or of another schema: it holds nothing the store does not
                store.discard()
                store = cls(path)
                store._create()
            except (OSError, sqlite3.Error) as err:
                raise IndexError_(
                    f"the keyword index {path} cannot be written ({err}); "
                    "choose another data dir with --data-dir or QA_DATA_DIR"
                ) from err
            store.damaged = True
        return store

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    def _create(self) -> None:
        conn = self._connection()
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, _SCHEMA):
            raise sqlite3.DatabaseError(f"keyword schema {version}")
        if version == _SCHEMA:  # a reader opening a current file writes nothing
            self._check_readable(conn)
            return
        conn.executescript(
            """
            CREATE TABLE IF NOT EXISTS docs (
                source TEXT PRIMARY KEY, doc_hash TEXT NOT NULL,
                pieces INTEGER NOT NULL, length INTEGER NOT NULL
            );
            CREATE TABLE IF NOT EXISTS lines (
                id INTEGER PRIMARY KEY, source TEXT NOT NULL, line INTEGER NOT NULL,
                col INTEGER NOT NULL, text TEXT NOT NULL, layout TEXT NOT NULL
            );
            CREATE INDEX IF NOT EXISTS lines_at ON lines (source, line);
            CREATE TABLE IF NOT EXISTS postings (
                term TEXT NOT NULL, source TEXT NOT NULL, entries BLOB NOT NULL
            );
            CREATE INDEX IF NOT EXISTS postings_term ON postings (term);
            CREATE INDEX IF NOT EXISTS postings_source ON postings (source);
            """
        )
        conn.execute(f"PRAGMA user_version={_SCHEMA}")
        self._check_readable(conn)

    @staticmethod
    def _check_readable(conn: sqlite3.Connection) -> None:
        """A damaged file can open and fail only when read: read it once now."""
        conn.execute("SELECT count(*), sum(pieces) FROM docs").fetchone()
        conn.execute("SELECT entries FROM postings WHERE term = 'x' LIMIT 1").fetchall()

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def discard(self) -> None:
        """Remove the file (and SQLite's side files): the index it mirrors was dropped."""
        self.close()
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                Path(f"{self.path}{suffix}").unlink()
        self._forget()

    def _forget(self) -> None:
        """Drop what is cached of the file: it was written (here or by another process)."""
        self._docs = None
        self._stats = None

    # -- keeping in step with the vectors --------------------------------------------

    def documents(self) -> Mapping[str, str]:
        """The documents held: source -> content hash. Read once and kept until the file is
        written; the mapping returned is never changed (a write replaces it), so a question
        reads it without a copy."""
        with self._docs_lock:
            if self._docs is None:
                rows = self._connection().execute("SELECT source, doc_hash FROM docs")
                self._docs = dict(rows.fetchall())
            return self._docs

    def out_of_step(self, manifest: dict[str, DocEntry]) -> tuple[list[str], list[DocEntry]]:
        """What differs from the store: sources to drop, documents to (re)write."""
        self._forget()  # another process may have written the file
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
        """Bring the file level with the store's complete documents: drop what the store no
        longer holds, write what it holds and the file lacks, one document per transaction.
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
        return len(drop) + len(add)

    def put(self, source: str, doc_hash: str, chunks: Iterable[StoredChunk]) -> None:
        """Replace a document's lines and postings with these, in one transaction."""
        conn = self._connection()
        with self._transaction(conn):
            self._delete(conn, source)
            postings: dict[str, list[tuple[int, int, int]]] = {}
            pieces = length = 0
            for chunk in chunks:
                cur = conn.execute(
                    "INSERT INTO lines (source, line, col, text, layout) VALUES (?, ?, ?, ?, ?)",
                    (source, chunk.line, chunk.col_start, chunk.text, chunk.layout),
                )
                assert cur.lastrowid is not None
                found = terms(chunk.text)
                size = max(len(found), 1)  # as bm25s counts an empty piece
                for term, count in Counter(found).items():
                    postings.setdefault(term, []).append((cur.lastrowid, count, size))
                pieces += 1
                length += size
            conn.executemany(
                "INSERT INTO postings (term, source, entries) VALUES (?, ?, ?)",
                (_packed(term, source, rows) for term, rows in postings.items()),
            )
            conn.execute(
                "INSERT INTO docs (source, doc_hash, pieces, length) VALUES (?, ?, ?, ?)",
                (source, doc_hash, pieces, length),
            )
        self._forget()

    def remove(self, source: str) -> None:
        conn = self._connection()
        with self._transaction(conn):
            self._delete(conn, source)
        self._forget()

    @staticmethod
    def _delete(conn: sqlite3.Connection, source: str) -> None:
        conn.execute("DELETE FROM postings WHERE source = ?", (source,))
        conn.execute("DELETE FROM lines WHERE source = ?", (source,))
        conn.execute("DELETE FROM docs WHERE source = ?", (source,))

    @contextlib.contextmanager
    def _transaction(self, conn: sqlite3.Connection) -> Iterator[None]:
        """One transaction; a failed write (a full disk, a read-only folder) is one line."""
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except sqlite3.Error as err:
            raise IndexError_(f"the keyword index {self.path} cannot be written ({err})") from err

    # -- reading ---------------------------------------------------------------------

    def _collection_stats(self) -> tuple[int, float]:
        """How many pieces are held and their mean length (BM25's N and avgdl)."""
        if self._stats is None:
            row = self._connection().execute("SELECT sum(pieces), sum(length) FROM docs")
            pieces, length = row.fetchone()
            self._stats = (int(pieces or 0), (length or 0) / max(pieces or 0, 1))
        return self._stats

    def search(self, query_terms: list[str], k: int) -> list[KeywordHit]:
        """The best `k` pieces by BM25, best first; a line split in pieces may appear more
        than once. Reads the postings of the query's terms only."""
        wanted = list(dict.fromkeys(query_terms))
        n_pieces, mean_length = self._collection_stats()
        if not wanted or k <= 0 or n_pieces == 0:
            return []
        conn = self._connection()
        rows = conn.execute(
            f"SELECT term, entries FROM postings WHERE term IN ({','.join('?' * len(wanted))})",
            wanted,
        ).fetchall()
        if not rows:
            return []
        by_term: dict[str, list[bytes]] = {}
        for term, entries in rows:
            by_term.setdefault(term, []).append(entries)
        all_ids, all_scores = [], []
        for blobs in by_term.values():
            entries = np.frombuffer(b"".join(blobs), dtype=_ENTRY)
            df = len(entries)
            idf = math.log(1 + (n_pieces - df + 0.5) / (df + 0.5))
            tf, dl = entries["tf"], entries["dl"]
            all_ids.append(entries["id"])
            all_scores.append(idf * tf / (K1 * ((1 - B) + B * dl / mean_length) + tf))
        ids = np.concatenate(all_ids)
        weights = np.concatenate(all_scores)
        unique: np.ndarray | None = None
        if int(ids.max()) < 4 * n_pieces + 4096:  # line ids are dense: sum by id directly
            scores = np.bincount(ids, weights=weights)
        else:
            unique, where = np.unique(ids, return_inverse=True)
            scores = np.bincount(where, weights=weights)
        top = min(k, int(np.count_nonzero(scores)))
        if top == 0:
            return []
        best = np.argpartition(-scores, top - 1)[:top]
        best = best[np.argsort(-scores[best], kind="stable")]
        chosen = [int(i) for i in (best if unique is None else unique[best])]
        found = dict(
            (int(i), (str(source), int(line)))
            for i, source, line in conn.execute(
                f"SELECT id, source, line FROM lines WHERE id IN ({','.join('?' * len(chosen))})",
                chosen,
            )
        )
        return [
            KeywordHit(*found[i], float(scores[b]))
            for i, b in zip(chosen, best, strict=True)
            if i in found and scores[b] > 0
        ]

    def pieces(self, source: str, first: int, last: int) -> dict[int, list[tuple[int, str, str]]]:
        """The stored pieces of a document's lines `first`..`last`: line -> (column, text,
        layout) pieces."""
        rows = self._connection().execute(
            "SELECT line, col, text, layout FROM lines "
            "WHERE source = ? AND line BETWEEN ? AND ? ORDER BY line, col",
            (source, first, last),
        )
        out: dict[int, list[tuple[int, str, str]]] = {}
        for line, col, text, layout in rows:
            out.setdefault(int(line), []).append((int(col), str(text), str(layout)))
        return out


# One posting: a line piece's id, how often the term is in it, and its length in terms.
_ENTRY = np.dtype([("id", "<i8"), ("tf", "<f4"), ("dl", "<f4")])


def _packed(term: str, source: str, rows: list[tuple[int, int, int]]) -> tuple[str, str, bytes]:
    """One document's postings for a term, packed as `_ENTRY` records."""
    return (term, source, np.array(rows, dtype=_ENTRY).tobytes())
