"""Gold question sets for evaluation: a JSONL format of our own, plus conversion from SQuAD.

SQuAD is converted into a plain-text corpus (one file per article, one paragraph per line) so the
normal ingestion pipeline can index it, and each question cites the exact line that holds its
answer, which lets us score retrieval and citations as well as answer text.
"""

from __future__ import annotations

import json
import random
import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, Field, ValidationError

from qa import Turn, lookup_query  # the answerer's own history model and lookup

__all__ = [
    "GoldCitation",
    "GoldQuestion",
    "Turn",
    "load_gold",
    "sample_questions",
    "squad_to_corpus",
]

T = TypeVar("T")

# Everything str.splitlines() treats as a line boundary, not just "\n": a paragraph must stay one
# line however a reader later splits the file, or cited line numbers would drift.
_LINE_BREAKS = re.compile(r"\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
_SLUG_MAX = 60


class GoldCitation(BaseModel):
    """Where in the corpus the answer is supported: a file name and 1-based line numbers (of
    `page`, for a paged document such as a PDF; of the file otherwise)."""

    source: str
    lines: list[int]
    page: int | None = None


class GoldQuestion(BaseModel):
    """One evaluation item; `answers` are aliases, any of which counts as correct."""

    id: str
    question: str
    answers: list[str] = Field(default_factory=list)
    citations: list[GoldCitation] = Field(default_factory=list)
    answerable: bool = True
    history: list[Turn] = Field(default_factory=list)

    def retrieval_query(self) -> str:
        """What retrieval is scored on, for our pipeline and the stock one alike: what the
        answerer itself looks up (a follow-up together with the turn before it)."""
        return lookup_query(self.question, self.history)


def _one_line(text: str) -> str:
    return _LINE_BREAKS.sub(" ", text)


def _describe(err: ValidationError) -> str:
    parts = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "<root>"
        parts.append(f"{loc}: {e['msg']}")
    return "; ".join(parts)


def load_gold(path: Path) -> list[GoldQuestion]:
    """Read a hand-written gold set, failing loudly on the first bad line.

    Errors read "FILE:LINENO: reason" on a single line so editors and CI logs can jump straight to
    the offending line. Duplicate ids are rejected because results are reported per id.
    """
    path = Path(path)
    questions: list[GoldQuestion] = []
    seen: dict[str, int] = {}
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ValueError(f"{path}:{lineno}: not valid UTF-8 ({exc.reason})") from None
            if lineno == 1:
                line = line.removeprefix("\ufeff")
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                reason = f"invalid JSON: {exc.msg} (column {exc.colno})"
                raise ValueError(f"{path}:{lineno}: {reason}") from None
            try:
                question = GoldQuestion.model_validate(data)
            except ValidationError as exc:
                reason = _one_line(_describe(exc))
                raise ValueError(f"{path}:{lineno}: {reason}") from None
            if question.id in seen:
                reason = f"duplicate id {question.id!r} (first on line {seen[question.id]})"
                raise ValueError(f"{path}:{lineno}: {_one_line(reason)}")
            seen[question.id] = lineno
            questions.append(question)
    return questions


def _slug(title: str) -> str:
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^A-Za-z0-9_]+", "_", ascii_title).strip("_")
    slug = slug[:_SLUG_MAX].rstrip("_")
    return slug or "article"


def _require(mapping: Any, key: str, where: str) -> Any:
    if not isinstance(mapping, dict) or key not in mapping:
        raise ValueError(f"not SQuAD JSON: missing {key!r} in {where}")
    return mapping[key]


ARTICLE_SETS = ("all", "even", "odd")


def squad_to_corpus(squad_json: Path, out_dir: Path, articles: str = "all") -> list[GoldQuestion]:
    """Turn a SQuAD v1.1/v2.0 file into an indexable corpus and the matching gold questions.

    The corpus always holds every article (retrieval searches all of them); `articles` picks
    whose questions are returned: "even" or "odd" article numbers split a file into a part for
    calibrating settings and a part for reporting on, as the reader's calibration does.

    File names start with the article index so they are unique and sort in source order even
    when titles collide. Line breaks inside a context (and inside answers, to keep answers
    findable in their line) become spaces so each paragraph is exactly one cited line.
    Existing files in `out_dir` are overwritten, other files are left alone.
    """
    squad_json = Path(squad_json)
    out_dir = Path(out_dir)
    if articles not in ARTICLE_SETS:
        raise ValueError(f"unknown article set {articles!r}: use all, even or odd")
    try:
        doc = json.loads(squad_json.read_text(encoding="utf-8-sig"))
        doc_articles = _require(doc, "data", "the top level")
        if not isinstance(doc_articles, list):
            raise ValueError("not SQuAD JSON: 'data' must be a list")
        out_dir.mkdir(parents=True, exist_ok=True)
        questions: list[GoldQuestion] = []
        for index, article in enumerate(doc_articles):
            asked = _convert_article(index, article, out_dir)
            if articles == "all" or index % 2 == (articles == "odd"):
                questions.extend(asked)
    except ValueError as exc:
        # Name the input file: conversions are often run over several files in one go.
        raise ValueError(f"{squad_json}: {_one_line(str(exc))}") from None
    return questions


def _convert_article(index: int, article: Any, out_dir: Path) -> list[GoldQuestion]:
    where = f"data[{index}]"
    paragraphs = _require(article, "paragraphs", where)
    name = f"{index:03d}_{_slug(str(article.get('title', '')))}.txt"
    lines: list[str] = []
    questions: list[GoldQuestion] = []
    for p_index, paragraph in enumerate(paragraphs):
        p_where = f"{where}.paragraphs[{p_index}]"
        lines.append(_one_line(str(_require(paragraph, "context", p_where))))
        line_no = len(lines)
        for qa in paragraph.get("qas", []):
            qid = str(_require(qa, "id", p_where))
            answerable = not bool(qa.get("is_impossible", False))
            answers: list[str] = []
            if answerable:
                for answer in qa.get("answers", []):
                    text = _one_line(str(_require(answer, "text", f"question {qid!r}")))
                    if text not in answers:
                        answers.append(text)
                if not answers:
                    raise ValueError(f"answerable question {qid!r} has no answers")
            citations = [GoldCitation(source=name, lines=[line_no])] if answerable else []
            questions.append(
                GoldQuestion(
                    id=qid,
                    question=str(_require(qa, "question", f"question {qid!r}")),
                    answers=answers,
                    citations=citations,
                    answerable=answerable,
                )
            )
    content = "".join(line + "\n" for line in lines)  # an article without paragraphs stays empty
    (out_dir / name).write_text(content, encoding="utf-8", newline="\n")
    return questions


def sample_questions(questions: Sequence[T], limit: int | None, seed: int) -> list[T]:
    """Pick a reproducible subset so quick runs are comparable across runs and machines.

    Original order is kept so that a sample reads like the full set (same article grouping).
    """
    if limit is None or limit >= len(questions):
        return list(questions)
    if limit < 0:
        raise ValueError(f"limit must be >= 0 or None, got {limit}")
    picked = sorted(random.Random(seed).sample(range(len(questions)), limit))
    return [questions[i] for i in picked]
