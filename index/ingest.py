"""Incremental ingest: bring the collection in line with the files on disk, embedding only
what changed.

Crash safety rests on two rules. Chunk ids are deterministic (source, content hash, index),
so nothing is ever stored twice. A document's first chunk is written last, so a document
counts as complete only once all of it is stored; anything else found in the collection
(a half-written document after a kill) is deleted and indexed again by the next run.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.schema import TextNode
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from index.chunking import LineChunker, doc_prefix
from index.config import IndexConfig
from index.embeddings import make_embed_model
from index.errors import IndexError_, IngestInterrupted, first_line
from index.formats import Limits
from index.keywords import KeywordStore
from index.loaders import RawSource, Skipped, SourceFile, discover, parse, read_source
from index.store import ChunkStore, DocEntry, open_store, writer_lock

log = logging.getLogger(__name__)

_EMBED_SLICE = 256
_PROGRESS_MIN_CHUNKS = 200  # below this an ingest takes about a second: no bar


@dataclass
class IngestReport:
    """What a run did, for the summary line and for tests."""

    new: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    lines: int = 0
    chunks_embedded: int = 0
    chunks_total: int = 0
    seconds: float = 0.0

    @property
    def indexed_files(self) -> int:
        return len(self.new) + len(self.changed) + len(self.unchanged)

    @property
    def ok(self) -> bool:
        """Non-zero exit only when nothing could be indexed."""
        return self.indexed_files > 0

    def summary(self) -> str:
        return (
            f"{self.indexed_files} files, {self.lines} lines: {len(self.new)} new, "
            f"{len(self.changed)} changed, {len(self.unchanged)} unchanged, "
            f"{len(self.removed)} removed, {len(self.repaired)} repaired, "
            f"{len(self.skipped)} skipped; {self.chunks_embedded} chunks embedded, "
            f"{self.chunks_total} in the index; {self.seconds:.1f} s"
        )


def ingest(
    config: IndexConfig,
    paths: list[Path],
    *,
    rebuild: bool = False,
    console: Console | None = None,
    progress: bool = True,
    embed_model: BaseEmbedding | None = None,
) -> IngestReport:
    """Index `paths` (files or folders) into the configured collection."""
    started = time.perf_counter()
    console = console or Console(stderr=True)
    report = IngestReport()

    def waiting(message: str) -> None:
        console.print(f"note: {message}", markup=False, highlight=False)

    with writer_lock(config, on_wait=waiting):
        store = open_store(config, create=True, rebuild=rebuild)
        keywords = KeywordStore.open(config)
        if rebuild:
            keywords.discard()
            keywords = KeywordStore.open(config)
        # The keyword index follows the vectors document by document (in `_ingest`); the
        # sync after it catches what a stop left between the two, so they hold the same lines
        # (and what it cannot reach now, the next open repairs).
        try:
            _ingest(config, store, keywords, paths, report, console, progress, embed_model)
        except BaseException:
            with contextlib.suppress(Exception):
                keywords.sync(store)
            raise
        else:
            keywords.sync(store)
        finally:
            keywords.close()
        report.chunks_total = store.count()
    report.seconds = time.perf_counter() - started
    return report


def _ingest(
    config: IndexConfig,
    store: ChunkStore,
    keywords: KeywordStore,
    paths: list[Path],
    report: IngestReport,
    console: Console,
    progress: bool,
    embed_model: BaseEmbedding | None,
) -> None:
    """The body of `ingest`, under the writer's lock."""
    files, skipped, walked_roots = discover(paths)
    report.skipped.extend(skipped)
    manifest = store.manifest()
    files = distinct_sources(files, manifest)

    docs: list[RawSource] = []
    for file in files:
        raw = read_source(file)
        if isinstance(raw, Skipped):
            report.skipped.append(raw)
            continue
        docs.append(raw)

    on_disk = {d.source for d in docs} | {f.source for f in files}
    walked = {str(r) for r in walked_roots}
    for entry in manifest.values():
        if entry.root in walked and entry.source not in on_disk:
            store.delete_source(entry.source)
            keywords.remove(entry.source)
            report.removed.append(entry.source)

    chunker = LineChunker(config.chunk_size)
    pending: list[RawSource] = []
    for doc in docs:
        known = manifest.get(doc.source)
        if known is not None and known.doc_hash == doc.doc_hash:
            report.unchanged.append(doc.source)
            report.lines += known.doc_lines
        else:
            pending.append(doc)
    stored, report.repaired = _sort_orphans(store, manifest, pending)

    # Chunk one document at a time and let its nodes go once stored: holding every node
    # (with its 384 floats as Python objects) of a large corpus cost gigabytes.
    total = sum(chunker.estimate(doc.data) for doc in pending)
    if pending:
        model = embed_model or make_embed_model(config)
        show = progress and total >= _PROGRESS_MIN_CHUNKS
        with (
            _progress_bar(console, show) as bar,
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="chroma-writer") as writer,
        ):
            task = bar.add_task("embedding", total=total)
            current: str | None = None
            try:
                for raw in pending:
                    current = raw.source
                    loaded = parse(raw, Limits(max_pdf_pages=config.max_pdf_pages))
                    if isinstance(loaded, Skipped):
                        report.skipped.append(loaded)
                        bar.advance(task, chunker.estimate(raw.data))
                        continue
                    if loaded.note:
                        report.notes.append(f"{loaded.source}: {loaded.note}")
                    if loaded.encoding not in (None, "utf-8", "utf-8-sig"):
                        report.notes.append(
                            f"{loaded.source}: not UTF-8, decoded as {loaded.encoding}"
                        )
                    nodes = chunker.iter_chunks(loaded)
                    known = manifest.get(raw.source)
                    if known is not None:
                        store.delete_version(raw.source, known.doc_hash)
                    first = _embed_and_store(
                        store,
                        model,
                        nodes,
                        stored.get(doc_prefix(raw.source, raw.doc_hash), set()),
                        lambda n: bar.advance(task, n),
                        writer,
                    )
                    if first is None:
                        report.skipped.append(Skipped(raw.source, "no text (only blank lines)"))
                        continue
                    chunks = store.document_chunks(raw.source, raw.doc_hash)
                    keywords.put(raw.source, raw.doc_hash, chunks)
                    (report.changed if known is not None else report.new).append(raw.source)
                    log.info("%s: %d chunks embedded", raw.source, first.embedded)
                    report.lines += int(first.metadata["doc_lines"])
                    report.chunks_embedded += first.embedded
                    current = None
            except KeyboardInterrupt as stop:
                # Every document counted so far is complete in the store (its first
                # chunk, written last, marks it); the one being written is repaired and
                # completed by the next run.
                raise IngestInterrupted(report.new + report.changed, current) from stop
    report.repaired = [s for s in report.repaired if s not in report.removed]


