"""Training examples for the reader, shaped like what it reads in use.

In use the reader is given one retrieved line at a time, with its neighbours, and must either
point at the answer inside that line or say "not in this line". SQuAD 1.1 gives a paragraph and
a question answered inside it, so each question is turned into:

- a positive: the line holding the answer. A "line" is either a group of 1-3 sentences of the
  paragraph (like a news paragraph) or the whole paragraph (like a SQuAD corpus line);
- negatives: another line of the same paragraph (same topic, no answer), a line of another
  paragraph of the same article, and the answer's own line with the question's name or number
  swapped for one from elsewhere in the article (the shape of SQuAD 2.0's unanswerable
  questions: the line is on topic but does not say what is asked).

Nothing here reads the evaluation sets: SQuAD 2.0 dev and the gold questions are for measuring.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

from qa.reader.features import Featurizer, Window

# A sentence ends at . ! or ? followed by a space and a capital, digit or quote, unless the
# word before is a common abbreviation. Rough, but only used to shape training lines.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”’)]?\s+(?=[A-Z0-9\"“(])")
_ABBREVIATION = re.compile(
    r"\b(?:Mr|Mrs|Ms|Dr|St|Jr|Sr|vs|etc|e\.g|i\.e|U\.S|No|Vol|Gen|Col|Lt)\.$"
)
_NAME = re.compile(r"(?<!^)(?<![.?!] )\b[A-Z][\w'’-]*(?:\s+(?:of\s+|the\s+|de\s+)?[A-Z][\w'’-]*)*")
_NUMBER = re.compile(r"\b\d[\d,.]*\b")

P_PARAGRAPH_LINE = 0.3  # share of questions read with the whole paragraph as the line
P_SAME_PARAGRAPH = 0.5  # a negative from the same paragraph (sentence-group lines only)
P_OTHER_PARAGRAPH = 0.3  # a negative from another paragraph of the article
P_SWAPPED = 0.2  # the answer's line with a swapped name or number in the question


@dataclass(frozen=True)
class Example:
    """One window with its label: token positions of the answer, or (0, 0) for none."""

    window: Window
    start: int
    end: int

    @property
    def length(self) -> int:
        return len(self.window.input_ids)


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


def group_lines(text: str, rng: random.Random) -> list[tuple[int, int]]:
    """Cut a paragraph into lines of 1-3 sentences."""
    sentences = split_sentences(text)
    lines: list[tuple[int, int]] = []
    i = 0
    while i < len(sentences):
        n = rng.choice((1, 1, 2, 2, 3))
        group = sentences[i : i + n]
        lines.append((group[0][0], group[-1][1]))
        i += n
    return lines


@dataclass
class _Line:
    text: str
    paragraph: int
    offset: int  # where the line starts in its paragraph


def _article_lines(paragraphs: list[str], rng: random.Random) -> list[_Line]:
    out: list[_Line] = []
    for p, text in enumerate(paragraphs):
        for a, b in group_lines(text, rng):
            out.append(_Line(text[a:b], p, a))
    return out


def _label(window: Window, start: int, end: int) -> tuple[int, int]:
    """Token positions of the character span [start, end) in the window, or (0, 0) when the
    span is not wholly inside the window's line tokens."""
    offsets = window.offsets
    if not offsets or start < offsets[0][0] or end > offsets[-1][1]:
        return 0, 0
    first = next((t for t, (_, e) in enumerate(offsets) if e > start), None)
    last = next((t for t in range(len(offsets) - 1, -1, -1) if offsets[t][0] < end), None)
    if first is None or last is None or last < first:
        return 0, 0
    return window.first + first, window.first + last


def _swap(question: str, line_context: str, pool: list[str], rng: random.Random) -> str | None:
    """The question with one of its names or numbers replaced by another of the article's that
    the line and its neighbours do not mention; None when nothing can be swapped."""
    targets = [m for m in _NAME.finditer(question)] + [m for m in _NUMBER.finditer(question)]
    rng.shuffle(targets)
    lowered = line_context.lower()
    for target in targets:
        is_number = target.group()[0].isdigit()
        choices = [
            c
            for c in pool
            if c[0].isdigit() == is_number
            and c.lower() not in lowered
            and c.lower() not in question.lower()
        ]
        if choices:
            new = rng.choice(choices)
            return question[: target.start()] + new + question[target.end() :]
    return None


