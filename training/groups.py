"""Training groups for the reader, shaped like what it is given in use.

In use the reader is given the lines that retrieval ranks highest for a question and must
either point at the answer in one of them or say "not in any of these lines". So each SQuAD
1.1 train question becomes one group of lines:

- its article is cut into lines the way a document reaches the product: either one line per
  paragraph (how a SQuAD article is indexed) or lines of 1-3 sentences (how news paragraphs
  read), chosen per article;
- the lines are ranked against the question by the product's own keyword terms
  (`index.text.terms`) and BM25 (bm25s, in memory: a training run holds its articles
  anyway), and the group is the top
  `GROUP_LINES` of them, with the line holding the answer put in when retrieval missed it;
- in a share of groups (`P_NO_ANSWER`) every line holding the answer is left out, so the
  right output is "not in any of these lines"; in another share (`P_SWAPPED`) the question's
  name or number is swapped for another of the article's, which the lines do not say (the
  shape of SQuAD 2.0's unanswerable questions); in a third (`P_WORD_SWAPPED`) one of its
  nouns that the answer's line says is swapped for a noun of the article the lines do not
  say ("How many helicopters were shot down?" over a line about drones): the reader
  must notice what the question asks about, not only that a line has the answer's shape.

Dense retrieval is left out of the ranking here: embedding every line of SQuAD train costs
about 20 minutes of both cores before the first step, and BM25's top lines are already the
hard, on-topic negatives the product's reader meets.

A group is kept as character spans only; windows are made from it when a batch is formed
(`training.train.collate`), with the product's own `Featurizer`, so there is nothing to go
stale between the two. Nothing here reads the evaluation sets.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

import bm25s

from index.text import STOPWORDS, terms, words
from qa.reader.answerer import occurrences
from training.lines import article_lines, holding_line

GROUP_LINES = 4
P_NO_ANSWER = 0.25  # groups with the answer's lines left out
P_SWAPPED = 0.08  # groups asked with a swapped name or number (nothing answers them)
# Groups asked with another swapped word. Measured before it: a name or number swap alone
# left the reader answering questions about things no line mentions (SQuAD 2.0 odd
# abstention 0.130 -> 0.145 over 2,214 steps at 10 % false abstention).
P_WORD_SWAPPED = 0.06
_MIN_WORD = 4  # shorter words are mostly function words the stop list lacks

_NAME = re.compile(r"(?<!^)(?<![.?!] )\b[A-Z][\w'’-]*(?:\s+(?:of\s+|the\s+|de\s+)?[A-Z][\w'’-]*)*")
_NUMBER = re.compile(r"\b\d[\d,.]*\b")


@dataclass(frozen=True)
class Group:
    """One question and the lines it is read with. `lines` index `Article.lines`; `answers`
    holds (position in `lines`, char start, char end) of every answer occurrence in them:
    empty when nothing in the group answers. `holder` is the position of the line SQuAD's own
    answer stands in (-1: none): the answer's words said again in another line may be about
    something else ("1998" in a line about another event of that year)."""

    article: int
    question: str
    lines: tuple[int, ...]
    answers: tuple[tuple[int, int, int], ...]
    holder: int = -1


@dataclass(frozen=True)
class Article:
    lines: tuple[str, ...]


def _swap(question: str, lines: list[str], pool: list[str], rng: random.Random) -> str | None:
    """The question with one of its names or numbers replaced by another of the article's
    that none of the lines mentions; None when nothing can be swapped."""
    targets = [*_NAME.finditer(question), *_NUMBER.finditer(question)]
    rng.shuffle(targets)
    said = " ".join(lines).lower()
    for target in targets:
        is_number = target.group()[0].isdigit()
        choices = [
            c
            for c in pool
            if c[0].isdigit() == is_number
            and c.lower() not in said
            and c.lower() not in question.lower()
        ]
        if choices:
            return question[: target.start()] + rng.choice(choices) + question[target.end() :]
    return None


# Words that come before a noun (or its adjective): what a word swap looks behind, so that a
# noun is swapped for a noun ("how many drones" -> "how many helicopters") and the question
# stays a question, not a string of words a reader learns to refuse for being ungrammatical.
_DETERMINERS = frozenset(
    ("a", "an", "the", "this", "that", "these", "those", "its", "their", "his", "her", "our")
    + ("my", "your", "many", "much", "several", "which", "what", "whose", "each", "every")
    + ("some", "any", "few")
)


def _nouns(text: str) -> list[str]:
    """Lower-case words of the text that follow a determiner: mostly nouns (some adjectives),
    found without a tagger (none ships offline)."""
    tokens = words(text)
    return [
        w
        for before, w in zip(tokens, tokens[1:], strict=False)
        if before.lower() in _DETERMINERS
        and w.isalpha()
        and w.islower()
        and len(w) >= _MIN_WORD
        and w not in STOPWORDS
    ]


def _swap_word(
    question: str, holder: str, lines: list[str], pool: list[str], seed: str
) -> str | None:
    """The question with one of its nouns that the answer's line says replaced by a noun of
    the article none of the lines says (a plural by a plural); None when there is none. Its
    own seeded generator, so the groups' main sequence (and the run's plan) stays as it was
    before word swaps existed and a run in progress resumes from its checkpoint."""
    rng = random.Random(seed)
    said = {w.lower() for line in lines for w in words(line)}
    in_holder = {w.lower() for w in words(holder)}
    asked = {w.lower() for w in words(question)}
    targets = [w for w in dict.fromkeys(_nouns(question)) if w in in_holder]
    rng.shuffle(targets)
    for target in targets:
        plural = target.endswith("s")
        choices = [
            c for c in pool if c not in said and c not in asked and c.endswith("s") == plural
        ]
        if choices:
            return re.sub(rf"\b{re.escape(target)}\b", rng.choice(choices), question, count=1)
    return None


def build_groups(squad_path: Path, *, seed: int = 0) -> tuple[list[Article], list[Group]]:
    """Every question of a SQuAD 1.1 file as a group, in a seeded random order (so that any
    first part of the list is a fair sample of the whole)."""
    rng = random.Random(seed)
    data = json.loads(squad_path.read_text(encoding="utf-8"))["data"]
    articles: list[Article] = []
    groups: list[Group] = []
    for a, article in enumerate(data):
        paragraphs = [p["context"] for p in article["paragraphs"]]
        lines, where = article_lines(paragraphs, rng)
        articles.append(Article(tuple(lines)))
        if not lines:  # an article without paragraphs has no questions either
            continue
        retriever = bm25s.BM25()
        retriever.index([terms(t) or ["\x00"] for t in lines], show_progress=False)
        vocabulary = {t for line in lines for t in terms(line)}
        pool = sorted({m.group() for p in paragraphs for m in _NAME.finditer(p)})
        pool += sorted({m.group() for p in paragraphs for m in _NUMBER.finditer(p)})
        word_pool = sorted({w for p in paragraphs for w in _nouns(p)})
        for p, paragraph in enumerate(article["paragraphs"]):
            for qa in paragraph["qas"]:
                group = _group(
                    a, qa, p, lines, where, retriever, vocabulary, pool, word_pool, rng, seed
                )
                if group is not None:
                    groups.append(group)
    rng.shuffle(groups)
    return articles, groups


def _group(
    article: int,
    qa: dict,
    p: int,
    lines: list[str],
    where: list[tuple[int, int]],
    retriever: bm25s.BM25,
    vocabulary: set[str],
    pool: list[str],
    word_pool: list[str],
    rng: random.Random,
    seed: int,
) -> Group | None:
    answer = qa["answers"][0]
    a_start = int(answer["answer_start"])
    a_end = a_start + len(answer["text"])
    holder = holding_line(lines, where, p, a_start, a_end)
    if holder is None:  # the answer runs across two of our sentence lines
        return None
    query = [t for t in terms(qa["question"]) if t in vocabulary]
    depth = min(len(lines), GROUP_LINES * 3)
    ranked: list[int] = []
    if query:
        docs, scores = retriever.retrieve([query], k=depth, show_progress=False, n_threads=1)
        ranked = [int(d) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]
    rest = [i for i in range(len(lines)) if i not in ranked]
    rng.shuffle(rest)
    ranked += rest  # retrieval found fewer than asked: fill with other lines of the article
    text = answer["text"]
    roll = rng.random()
    if roll < P_NO_ANSWER:
        chosen = [i for i in ranked if not occurrences(lines[i], text) and i != holder]
        chosen = chosen[:GROUP_LINES]
        return Group(article, qa["question"], tuple(chosen), ()) if chosen else None
    chosen = ranked[:GROUP_LINES]
    if holder not in chosen:
        chosen[-1:] = [holder]
    said = [lines[i] for i in chosen]
    if roll < P_NO_ANSWER + P_SWAPPED:
        swapped = _swap(qa["question"], said, pool, rng)
        if swapped is not None:
            return Group(article, swapped, tuple(chosen), ())
    elif roll < P_NO_ANSWER + P_SWAPPED + P_WORD_SWAPPED:
        swapped = _swap_word(
            qa["question"], lines[holder], said, word_pool, f"{seed}:{qa.get('id', qa['question'])}"
        )
        if swapped is not None:
            return Group(article, swapped, tuple(chosen), ())
    offset = where[holder][1]
    answers = {(chosen.index(holder), a_start - offset, a_end - offset)}
    for k, i in enumerate(chosen):  # the same answer said again in another line of the group
        answers.update((k, s, e) for s, e in occurrences(lines[i], text))
    return Group(
        article, qa["question"], tuple(chosen), tuple(sorted(answers)), chosen.index(holder)
    )
