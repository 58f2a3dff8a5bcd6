"""Where an indexed line sits in a paged original (a PDF), so a citation can name the page
and the line on that page a person sees.

A PDF's indexed line is a paragraph: the visual lines of the page joined back together
(hyphenated breaks mended), because a reader needs the whole sentence and one embedding per
paragraph keeps indexing as fast as plain text. Its layout records where each visual line
starts inside that text: `page.line@offset` anchors, e.g. `7.12@0 7.13@88`. Pages and lines
are counted from 1, every line the page shows (running headers included) counted, so the
number matches what a person counts on the page. Written by hand: llama-index's PDF readers
keep a page per document but no line positions.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass


@dataclass(frozen=True)
class Anchor:
    offset: int  # where the visual line starts in the indexed line's text
    page: int
    line: int  # on that page


@dataclass(frozen=True)
class Place:
    """What a citation names: a page and the lines on it."""

    page: int
    line_start: int
    line_end: int


def encode(anchors: list[Anchor]) -> str:
    return " ".join(f"{a.page}.{a.line}@{a.offset}" for a in anchors)


def decode(layout: str) -> list[Anchor]:
    anchors = []
    for item in layout.split():
        place, offset = item.split("@")
        page, line = place.split(".")
        anchors.append(Anchor(int(offset), int(page), int(line)))
    return anchors


def locate(layout: str, start: int | None = None, end: int | None = None) -> Place | None:
    """The page and lines holding characters [start, end) of an indexed line; without a
    span, the whole line's first page. A span that runs onto the next page is cited on the
    page where it starts."""
    anchors = decode(layout) if layout else []
    if not anchors:
        return None
    offsets = [a.offset for a in anchors]
    if start is None or end is None:
        first = anchors[0]
        same_page = [a for a in anchors if a.page == first.page]
        return Place(first.page, first.line, same_page[-1].line)
    first = anchors[max(bisect.bisect_right(offsets, start) - 1, 0)]
    last = anchors[max(bisect.bisect_right(offsets, max(end - 1, start)) - 1, 0)]
    if last.page != first.page:
        last = first
    return Place(first.page, first.line, last.line)


def visual_lines(text: str, layout: str) -> list[tuple[Anchor, str]]:
    """The visual lines of an indexed line, each with its anchor (for showing a page)."""
    anchors = decode(layout)
    out = []
    for i, anchor in enumerate(anchors):
        stop = anchors[i + 1].offset if i + 1 < len(anchors) else len(text)
        out.append((anchor, text[anchor.offset : stop].strip()))
    return out