def distinct_sources(files: list[SourceFile], manifest: dict[str, DocEntry]) -> list[SourceFile]:
    """A file named like a document already indexed from another folder gets its own name
    (`clashB/notes.txt`, with as many of its folders as it takes to be unique), so indexing
    a second folder never replaces the first one's document. Re-indexing either folder finds
    the same names again: a document is replaced only by a file from its own folder."""
    taken = {source: entry.root for source, entry in manifest.items()}
    out: list[SourceFile] = []
    for file in files:
        root, source = str(file.root), file.source
        parents = [part for part in reversed(file.root.parts) if part not in ("/", "")]
        for depth in range(len(parents) + 1):
            if depth:
                source = "/".join([*reversed(parents[:depth]), file.source])
            if taken.get(source, root) == root:
                break
        taken[source] = root
        out.append(file if source == file.source else replace(file, source=source))
    return out


def _progress_bar(console: Console, show: bool) -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not show,
    )


def _sort_orphans(
    store: ChunkStore, manifest: dict[str, DocEntry], pending: list[RawSource]
) -> tuple[dict[str, set[str]], list[str]]:
    """Chunks of no complete document, left by a run that was stopped. Those of a document
    about to be indexed in the same version are kept (`stored`, by document): ids are
    deterministic, so they are exactly what would be embedded again, and the document goes on
    from where it was cut. The rest are deleted. Returns what was kept and the sources the
    report lists as repaired."""
    complete = {doc_prefix(e.source, e.doc_hash) for e in manifest.values()}
    resumable = {doc_prefix(d.source, d.doc_hash) for d in pending}
    orphans: dict[str, list[str]] = {}
    for cid in store.all_ids():
        prefix = cid.rsplit("-", 1)[0]
        if prefix not in complete:
            orphans.setdefault(prefix, []).append(cid)
    sources = sorted(store.source_of(ids[0]) for ids in orphans.values())
    stored: dict[str, set[str]] = {}
    for prefix, ids in orphans.items():
        if prefix in resumable:
            stored[prefix] = set(ids)
        else:
            store.delete_ids(ids)
    return stored, sources


@dataclass
class _FirstChunk:
    """The document's first chunk, written last as its completion mark."""

    metadata: dict
    embedded: int  # chunks embedded for the document in this run


def _embed_and_store(
    store: ChunkStore,
    model: BaseEmbedding,
    nodes: Iterator[TextNode],
    stored: set[str],
    advance: Callable[[int], object],
    writer: ThreadPoolExecutor,
) -> _FirstChunk | None:
    """Embed and add a document's chunks, its first chunk last (the completion mark); None
    for a document with no chunks. Chunks in `stored` (kept from a run that was stopped)
    are not embedded again.

    Chunks are made, embedded and written a slice at a time, so memory stays bounded
    however large the file: only the first chunk is held to the end. Writes go to a single
    writer thread, so Chroma stores one slice while the model embeds the next (both release
    the GIL); at most two slices wait for it, and all of a document's writes are awaited
    before it counts as done.
    """
    first = next(nodes, None)
    if first is None:
        return None
    embedded = 0
    writes: list[Future[None]] = []

    def put(batch: list[TextNode]) -> None:
        nonlocal embedded
        todo = [n for n in batch if n.node_id not in stored]
        if todo:
            try:
                vectors = model.get_text_embedding_batch([n.get_content() for n in todo])
            except IndexError_:
                raise
            except Exception as err:
                raise IndexError_(
                    f"embedding failed with {model.model_name}: {first_line(err)}"
                ) from err
            for node, vector in zip(todo, vectors, strict=True):
                node.embedding = vector
            while len(writes) >= 2:
                writes.pop(0).result()
            writes.append(writer.submit(store.add, todo))
            embedded += len(todo)
        advance(len(batch))

    try:
        for batch in _slices(nodes, _EMBED_SLICE):
            put(batch)
        put([first])
    finally:
        for write in writes:
            write.result()
    return _FirstChunk(first.metadata, embedded)


def _slices(nodes: Iterator[TextNode], size: int) -> Iterator[list[TextNode]]:
    batch: list[TextNode] = []
    for node in nodes:
        batch.append(node)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
