"""The keyword side of the index: every stored line's terms in SQLite FTS5, beside the vectors,
so that a question needs neither a BM25 build nor a copy of the corpus in memory.

Why FTS5 (measured, docs/benchmarks.md): Chroma's own sparse (BM25) index is refused by its
embedded and single-node server builds ("Sparse vector indexing is not enabled in local"),
and its full-text filter (`$contains`) matches substrings without scores. SQLite's FTS5 is in
Python's standard library, ranks by BM25 itself, opens in milliseconds at any size and reads
only the postings of a query's terms.

The file is derived from the vector store and kept in step with it by document: a `docs`
table holds (source, content hash) for each document whose lines it holds, written in the
same transaction as those lines, so a document is in it entirely or not at all. `sync`
compares that with the store's manifest (the documents whose every chunk is stored) and
adds or drops exactly the documents that differ, reading only those from the store. Ingest
calls it after each document it completes and at its end, under the writer's lock; a reader
calls it when it opens the index and whenever the store's count changes, so it never ranks
lines the vectors do not hold (after a kill mid-ingest, the first open repairs the file).

Where it lives: beside the Chroma folder in the data dir. Behind a Chroma server there is no
place for it in the server (see above), so each client keeps its file in its own data dir,
named for the server and collection, and `sync` brings it level with the server's documents
on open, reading only the documents it has not seen.

Written by hand (FTS5 through `sqlite3`): llama-index's BM25 retriever and bm25s both hold
their whole index in memory and rebuild it per process.
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from index.config import IndexConfig
from index.errors import IndexError_
from index.text import terms

if TYPE_CHECKING:
    from index.store import ChunkStore, DocEntry, StoredChunk

_SCHEMA = 1
_PAGE = 5000


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


def match_expression(query_terms: Iterable[str]) -> str:
    """The terms as an FTS5 query of plain words: each quoted (a quote inside doubled), joined
    by OR, so that `"`, `*`, `NEAR`, `OR` or parentheses in a question are searched as words
    and never parsed as FTS syntax."""
    quoted = ['"' + term.replace('"', '""') + '"' for term in dict.fromkeys(query_terms)]
    return " OR ".join(quoted)


class KeywordStore:
    """BM25 over every line of every complete document, and the lines' text, read from disk
    as a question needs them. One connection per thread (the chat page answers in several)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._docs: dict[str, str] | None = None  # source -> doc_hash, as held in the file
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
        except sqlite3.DatabaseError:
            store.close()
            store.discard()
            store = cls(path)
            store._create()
            store.damaged = True
        return store

    damaged = False  # set when a damaged file was set aside on open

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
        conn.executescript(
            """
            CREATE TABLE IF NOT EXISTS docs (source TEXT PRIMARY KEY, doc_hash TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS lines (
                id INTEGER PRIMARY KEY, source TEXT NOT NULL, line INTEGER NOT NULL,
                col INTEGER NOT NULL, text TEXT NOT NULL, layout TEXT NOT NULL
            );
            CREATE INDEX IF NOT EXISTS lines_at ON lines (source, line);
            CREATE VIRTUAL TABLE IF NOT EXISTS terms USING fts5(
                body, tokenize = 'unicode61 remove_diacritics 0'
            );
            """
        )
        conn.execute(f"PRAGMA user_version={_SCHEMA}")
        # A damaged file can open and fail only when read: read it once now.
        conn.execute("SELECT count(*) FROM docs").fetchone()
        conn.execute("SELECT rowid FROM terms WHERE terms MATCH '\"x\"' LIMIT 1").fetchall()

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
        self._docs = None

    # -- keeping in step with the vectors --------------------------------------------

    def documents(self) -> dict[str, str]:
        """The documents held: source -> content hash."""
        with self._docs_lock:
            if self._docs is None:
                rows = self._connection().execute("SELECT source, doc_hash FROM docs")
                self._docs = dict(rows.fetchall())
            return dict(self._docs)

    def out_of_step(self, manifest: dict[str, DocEntry]) -> tuple[list[str], list[DocEntry]]:
        """What differs from the store: sources to drop, documents to (re)write."""
        self._docs = None  # another process may have written the file
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
            self.put(entry.source, entry.doc_hash, store.document_chunks(entry))
            if advance is not None:
                advance(done, len(add))
        return len(drop) + len(add)

    def put(self, source: str, doc_hash: str, chunks: Iterable[StoredChunk]) -> None:
        """Replace a document's lines with these, in one transaction."""
        conn = self._connection()
        with self._transaction(conn):
            self._delete(conn, source)
            for chunk in chunks:
                cur = conn.execute(
                    "INSERT INTO lines (source, line, col, text, layout) VALUES (?, ?, ?, ?, ?)",
                    (source, chunk.line, chunk.col_start, chunk.text, chunk.layout),
                )
                conn.execute(
                    "INSERT INTO terms (rowid, body) VALUES (?, ?)",
                    (cur.lastrowid, " ".join(terms(chunk.text))),
                )
            conn.execute("INSERT INTO docs (source, doc_hash) VALUES (?, ?)", (source, doc_hash))
        self._docs = None

    def remove(self, source: str) -> None:
        conn = self._connection()
        with self._transaction(conn):
            self._delete(conn, source)
        self._docs = None

    @staticmethod
    def _delete(conn: sqlite3.Connection, source: str) -> None:
        conn.execute(
            "DELETE FROM terms WHERE rowid IN (SELECT id FROM lines WHERE source = ?)", (source,)
        )
        conn.execute("DELETE FROM lines WHERE source = ?", (source,))
        conn.execute("DELETE FROM docs WHERE source = ?", (source,))

    @staticmethod
    @contextlib.contextmanager
    def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    # -- reading ---------------------------------------------------------------------

    def count(self) -> int:
        """Stored pieces of lines (a long line is several)."""
        return int(self._connection().execute("SELECT count(*) FROM lines").fetchone()[0])

    def search(self, query_terms: list[str], k: int) -> list[KeywordHit]:
        """The best `k` pieces by BM25 (FTS5's, k1 1.2, b 0.75), best first; a line split in
        pieces may appear more than once."""
        if not query_terms or k <= 0:
            return []
        rows = self._connection().execute(
            "SELECT lines.source, lines.line, -bm25(terms) FROM terms "
            "JOIN lines ON lines.id = terms.rowid WHERE terms MATCH ? "
            "ORDER BY bm25(terms) LIMIT ?",
            (match_expression(query_terms), k),
        )
        return [KeywordHit(source, line, float(score)) for source, line, score in rows]

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
