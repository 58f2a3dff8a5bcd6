"""SQuAD articles cut into lines the way documents reach the product: one line per paragraph
(how a SQuAD article is indexed) or lines of 1-3 sentences (how news paragraphs read). The
reader is trained on such lines (`training.groups`) and its LLM citation check is calibrated on
them (`training.calibrate`), so both see the line shapes of use."""

from __future__ import annotations

import random
import re

P_PARAGRAPH_ARTICLE = 0.4  # share of articles cut one line per paragraph

# A sentence ends at . ! or ? followed by a space and a capital, digit or quote, unless the
# word before is a common abbreviation. Rough, but only used to shape training lines.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”’)]?\s+(?=[A-Z0-9\"“(])")
_ABBREVIATION = re.compile(
    r"\b(?:Mr|Mrs|Ms|Dr|St|Jr|Sr|vs|etc|e\.g|i\.e|U\.S|No|Vol|Gen|Col|Lt)\.$"
)


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of a paragraph."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        if _ABBREVIATION.search(text[start : match.start()]):
            continue
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    return [(a, b) for a, b in spans if text[a:b].strip()]


def cut_paragraph(text: str, rng: random.Random) -> list[tuple[int, int]]:
    """Lines of 1-3 sentences."""
    sentences = split_sentences(text)
    lines: list[tuple[int, int]] = []
    i = 0
    while i < len(sentences):
        group = sentences[i : i + rng.choice((1, 1, 2, 2, 3))]
        lines.append((group[0][0], group[-1][1]))
        i += len(group)
    return lines


def article_lines(
    paragraphs: list[str], rng: random.Random
) -> tuple[list[str], list[tuple[int, int]]]:
    """An article's lines, cut one way for the whole article (a document has one shape),
    and for each its (paragraph, offset in the paragraph)."""
    by_paragraph = rng.random() < P_PARAGRAPH_ARTICLE
    lines: list[str] = []
    where: list[tuple[int, int]] = []
    for p, text in enumerate(paragraphs):
        spans = [(0, len(text))] if by_paragraph else cut_paragraph(text, rng)
        for a, b in spans:
            lines.append(text[a:b])
            where.append((p, a))
    return lines, where


def holding_line(
    lines: list[str], where: list[tuple[int, int]], paragraph: int, start: int, end: int
) -> int | None:
    """The line that holds the paragraph's characters [start, end) whole (an answer's
    line); None when they run across two lines."""
    return next(
        (
            i
            for i, (p, at) in enumerate(where)
            if p == paragraph and at <= start and end <= at + len(lines[i])
        ),
        None,
    )
