"""The Chroma side of the index: opening the collection (embedded or on a server),
checking which model built it, and the few queries that ingest and answering need.

Writes of embedded chunks go through llama-index's `ChromaVectorStore`; bookkeeping
(which documents are complete, which ids are stale) talks to the Chroma collection directly
because the vector-store interface has no notion of listing ids or metadata-only reads.
"""

from __future__ import annotations

import contextlib
import fcntl
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from llama_index.core.schema import TextNode
from llama_index.vector_stores.chroma import ChromaVectorStore

from index.chunking import doc_prefix
from index.config import IndexConfig
from index.errors import (
    CollectionMissingError,
    IndexError_,
    ModelMismatchError,
    StoreUnavailableError,
    first_line,
    store_failure,
)

SCHEMA_VERSION = 1
_PAGE = 5000


@dataclass(frozen=True)
class DocEntry:
    """A document whose every chunk is stored (its first chunk is written last, so its
    presence marks the document complete)."""

    source: str
    root: str
    doc_hash: str
    doc_chunks: int
    doc_lines: int


@dataclass(frozen=True)
class StoredLine:
    """One source line as stored, re-joined from its pieces."""

    source: str
    line: int
    text: str
    layout: str = ""  # paged formats: the page and visual lines it came from (index.layout)


@dataclass(frozen=True)
class StoredChunk:
    id: str
    text: str
    source: str
    line: int
    col_start: int
    col_end: int
    layout: str = ""
    index: int = 0  # its place in its document (`index.chunking.chunk_id`)


def _free_bytes(path: Path) -> int | None:
    """Free space on the disk that holds `path` (or the nearest folder of it that exists)."""
    for folder in (path, *path.parents):
        if folder.exists():
            with contextlib.suppress(OSError):
                return shutil.disk_usage(folder).free
            return None
    return None


