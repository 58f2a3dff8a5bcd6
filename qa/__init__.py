"""Answers questions over indexed sources, citing the lines that support each answer.

from qa import Assistant
answer = Assistant().ask("How many bridges were rebuilt?")
"""

from index import SUPPORTED as SUPPORTED_TYPES
from index.layout import visual_lines
from qa.assistant import Assistant, QAError, QuestionError
from qa.conversation import load_conversation, lookup_query, save_conversation, turn_after
from qa.settings import MAX_TOP_K, Settings
from qa.types import (
    NO_ANSWER,
    Answer,
    Citation,
    RetrievedLine,
    Timings,
    Turn,
    confidence_words,
)

__all__ = [
    "MAX_TOP_K",
    "NO_ANSWER",
    "SUPPORTED_TYPES",
    "Answer",
    "Assistant",
    "Citation",
    "QAError",
    "QuestionError",
    "RetrievedLine",
    "Settings",
    "Timings",
    "Turn",
    "confidence_words",
    "load_conversation",
    "lookup_query",
    "save_conversation",
    "turn_after",
    "visual_lines",
]
