"""Word documents (.docx, via python-docx): one paragraph a line, and each table row a line.

A table's first row is taken as its header, and each later row is written with it, as
"Town: Lyon; Visitors: 4,200": the row stays one citable fact, and the reader (trained on
prose) finds "4,200" when asked about visitors to Lyon, which it does not in "Lyon | 4,200".
"""

from __future__ import annotations

import io
import zipfile

from index.errors import first_line
from index.formats.base import Extracted, UnreadableSource, expect

# What a .docx may unpack to. Real documents are a few MB of XML; more is a zip bomb, which
# python-docx would expand in memory.
MAX_UNPACKED_BYTES = 200 * 1024 * 1024


def load(data: bytes) -> Extracted:
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
    import docx  # python-docx; imported here: only indexing Word files needs it
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
        lines: list[str] = []
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                lines.extend(_rows(block))
            else:
                lines.append(_one_line(block.text))
    except UnreadableSource:
        raise
    except Exception as err:  # python-docx and lxml raise many kinds on damaged XML
        raise UnreadableSource(f"not a readable Word file ({first_line(err)})") from err
    return Extracted(lines=lines, encoding=None)


def _rows(table: object) -> list[str]:
    grid: list[list[str]] = []
    for row in table.rows:  # type: ignore[attr-defined]
        cells: list[str] = []
        previous = None
        for cell in row.cells:
            if cell is not previous:  # a merged cell is handed back once per column
                cells.append(_one_line(cell.text))
            previous = cell
        grid.append(cells)
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


def _one_line(text: str) -> str:
    return " ".join(text.split())
