"""Example questions made from the indexed text itself.

A chat page that has not been asked anything yet should show what its documents are about
and what a question looks like, and every question it offers must be one the product
answers: an example that gets "The sources do not say." (or a stray word) teaches a new user
the wrong thing. So each example is made from a span the text states, a person and the words
written in front of their name ("Station manager Mirela Kovacs" gives "What is Mirela
Kovacs's role?", to be answered "Station manager"), and the answerer is asked it before it is shown
(`Assistant.example_questions`): it is offered only when the answer repeats those words.
Nothing here is a fixed list; it fits whatever corpus is indexed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from index.text import STOPWORDS, terms
from qa.names import Name, Token, tokenize
from qa.names import names as find_names

# At most this many words in front of a name describe the person ("Deputy harbour master").
_MAX_DESCRIPTION = 3
# How closely an answer must repeat the words an example was made from (F1 of content words).
_AGREEMENT = 0.5
# The question asked about a person. "Who is X?" was answered with another person's name
# more often than not: SQuAD's "who" answers are names, not descriptions.
_ASK = "What is {name}'s role?"


@dataclass(frozen=True)
class Example:
    """A question and the words of the text it was made from, which a right answer repeats."""

    question: str
    expected: str

    def answered_by(self, answer: str) -> bool:
        """Does `answer` say what the text says, and little else? (Its content words overlap
        the expected ones with an F1 of at least one half, as answers are scored: "Ann Lee and
        the mayor's aide" does not answer "What is Bo Chan's role?" with "aide".)"""
        said, expected = set(terms(answer)), set(terms(self.expected))
        common = len(said & expected)
        return common > 0 and 2 * common / (len(said) + len(expected)) >= _AGREEMENT


def example_questions(openings: Mapping[str, Sequence[str]], limit: int = 3) -> list[Example]:
    """Up to `limit` candidate examples about the people the documents describe in their
    opening lines (`openings`: each document's first lines, in the order the documents
    should be drawn from). Each document gives its first candidate before any gives a
    second, so the questions spread over the documents; a person already asked about is not
    asked again. Candidates still have to be answered before they are shown."""
    ranked = [_people(lines) for lines in openings.values()]
    out: list[Example] = []
    seen: set[str] = set()
    for rank in range(max((len(people) for people in ranked), default=0)):
        for people in ranked:
            if rank >= len(people):
                continue
            example, key = people[rank]
            if key in seen:
                continue
            seen.add(key)
            out.append(example)
            if len(out) == limit:
                return out
    return out


def _people(lines: Sequence[str]) -> list[tuple[Example, str]]:
    """A document's names of two or more words that have words written in front of them,
    each as "What is …'s role?" with those words as the expected answer, and the key that makes two
    spellings one person."""
    out: list[tuple[Example, str]] = []
    for line in lines:
        tokens = tokenize(line)
        for span in _names(line, tokens):
            described = _description(line, tokens, span)
            if described:
                out.append((Example(_ASK.format(name=span.text), described), _key(span.text)))
    return out


def _description(line: str, tokens: list[Token], span: Name) -> str:
    """The words right before a name, up to a function word, punctuation or the start of the
    line ("Lighthouse keeper Ada Brennan" gives "Lighthouse keeper"; "The mayor, Jo Bloggs"
    gives "mayor"). Whether they really describe the person (rather than being a verb, as in
    "met Bo Chan") is for the answerer to confirm."""
    first = span.first
    if first > 0 and line[tokens[first - 1].end : span.start].strip() == ",":
        first -= 1  # an apposition: "The mayor, Jo Bloggs"
        if not tokens[first].text.isalpha() or tokens[first].text.lower() in STOPWORDS:
            return ""
        start = first
        end = tokens[first].end
    else:
        start, end = first, span.start
        if first > 0 and line[tokens[first - 1].end : span.start] != " ":
            return ""
    while start > 0 and first - start < _MAX_DESCRIPTION:
        word = tokens[start - 1]
        gap = line[word.end : tokens[start].start]
        if gap != " " or not word.text.isalpha() or word.text.lower() in STOPWORDS:
            break
        start -= 1
    if start == first and first == span.first:
        return ""
    return line[tokens[start].start : end].strip(" ,")


def _key(text: str) -> str:
    """ "J.D. Vance" and "JD Vance" are one person."""
    return "".join(c for c in text.lower() if c.isalnum() or c == " ")


def _names(line: str, tokens: list[Token]) -> list[Name]:
    """Names of two or more words, each without the titles in front of it ("President Jane
    Doe" gives "Jane Doe")."""
    best: dict[int, Name] = {}
    for span in find_names(line, tokens):
        if span.last == span.first or not span.text[:1].isalpha():
            continue
        kept = best.get(span.last)
        if kept is None or span.first > kept.first:
            best[span.last] = span
    return sorted(best.values(), key=lambda s: s.start)
