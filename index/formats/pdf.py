"""PDFs with a text layer, read with pypdfium2 (PDFium's own text extraction: about 4 ms a
page here, some 20 times faster than pdfplumber on the same file).

Each page's text runs are grouped into the visual lines a reader sees and numbered from 1 on
that page. Lines are then joined into paragraphs, the unit that is indexed: a paragraph ends
at a wider step between lines, after a sentence that ends a line early (the next word would
have fitted), or at a page break after a finished sentence; a double-spaced text is read a
printed line a paragraph. A word hyphenated across a line break is mended ("recon-" +
"struction" -> "reconstruction"). Running headers and footers (the same line at the top or
bottom of most pages, page numbers aside) keep their line numbers but are not indexed: they
would otherwise be a paragraph of every page. Written by hand: PDF libraries give lines or
whole pages, not paragraphs that remember their lines.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass

from index.formats.base import DEFAULT_LIMITS, Extracted, Limits, UnreadableSource, expect
from index.layout import Anchor, encode

MAX_PARAGRAPH_CHARS = 3000  # a page with no visible paragraphs is still cut into units
_SENTENCE_END = re.compile(r"[.!?:;\"”’)]$")
_HYPHEN_BREAK = re.compile(r"[^\W\d_]-$")
_DIGITS = re.compile(r"\d+")
# A page number on its own ("7", "Page 7", "Page 7 of 12", "7 / 12", "- 7 -"), digits as #.
_PAGE_NUMBER = re.compile(r"^(?:page\s*)?#(?:\s*(?:of|/)\s*#)?$|^[-–]\s*#\s*[-–]$")
MAX_RUNNING_CHARS = 100  # headers and footers are short; a long line that recurs is text


@dataclass
class VisualLine:
    page: int
    number: int  # on its page, from 1
    text: str
    left: float
    right: float
    top: float  # PDF coordinates: y grows upwards
    bottom: float
    page_height: float

    @property
    def at_edge(self) -> bool:
        """In the top or bottom tenth of the page, where running heads and feet sit."""
        return self.top > 0.9 * self.page_height or self.bottom < 0.1 * self.page_height

    @property
    def height(self) -> float:
        return self.top - self.bottom


def load(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Extracted:
    expect(data, "pdf", "a PDF")
    import pypdfium2 as pdfium  # imported here: only indexing PDFs needs it

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as err:
        if "password" in str(err).lower():
            raise UnreadableSource("encrypted PDF: save a copy without a password") from err
        raise UnreadableSource(f"not a readable PDF (damaged or truncated: {err})") from err
    declared = len(document)
    read = min(declared, limits.max_pdf_pages)
    note = None
    if read < declared:
        # A 1 KB file can declare a million pages (one page object reused by its page tree).
        note = f"read the first {read:,} of {declared:,} pages (the limit is QA_MAX_PDF_PAGES)"
    try:
        pages = [_page_lines(document, i) for i in range(read)]
    except pdfium.PdfiumError as err:
        raise UnreadableSource(f"not a readable PDF (damaged page: {err})") from err
    finally:
        document.close()
    if not any(line.text for page in pages for line in page):
        raise UnreadableSource("no text layer (a scanned PDF?): OCR is not supported")
    running = _running_lines(pages)
    body = [[line for line in page if not _running(line, running)] for page in pages]
    lines: list[str] = []
    layouts: list[str] = []
    for text, anchors in _paragraphs(body):
        lines.append(text)
        layouts.append(encode(anchors))
    return Extracted(lines=lines, encoding=None, layouts=layouts, note=note)


def _page_lines(document: object, index: int) -> list[VisualLine]:
    """The page's text runs (PDFium's rectangles, in content order) merged into lines: a run
    that overlaps the current line vertically continues it."""
    page = document[index]  # type: ignore[index]
    textpage = page.get_textpage()
    height = float(page.get_height())
    try:
        rects = [textpage.get_rect(i) for i in range(textpage.count_rects())]
        merged: list[list[float]] = []
        for left, bottom, right, top in rects:
            if merged:
                last = merged[-1]
                overlap = min(top, last[3]) - max(bottom, last[1])
                if overlap > 0.5 * min(top - bottom, last[3] - last[1]) and left >= last[0]:
                    last[1], last[2], last[3] = (
                        min(bottom, last[1]),
                        max(right, last[2]),
                        max(top, last[3]),
                    )
                    continue
            merged.append([left, bottom, right, top])
        lines: list[VisualLine] = []
        for left, bottom, right, top in merged:
            text = " ".join(textpage.get_text_bounded(left, bottom, right, top).split())
            text = text.replace("\ufffe", "-").replace("\x02", "-")  # PDFium's soft hyphens
            if text:
                number = len(lines) + 1
                lines.append(VisualLine(index + 1, number, text, left, right, top, bottom, height))
        return lines
    finally:
        textpage.close()
        page.close()


def _key(line: VisualLine) -> tuple[str, int]:
    """A line as it recurs from page to page: page numbers aside, at the same height."""
    return (_DIGITS.sub("#", line.text.lower()), round(line.top / 6))


def _running(line: VisualLine, running: set[tuple[str, int]]) -> bool:
    key = _key(line)
    return key in running or (line.at_edge and bool(_PAGE_NUMBER.match(key[0])))


def _running_lines(pages: list[list[VisualLine]]) -> set[tuple[str, int]]:
    """Short lines at the top or bottom edge of a page that recur at the same height on at
    least half of the pages (two at least): running headers, footers and page numbers
    ("Page 3 of 12")."""
    if len(pages) < 2:
        return set()
    seen: Counter[tuple[str, int]] = Counter()
    for page in pages:
        edge = {_key(ln) for ln in page if ln.at_edge and len(ln.text) <= MAX_RUNNING_CHARS}
        seen.update(edge)
    need = max(2, (len(pages) + 1) // 2)
    return {key for key, count in seen.items() if count >= need}


def _paragraphs(pages: list[list[VisualLine]]) -> list[tuple[str, list[Anchor]]]:
    out: list[tuple[str, list[Anchor]]] = []
    text = ""
    anchors: list[Anchor] = []
    previous: VisualLine | None = None
    for page in pages:
        pitch = _typical_pitch(page)
        height = statistics.median([ln.height for ln in page]) if page else 0.0
        width = max((line.right for line in page), default=0.0)
        for line in page:
            if previous is not None and _breaks(previous, line, pitch, height, width, len(text)):
                out.append((text, anchors))
                text, anchors = "", []
            if text and _HYPHEN_BREAK.search(text) and line.text[:1].islower():
                text = text[:-1]  # mend "recon-" + "struction"
            elif text:
                text += " "
            anchors.append(Anchor(len(text), line.page, line.number))
            text += line.text
            previous = line
    if text:
        out.append((text, anchors))
    return out


def _typical_pitch(page: list[VisualLine]) -> float:
    gaps = [a.top - b.top for a, b in zip(page, page[1:], strict=False) if a.top > b.top]
    return statistics.median(gaps) if gaps else 0.0


def _breaks(
    previous: VisualLine, line: VisualLine, pitch: float, height: float, width: float, size: int
) -> bool:
    """Whether `line` starts a new paragraph after `previous`."""
    if size >= MAX_PARAGRAPH_CHARS:
        return True
    finished = bool(_SENTENCE_END.search(previous.text))
    if line.page != previous.page:
        return finished
    # A wider step down than the page's usual line spacing, or than 2.4 times the glyphs'
    # height (body text steps about 1.6 times it; this also parts one-line paragraphs,
    # whose spacing is the page's usual one). Tops and bottoms move with ascenders and
    # descenders: the smaller step is the truer.
    step = min(previous.top - line.top, previous.bottom - line.bottom)
    if pitch and step > 1.4 * pitch:
        return True
    if height and step > 2.4 * height:
        return True
    if line.top > previous.top:  # back up the page: a new column or a text box
        return True
    return finished and _ended_early(previous, line, width)


def _ended_early(previous: VisualLine, line: VisualLine, right_edge: float) -> bool:
    """Whether the next line's first word would have fitted on `previous`: then the line
    was ended on purpose, not wrapped (the test typesetters apply)."""
    words = line.text.split()
    if not words or not previous.text:
        return False
    per_char = (previous.right - previous.left) / len(previous.text)
    return right_edge - previous.right > per_char * (len(words[0]) + 1)
