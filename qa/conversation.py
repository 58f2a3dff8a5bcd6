"""Conversation history: the earlier turns a question may lean on, in whatever shape a caller
keeps them, and how a follow-up question is looked up with them."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

from qa.types import NO_ANSWER, Answer, Turn

HistoryLike = Sequence[Turn | dict[str, str] | tuple[str, str]]

SURROGATES = re.compile("[\ud800-\udfff]")
# A question that opens with a joining word or points back with a pronoun leans on the turn
# before it ("And how many were repaired?", "Where did he go?").
_FOLLOW_UP = re.compile(
    r"^(?:and|but|also|so|then|what about|how about|and what|and how|and who|and where|"
    r"and when)\b|\b(?:he|she|they|it|him|her|them|his|its|their|that|those|these|this|there)\b",
    re.IGNORECASE,
)


def turns(history: HistoryLike | None) -> list[Turn]:
    """Earlier turns as `Turn`s: the API accepts Turns, {"question", "answer"} dicts or
    (question, answer) pairs. Text that is not valid Unicode is dropped, like in a question."""
    out: list[Turn] = []
    for item in history or []:
        if isinstance(item, Turn):
            out.append(item)
        elif isinstance(item, dict):
            out.append(
                Turn(question=str(item.get("question", "")), answer=str(item.get("answer", "")))
            )
        elif isinstance(item, (tuple, list)) and item:
            answer = str(item[1]) if len(item) > 1 else ""
            out.append(Turn(question=str(item[0]), answer=answer))
    cleaned = [
        Turn(question=SURROGATES.sub("", t.question), answer=SURROGATES.sub("", t.answer))
        for t in out
    ]
    return [t for t in cleaned if t.question.strip()]


# Earlier turns an LLM is shown: enough for a follow-up's "he" or "that", few enough that an
# old exchange does not crowd out the source lines.
_TURNS_SHOWN = 4


def turn_after(answer: Answer) -> Turn:
    """What a later question may lean on from this answer: its question and short answer
    (for a chat that keeps the conversation next to what it rendered)."""
    said = NO_ANSWER if answer.abstained else (answer.answer or first_text_line(answer.text))
    return Turn(question=answer.question, answer=said)


def recent_turns(history: list[Turn]) -> list[Turn]:
    """The turns a model is shown with a question."""
    return history[-_TURNS_SHOWN:]


def first_text_line(text: str) -> str:
    """A reply's first line is its short answer; the quoted lines after it add noise."""
    lines = text.strip().splitlines()
    return lines[0].strip() if lines else ""


def looks_like_follow_up(text: str) -> bool:
    """Short questions, and questions that point back, lean on the previous turn."""
    return bool(_FOLLOW_UP.search(text.strip())) or len(text.split()) <= 4


def lookup_query(question: str, history: list[Turn]) -> str:
    """What retrieval looks up: a follow-up is looked up together with the question and the
    short answer before it, which say who "he" or "their" is. The reader still reads the
    question as asked."""
    if not history or not looks_like_follow_up(question):
        return question
    return f"{question} {history[-1].question} {previous_answer(history)[:200]}".strip()


def previous_answer(history: list[Turn]) -> str:
    """The short answer of the turn before; "" when there is none or it was declined."""
    said = first_text_line(history[-1].answer) if history else ""
    return "" if said == NO_ANSWER else said


# Third-person pronouns a follow-up uses for what the answer before it named ("When was she
# elected?" after "Ida Berg"). Hand-written: resolving who "she" is needs a coreference model,
# and none ships in a registry package; the reader is given the question both ways and keeps
# the reading it trusts more (`ReaderReplies`). A wrong guess can still win that way, which is
# why it is a setting (`follow_up`) measured per reader (docs/evaluation.md).
_PRONOUN = re.compile(r"\b(he|she|they|him|them|it|his|its|their|her)\b(?:\s+(\w+))?", re.I)
_POSSESSIVE = {"his", "its", "their"}
# After these words "her" is the object ("Who gave her the award?"), not a possessive.
# fmt: off
_AFTER_OBJECT = {
    "a", "an", "the", "this", "that", "these", "those", "to", "in", "on", "at", "for", "with",
    "by", "from", "of", "about", "as", "and", "or", "up", "out", "off", "down", "back", "over",
    "into", "than",
}
# fmt: on
# Longer answers are statements, not something a pronoun names.
_REFERENT_WORDS = 6


def with_referent(question: str, history: list[Turn]) -> str | None:
    """The question with its first third-person pronoun replaced by the previous short answer
    ("When was Ida Berg elected?"), or None when there is no pronoun, no earlier answer, or
    the answer is too long (or has no letters) to be what the pronoun names.

    Retrieval already looks a follow-up up with the turn before it (`lookup_query`); the
    reader reads one question against each line, and "she" alone lets it take any woman's
    election date from the lines retrieved."""
    said = previous_answer(history)
    if not re.search(r"[^\W\d_]", said) or len(said.split()) > _REFERENT_WORDS:
        return None
    found = _PRONOUN.search(question)
    if found is None:
        return None
    pronoun, following = found.group(1).lower(), (found.group(2) or "").lower()
    possessive = pronoun in _POSSESSIVE or (
        pronoun == "her" and bool(following) and following not in _AFTER_OBJECT
    )
    name = f"{said}'s" if possessive else said
    return f"{question[: found.start(1)]}{name}{question[found.end(1) :]}"


# The command line's conversation: each `qa ask` is a new process, so the turns that
# `qa ask --continue` leans on are kept in a file in the data dir.
CONVERSATION_FILE = "last-conversation.json"
_TURNS_KEPT = 20


def load_conversation(data_dir: Path) -> list[Turn]:
    """The turns of the last command-line conversation; none when there is none or the file
    cannot be read (a follow-up then stands alone, which is what a new user would get)."""
    try:
        data = json.loads((data_dir / CONVERSATION_FILE).read_text(encoding="utf-8"))
        return turns([dict(t) for t in data["turns"]])
    except (OSError, ValueError, KeyError, TypeError):
        return []


def save_conversation(data_dir: Path, history: list[Turn]) -> None:
    """Keep the conversation for the next `qa ask --continue` (written whole, then renamed,
    so a reader never sees half a file)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    tmp = data_dir / (CONVERSATION_FILE + ".tmp")
    payload = {"turns": [t.model_dump() for t in history[-_TURNS_KEPT:]]}
    tmp.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, data_dir / CONVERSATION_FILE)
