"""From a line that was read to the citation a person can follow: the file's line, or for a
paged document the page and the visual lines on it that hold the answer span."""

from __future__ import annotations

from index.layout import locate
from qa.retrieval import LineHit
from qa.types import Citation


def cite(hit: LineHit, span_start: int | None = None, span_end: int | None = None) -> Citation:
    place = locate(hit.layout, span_start, span_end) if hit.layout else None
    return Citation(
        source=hit.source,
        page=place.page if place else None,
        line_start=place.line_start if place else hit.line,
        line_end=place.line_end if place else hit.line,
        quote=hit.text,
        span_start=span_start,
        span_end=span_end,
    )
