"""The keyword index of an embedded store: a SQLite file beside the Chroma folder (see
`index.keywords` for why postings, and how they are kept in step).

Tables: `docs` holds (source, content hash, pieces, length) for each document whose lines it
holds, written in the same transaction as those lines and postings; `lines` holds each stored
piece's text (so neighbours and quotes are read from disk, not held in memory); `postings`
holds, for each document and term, its pieces' ids, term counts and lengths packed as
`_ENTRY` records.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from index.config import IndexConfig
from index.errors import IndexError_
from index.keywords import KeywordHit, KeywordStore, bm25, keywords_path, piece_postings

if TYPE_CHECKING:
    from index.store import StoredChunk

_SCHEMA = 2


class SqliteKeywords(KeywordStore):
    """The postings and every piece's text in one SQLite file, read from disk as a question
    needs them. One connection per thread (the chat page answers in several)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._docs: dict[str, str] | None = None  # source -> doc_hash, as held in the file
        self._stats: tuple[int, float] | None = None  # pieces, their mean length in terms
        self.damaged = False  # a damaged file was set aside on open
        self._docs_lock = threading.Lock()

    # -- opening ---------------------------------------------------------------------

    @classmethod
    def open(cls, config: IndexConfig) -> SqliteKeywords:
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
        self._docs = None
        self._stats = None

    # -- writing ---------------------------------------------------------------------

    def documents(self) -> Mapping[str, str]:
        with self._docs_lock:
            if self._docs is None:
                rows = self._connection().execute("SELECT source, doc_hash FROM docs")
                self._docs = dict(rows.fetchall())
            return self._docs

    def put(self, source: str, doc_hash: str, chunks: Iterable[StoredChunk]) -> None:
        pieces, postings, length = piece_postings(chunks)
        conn = self._connection()
        with self._transaction(conn):
            self._delete(conn, source)
            ids = []
            for chunk in pieces:
                cur = conn.execute(
                    "INSERT INTO lines (source, line, col, text, layout) VALUES (?, ?, ?, ?, ?)",
                    (source, chunk.line, chunk.col_start, chunk.text, chunk.layout),
                )
                assert cur.lastrowid is not None
                ids.append(cur.lastrowid)
            conn.executemany(
                "INSERT INTO postings (term, source, entries) VALUES (?, ?, ?)",
                (
                    (term, source, _packed([(ids[n], tf, dl) for n, tf, dl in rows]))
                    for term, rows in postings.items()
                ),
            )
            conn.execute(
                "INSERT INTO docs (source, doc_hash, pieces, length) VALUES (?, ?, ?, ?)",
                (source, doc_hash, len(pieces), length),
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
        wanted = list(dict.fromkeys(query_terms))
        n_pieces, mean_length = self._collection_stats()
        if not wanted or k <= 0 or n_pieces == 0:
            return []
        conn = self._connection()
        rows = conn.execute(
            f"SELECT term, entries FROM postings WHERE term IN ({','.join('?' * len(wanted))})",
            wanted,
        ).fetchall()
        by_term: dict[str, list[bytes]] = {}
        for term, entries in rows:
            by_term.setdefault(term, []).append(entries)
        postings = []
        for blobs in by_term.values():
            entries = np.frombuffer(b"".join(blobs), dtype=_ENTRY)
            postings.append((entries["id"], entries["tf"], entries["dl"]))
        best = bm25(postings, n_pieces, mean_length, k)
        if not best:
            return []
        chosen = [i for i, _ in best]
        found = dict(
            (int(i), (str(source), int(line)))
            for i, source, line in conn.execute(
                f"SELECT id, source, line FROM lines WHERE id IN ({','.join('?' * len(chosen))})",
                chosen,
            )
        )
        return [KeywordHit(*found[i], score) for i, score in best if i in found]

    def pieces(self, source: str, first: int, last: int) -> dict[int, list[tuple[int, str, str]]]:
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


def _packed(rows: list[tuple[int, int, int]]) -> bytes:
    """One document's postings for a term, packed as `_ENTRY` records."""
    return np.array(rows, dtype=_ENTRY).tobytes()
