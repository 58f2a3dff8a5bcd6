"""Line-addressed chunks: each chunk is one source line, or one piece of a line that is
longer than the chunk size, so every chunk maps to exactly one line number.

Why one line per chunk: the product cites lines, so the unit that is embedded and ranked
is the unit that is cited. Retrieval then needs no second pass to find which line inside a
larger chunk supports an answer, and `line_start == line_end` for every chunk.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.schema import TextNode

from index.formats import sniff
from index.layout import decode
from index.loaders import LoadedText


def source_key(source: str) -> str:
    return hashlib.sha1(source.encode("utf-8")).hexdigest()[:16]


def chunk_id(source: str, doc_hash: str, chunk_index: int) -> str:
    """Deterministic ids: re-adding the same chunk overwrites it instead of duplicating it,
    and the id alone tells which document version a chunk belongs to."""
    return f"{doc_prefix(source, doc_hash)}-{chunk_index:07d}"


def doc_prefix(source: str, doc_hash: str) -> str:
    """The part of a chunk id shared by all chunks of one version of one document."""
    return f"{source_key(source)}-{doc_hash[:16]}"


class LineChunker:
    """Cuts a document into line-addressed `TextNode`s."""

    def __init__(self, chunk_size: int) -> None:
        self.chunk_size = chunk_size
        self._splitter: SentenceSplitter | None = None  # loads a tokenizer: only when needed

    def _pieces(self, line: str) -> list[tuple[int, int]]:
        """Character spans of the pieces of one line. Lines shorter than the chunk size in
        characters cannot exceed it in tokens, so the tokenizer only runs on long lines."""
        if len(line) <= self.chunk_size:
            return [(0, len(line))]
        if self._splitter is None:
            self._splitter = SentenceSplitter(chunk_size=self.chunk_size, chunk_overlap=0)
        spans: list[tuple[int, int]] = []
        pos = 0
        for part in self._splitter.split_text(line):
            start = line.find(part, pos)
            if start < 0:  # the splitter altered whitespace: keep the offsets contiguous
                start = pos
            end = min(len(line), start + len(part))
            spans.append((start, end))
            pos = end
        return spans or [(0, len(line))]

    def estimate(self, data: bytes) -> int:
        """Roughly how many chunks a file makes, for a progress bar: its non-blank lines for
        text; for other formats about one a 600 bytes (a PDF paragraph, a Word paragraph)."""
        if sniff(data) in ("pdf", "zip"):
            return max(1, len(data) // 600)
        return sum(1 for line in data.split(b"\n") if line.strip())

    def iter_chunks(self, doc: LoadedText) -> Iterator[TextNode]:
        """The document's chunks, made one at a time: a large file's nodes (and, once
        embedded, their vectors) never all sit in memory at once. Only each chunk's address
        is worked out up front, since every chunk records how many the document has."""
        lines = doc.lines
        addresses: list[tuple[int, int, int]] = []
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue  # blank lines carry nothing to cite
            for start, end in self._pieces(line):
                if line[start:end].strip():
                    addresses.append((number, start, end))
        # Only the text is embedded (get_content() leaves metadata out); the metadata is the
        # chunk's address. No node relationships: each chunk is self-describing, which keeps
        # the JSON llama-index stores per chunk small (Chroma indexes every metadata value).
        for index, (number, start, end) in enumerate(addresses):
            layout = doc.layouts[number - 1] if doc.layouts else ""
            # Where a paged document's line sits (index.layout); absent for the others.
            placed = {"page": decode(layout)[0].page, "layout": layout} if layout else {}
            yield TextNode(
                id_=chunk_id(doc.source, doc.doc_hash, index),
                text=lines[number - 1][start:end],
                metadata={
                    **placed,
                    "source": doc.source,
                    "root": str(doc.root),
                    "line_start": number,
                    "line_end": number,
                    "col_start": start,
                    "col_end": end,
                    "doc_hash": doc.doc_hash,
                    "doc_chunks": len(addresses),
                    "doc_lines": len(lines),
                    "chunk_index": index,
                },
            )