def chroma_client(config: IndexConfig) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if config.chroma_url:
        url = urlparse(config.chroma_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise StoreUnavailableError(
                f"bad Chroma URL {config.chroma_url!r}: expected http://HOST:PORT"
            )
        try:
            client = chromadb.HttpClient(
                host=url.hostname,
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
            client.heartbeat()
        except Exception as err:  # chromadb raises assorted transport errors
            raise StoreUnavailableError(
                f"cannot reach Chroma at {config.chroma_url} ({first_line(err)}); "
                "is `chroma run` started?"
            ) from err
        return client
    database = config.chroma_path / "chroma.sqlite3"
    if database.is_file() and database.stat().st_size == 0:
        # SQLite would open an empty file as a new, empty database, and a first start would
        # then quietly build a new index over it.
        raise StoreUnavailableError(
            f"the index at {config.chroma_path} is damaged ({database.name} is empty); "
            "rebuild it with `qa index --rebuild`"
        )
    try:
        config.chroma_path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(config.chroma_path), settings=chroma_settings)
    except Exception as err:
        # chromadb caches a client's system per path, even a failed one: drop it, so that a
        # later attempt (after a repair or `--rebuild`) opens the folder afresh.
        from chromadb.api.client import SharedSystemClient

        SharedSystemClient.clear_system_cache()
        raise StoreUnavailableError(
            store_failure(err, str(config.chroma_path), reading=True)
        ) from err


class ChunkStore:
    """One collection of line-addressed chunks."""

    def __init__(self, config: IndexConfig, collection: Any, client: Any) -> None:
        self.config = config
        self.collection = collection
        self.client = client
        self.vector_store = ChromaVectorStore(chroma_collection=collection)

    @property
    def embed_model_name(self) -> str:
        return str((self.collection.metadata or {}).get("qa_embed_model", ""))

    def count(self) -> int:
        return int(self.collection.count())

    def manifest(self) -> dict[str, DocEntry]:
        got = self.collection.get(where={"chunk_index": 0}, include=["metadatas"])
        entries: dict[str, DocEntry] = {}
        for meta in got["metadatas"] or []:
            entry = DocEntry(
                source=str(meta["source"]),
                root=str(meta.get("root", "")),
                doc_hash=str(meta["doc_hash"]),
                doc_chunks=int(meta["doc_chunks"]),
                doc_lines=int(meta["doc_lines"]),
            )
            entries[entry.source] = entry
        return entries

    def all_ids(self) -> list[str]:
        ids: list[str] = []
        offset = 0
        while True:
            page = self.collection.get(include=[], limit=_PAGE, offset=offset)["ids"]
            ids.extend(page)
            if len(page) < _PAGE:
                return ids
            offset += _PAGE

    def iter_chunks(self) -> Iterator[StoredChunk]:
        """Every chunk of every complete document, its text and address: what the index
        serves. A document whose writing was cut short (Ctrl-C, a kill) has no first chunk
        yet, which ingest writes last: its lines are not served until the next `qa index`
        completes it, so what is answered from is what `manifest` lists."""
        complete = {doc_prefix(e.source, e.doc_hash) for e in self.manifest().values()}
        for chunk in self._chunks():
            if chunk.id.rsplit("-", 1)[0] in complete:
                yield chunk

    def document_chunks(self, source: str, doc_hash: str) -> Iterator[StoredChunk]:
        """One version of a document's chunks, for the keyword index (`index.keywords`)."""
        yield from self._chunks({"$and": [{"source": source}, {"doc_hash": doc_hash}]})

    def _chunks(self, where: dict[str, Any] | None = None) -> Iterator[StoredChunk]:
        """The chunks matching `where` (all without it), read a page at a time."""
        offset = 0
        while True:
            page = self.collection.get(
                where=where, include=["documents", "metadatas"], limit=_PAGE, offset=offset
            )
            for cid, text, meta in zip(
                page["ids"], page["documents"] or [], page["metadatas"] or [], strict=True
            ):
                yield _chunk(cid, text, meta)
            if len(page["ids"]) < _PAGE:
                return
            offset += _PAGE

    def drop(self) -> None:
        """Delete the whole collection."""
        self.client.delete_collection(self.collection.name)

    def source_of(self, chunk_id: str) -> str:
        got = self.collection.get(ids=[chunk_id], include=["metadatas"])
        metas = got["metadatas"] or []
        return str(metas[0]["source"]) if metas else chunk_id

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """A failed write as one line that names its cause (read-only, disk full, damage)."""
        try:
            yield
        except IndexError_:
            raise
        except Exception as err:
            where = self.config.chroma_url or str(self.config.chroma_path)
            free = None if self.config.chroma_url else _free_bytes(self.config.chroma_path)
            raise StoreUnavailableError(
                store_failure(err, where, reading=False, free_bytes=free)
            ) from err

    def add(self, nodes: list[TextNode]) -> None:
        if nodes:
            with self._writing():
                self.vector_store.add(list(nodes))

    def delete_ids(self, ids: list[str]) -> None:
        with self._writing():
            for start in range(0, len(ids), _PAGE):
                self.collection.delete(ids=ids[start : start + _PAGE])

    def delete_source(self, source: str) -> None:
        with self._writing():
            self.collection.delete(where={"source": source})

    def delete_version(self, source: str, doc_hash: str) -> None:
        """One version of a document, leaving the chunks of any other (a new version's chunks
        kept from a stopped run)."""
        with self._writing():
            self.collection.delete(where={"$and": [{"source": source}, {"doc_hash": doc_hash}]})

    def lines(self, source: str, until: int | None = None) -> list[StoredLine]:
        """A document's lines as indexed (blank lines are not stored). Served from the index,
        not the disk, so only indexed documents can ever be shown. With `until`, only the
        lines up to that number: a document's opening, without reading all of it."""
        where: dict[str, Any] = {"source": source}
        if until is not None:
            where = {"$and": [where, {"line_start": {"$lte": until}}]}
        return self._lines(source, where)

    def page_lines(self, source: str, page: int) -> list[StoredLine]:
        """The indexed lines of a paged document that start on `page` or on the page before
        it (and may run onto it): what showing one page needs."""
        where = {
            "$and": [{"source": source}, {"page": {"$gte": page - 1}}, {"page": {"$lte": page}}]
        }
        return self._lines(source, where)

    def _lines(self, source: str, where: dict[str, Any]) -> list[StoredLine]:
        got = self.collection.get(where=where, include=["documents", "metadatas"])
        pieces: dict[int, list[tuple[int, str]]] = {}
        layouts: dict[int, str] = {}
        for text, meta in zip(got["documents"] or [], got["metadatas"] or [], strict=True):
            number = int(meta["line_start"])
            pieces.setdefault(number, []).append((int(meta["col_start"]), text or ""))
            layouts[number] = str(meta.get("layout") or "")
        return [
            StoredLine(source, number, join_pieces(parts), layouts[number])
            for number, parts in sorted(pieces.items())
        ]


def _chunk(cid: str, text: str | None, meta: Any) -> StoredChunk:
    return StoredChunk(
        id=cid,
        text=text or "",
        source=str(meta["source"]),
        line=int(meta["line_start"]),
        col_start=int(meta["col_start"]),
        col_end=int(meta["col_end"]),
        layout=str(meta.get("layout") or ""),
        index=int(meta.get("chunk_index", 0)),
    )


def join_pieces(parts: list[tuple[int, str]]) -> str:
    """Re-join a split line; gaps between pieces were whitespace the splitter dropped."""
    out = ""
    for start, text in sorted(parts):
        if start > len(out):
            out += " " * (start - len(out))
        out = out[:start] + text
    return out


def open_store(config: IndexConfig, create: bool = False, rebuild: bool = False) -> ChunkStore:
    """Open the collection, checking it was built with the configured embedding model.

    `create` makes it when missing (indexing); readers get `CollectionMissingError`.
    `rebuild` drops the collection first: the only path that deletes an index.
    """
    try:
        client = chroma_client(config)
    except StoreUnavailableError:
        if not (rebuild and not config.chroma_url and config.chroma_path.exists()):
            raise
        # Asked to rebuild an embedded index that will not even open: keep the damaged
        # folder aside (never delete what the user did not name) and start a fresh one.
        aside = config.chroma_path.with_name(f"chroma.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
        config.chroma_path.rename(aside)
        client = chroma_client(config)
    try:
        if rebuild:
            with contextlib.suppress(Exception):
                client.delete_collection(config.collection)
        if create:
            collection = client.get_or_create_collection(
                config.collection,
                metadata={"qa_embed_model": config.embed_model, "qa_schema": SCHEMA_VERSION},
                configuration={"hnsw": {"space": "cosine"}},
                embedding_function=None,
            )
        else:
            try:
                collection = client.get_collection(config.collection, embedding_function=None)
            except Exception as err:
                if "not exist" in str(err).lower() or "not found" in str(err).lower():
                    raise CollectionMissingError(
                        f"no index named {config.collection!r} yet; build it with `qa index`"
                    ) from err
                raise
    except IndexError_:
        raise
    except Exception as err:
        raise StoreUnavailableError(
            store_failure(
                err,
                f"{config.chroma_url or config.chroma_path} ({config.collection})",
                reading=True,
            )
        ) from err
    store = ChunkStore(config, collection, client)
    meta = collection.metadata or {}
    if meta.get("qa_schema") != SCHEMA_VERSION or not store.embed_model_name:
        raise StoreUnavailableError(
            f"collection {config.collection!r} was not written by this tool (or by an "
            "incompatible version); rebuild it with `qa index --rebuild` or choose another "
            "collection"
        )
    if store.embed_model_name != config.embed_model:
        raise ModelMismatchError(
            f"collection {config.collection!r} was built with embedding model "
            f"{store.embed_model_name!r} but {config.embed_model!r} is configured; "
            "use the same model, another collection, or `qa index --rebuild`"
        )
    return store


def writer_busy(config: IndexConfig) -> bool:
    """Whether a `qa index` is writing this collection now (holds its lock)."""
    path = config.data_dir / f"{config.collection}.lock"
    try:
        with open(path) as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
            return False
    except OSError:
        return False


@contextlib.contextmanager
def writer_lock(
    config: IndexConfig,
    wait_seconds: float = 600.0,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """One writer per data directory: a second `qa index` waits for the first (saying so
    through `on_wait`), then sees its result, instead of interleaving deletes and adds."""
    path = config.data_dir / f"{config.collection}.lock"
    try:
        config.data_dir.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+")  # noqa: SIM115 - closed below, after the lock is released
    except OSError as err:
        raise IndexError_(
            f"the data dir {config.data_dir} cannot be written ({err.strerror or err}); "
            "choose another with --data-dir or QA_DATA_DIR"
        ) from err
    with handle:
        deadline = time.monotonic() + wait_seconds
        said = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not said and on_wait is not None:
                    on_wait(
                        f"another `qa index` is writing this index; waiting for it to finish "
                        f"(at most {wait_seconds:.0f} s)"
                    )
                    said = True
                if time.monotonic() > deadline:
                    raise IndexError_(
                        f"another `qa index` holds {path} for over {wait_seconds:.0f} s; "
                        "try again when it finishes"
                    ) from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
