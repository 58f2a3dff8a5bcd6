"""Word documents (.docx): one paragraph a line, and each table row a line.

Every piece of text Word shows is read: plain runs, accepted insertions (`w:ins`), content
controls (`w:sdt`, inline and around whole paragraphs), smart tags, fields' results, hyperlinks
and text boxes (each text-box paragraph a line of its own, after the paragraph that anchors
it). Deleted and moved-away text (`w:del`, `w:moveFrom`) stays out, and a drawing's fallback
copy (`mc:Fallback`) is not read twice.

A table's first row is taken as its header, and each later row is written with it, as
"Town: Lyon; Visitors: 4,200": the row stays one citable fact, and the reader (trained on
prose) finds "4,200" when asked about visitors to Lyon, which it does not in "Lyon | 4,200".

Written over lxml's `iterparse` rather than python-docx: python-docx builds the whole
document in memory (a 45 KB file of 28 MB of empty paragraphs took 1.3 GB) and skips
content controls around paragraphs. Here each top-level block is read and then freed, so
memory is bounded by the largest paragraph or table, not by the document.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from typing import IO

from lxml import etree

from index.formats.base import DEFAULT_LIMITS, Extracted, Limits, UnreadableSource, expect

# What a .docx may unpack to. Real documents are a few MB of XML; more is a zip bomb.
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
# Paragraphs and tables a .docx may hold: a 1,000-page report has about 20,000. More is a
# file made to keep the indexer busy (a 45 KB file can hold millions of empty paragraphs).
MAX_BLOCKS = 500_000

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
_BODY, _P, _TBL, _SDT, _TR, _TC = (f"{_W}{n}" for n in ("body", "p", "tbl", "sdt", "tr", "tc"))
_TEXT, _TAB, _BREAKS = f"{_W}t", f"{_W}tab", {f"{_W}br", f"{_W}cr"}
_HIDDEN = {f"{_W}del", f"{_W}moveFrom", f"{_MC}Fallback"}  # never shown as text
_TEXT_BOX = f"{_W}txbxContent"


def load(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Extracted:
    expect(data, "zip", "a Word file (.docx)")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise UnreadableSource(f"not a readable Word file (damaged zip: {err})") from err
    if unpacked > MAX_UNPACKED_BYTES:
        raise UnreadableSource(
            f"refused: unpacks to {unpacked // 2**20:,} MB (over "
            f"{MAX_UNPACKED_BYTES // 2**20} MB), which looks like a zip bomb"
        )
    if "word/document.xml" not in archive.namelist():
        raise UnreadableSource("not a Word file: the zip archive has no word/document.xml")
    try:
        with archive.open("word/document.xml") as xml:
            lines = list(_body_lines(xml))
    except (etree.XMLSyntaxError, zipfile.BadZipFile, OSError, ValueError, EOFError) as err:
        raise UnreadableSource(f"not a readable Word file (damaged XML: {err})") from err
    return Extracted(lines=lines, encoding=None)


def _body_lines(xml: IO[bytes]) -> Iterator[str]:
    """The lines of each top-level block of the body, in order, freeing each once read."""
    blocks = 0
    for _, element in etree.iterparse(
        xml, events=("end",), tag=(_P, _TBL, _SDT), resolve_entities=False
    ):
        parent = element.getparent()
        if parent is None or parent.tag != _BODY:
            continue  # inside a table, a content control or a text box: read with its block
        blocks += 1
        if blocks > MAX_BLOCKS:
            raise UnreadableSource(
                f"refused: more than {MAX_BLOCKS:,} paragraphs and tables, which looks like "
                "a file made to exhaust the indexer"
            )
        yield from _block(element)
        # Free what was read (and the siblings before it), so memory stays bounded.
        element.clear()
        while element.getprevious() is not None:
            del parent[0]


def _block(element: etree._Element) -> Iterator[str]:
    if element.tag == _P:
        yield from _paragraph(element)
    elif element.tag == _TBL:
        yield from _table(element)
    elif element.tag == _SDT:  # a content control around paragraphs or tables
        for content in element.iterchildren(f"{_W}sdtContent"):
            for child in content:
                yield from _block(child)


def _paragraph(p: etree._Element) -> Iterator[str]:
    """The paragraph's own text, then each text box anchored in it."""
    yield _one_line("".join(_shown_text(p)))
    for box in _text_boxes(p):
        for child in box:
            yield from _block(child)


def _shown_text(element: etree._Element) -> Iterator[str]:
    """Text Word shows inside `element`, without deleted text, fallbacks or text boxes."""
    for child in element:
        tag = child.tag
        if tag in _HIDDEN or tag == _TEXT_BOX:
            continue
        if tag == _TEXT:
            yield child.text or ""
        elif tag == _TAB or tag in _BREAKS:
            yield " "
        else:
            yield from _shown_text(child)


def _text_boxes(element: etree._Element) -> Iterator[etree._Element]:
    for child in element:
        if child.tag in _HIDDEN:
            continue
        if child.tag == _TEXT_BOX:
            yield child
        else:
            yield from _text_boxes(child)


def _table(tbl: etree._Element) -> list[str]:
    grid = [
        [_one_line(" ".join(_cell_text(tc))) for tc in tr.iterchildren(_TC)]
        for tr in tbl.iterchildren(_TR)
    ]
    if not grid:
        return []
    header, *body = grid
    rows = [" | ".join(c for c in header if c)]
    for cells in body:
        if len(cells) == len(header) and all(header):
            rows.append("; ".join(f"{h}: {c}" for h, c in zip(header, cells, strict=True) if c))
        else:
            rows.append(" | ".join(c for c in cells if c))
    return rows


def _cell_text(tc: etree._Element) -> Iterator[str]:
    for child in tc:
        if child.tag == _P:
            yield " ".join(_paragraph(child))
        elif child.tag == _TBL:
            yield " ".join(_table(child))
        elif child.tag == _SDT:
            yield " ".join(_block(child))


def _one_line(text: str) -> str:
    return " ".join(text.split())