def build_examples(
    squad_path: Path,
    featurizer: Featurizer,
    *,
    seed: int = 0,
    max_questions: int | None = None,
    fraction: float = 1.0,
) -> list[Example]:
    """Training examples from a SQuAD v1.1 file, in a fixed order for a given seed: a seeded
    `fraction` of its questions (spread over all articles), at most `max_questions`."""
    rng = random.Random(seed)
    keep = random.Random(seed + 1)
    data = json.loads(squad_path.read_text(encoding="utf-8"))["data"]
    examples: list[Example] = []
    asked = 0
    for article in data:
        paragraphs = [p["context"] for p in article["paragraphs"]]
        lines = _article_lines(paragraphs, rng)
        by_paragraph: dict[int, list[int]] = {}
        for i, line in enumerate(lines):
            by_paragraph.setdefault(line.paragraph, []).append(i)
        pool = sorted({m.group() for p in paragraphs for m in _NAME.finditer(p)})
        pool += sorted({m.group() for p in paragraphs for m in _NUMBER.finditer(p)})
        for p, paragraph in enumerate(article["paragraphs"]):
            for qa in paragraph["qas"]:
                if max_questions is not None and asked >= max_questions:
                    return examples
                if fraction < 1.0 and keep.random() >= fraction:
                    continue
                asked += 1
                examples.extend(
                    _question_examples(
                        qa, p, paragraphs, lines, by_paragraph, pool, featurizer, rng
                    )
                )
    return examples


def _question_examples(
    qa: dict,
    p: int,
    paragraphs: list[str],
    lines: list[_Line],
    by_paragraph: dict[int, list[int]],
    pool: list[str],
    featurizer: Featurizer,
    rng: random.Random,
) -> list[Example]:
    answer = qa["answers"][0]
    a_start = int(answer["answer_start"])
    a_end = a_start + len(answer["text"])
    answer_text = answer["text"].lower()
    question = featurizer.question(qa["question"])
    out: list[Example] = []

    def read(text: str, before: str, after: str, span: tuple[int, int] | None, q=question) -> None:
        for window in featurizer.windows(q, text, before, after):
            start, end = _label(window, *span) if span else (0, 0)
            out.append(Example(window, start, end))

    def neighbours(i: int) -> tuple[str, str]:
        before = lines[i - 1].text if i > 0 else ""
        after = lines[i + 1].text if i + 1 < len(lines) else ""
        return before, after

    mine = by_paragraph[p]
    holder = next(
        (
            i
            for i in mine
            if lines[i].offset <= a_start and a_end <= lines[i].offset + len(lines[i].text)
        ),
        None,
    )
    whole_paragraph = holder is None or rng.random() < P_PARAGRAPH_LINE
    if whole_paragraph:
        before = paragraphs[p - 1] if p > 0 else ""
        after = paragraphs[p + 1] if p + 1 < len(paragraphs) else ""
        text, span = paragraphs[p], (a_start, a_end)
    else:
        assert holder is not None
        before, after = neighbours(holder)
        text = lines[holder].text
        span = (a_start - lines[holder].offset, a_end - lines[holder].offset)
    read(text, before, after, span)

    if not whole_paragraph and rng.random() < P_SAME_PARAGRAPH:
        others = [i for i in mine if i != holder and answer_text not in lines[i].text.lower()]
        if others:
            i = rng.choice(others)
            read(lines[i].text, *neighbours(i), None)
    if rng.random() < P_OTHER_PARAGRAPH and len(paragraphs) > 1:
        q = rng.choice([x for x in range(len(paragraphs)) if x != p])
        if whole_paragraph:
            if answer_text not in paragraphs[q].lower():
                before = paragraphs[q - 1] if q > 0 else ""
                after = paragraphs[q + 1] if q + 1 < len(paragraphs) else ""
                read(paragraphs[q], before, after, None)
        else:
            i = rng.choice(by_paragraph[q])
            if answer_text not in lines[i].text.lower():
                read(lines[i].text, *neighbours(i), None)
    if rng.random() < P_SWAPPED:
        swapped = _swap(qa["question"], f"{before} {text} {after}", pool, rng)
        if swapped:
            read(text, before, after, None, q=featurizer.question(swapped))
    return out
