"""Each kind of source file read as numbered lines: one module a format, one row in `LOADERS`.

A loader turns a file's bytes into `Extracted` lines: the units that are embedded, read by the
reader and cited. Plain text keeps its own lines; HTML and Word give one block or paragraph a
line; a PDF gives one paragraph a line, with a layout saying which page and visual lines it
came from (see `index.layout`). A file a loader cannot read raises `UnreadableSource` with a
reason a person can act on; it becomes a one-line "skipped" entry, never a traceback.

Written here rather than taken from llama-index's file readers: its PDF reader gives a page
as one document with no line positions, and its HTML and Word readers give the text without
the blocks, paragraphs and table rows a line-exact citation needs.
"""

from __future__ import annotations

from collections.abc import Callable

from index.formats import docx, html, pdf, text
from index.formats.base import Extracted, Limits, UnreadableSource, sniff

Loader = Callable[[bytes, Limits], Extracted]

LOADERS: dict[str, Loader] = {
    ".txt": text.load,
    ".md": text.load,
    ".pdf": pdf.load,
    ".html": html.load,
    ".htm": html.load,
    ".docx": docx.load,
}

__all__ = ["LOADERS", "Extracted", "Limits", "Loader", "UnreadableSource", "sniff"]
