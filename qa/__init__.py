"""Answers questions over indexed sources, citing the lines that support each answer.

from qa import Assistant
answer = Assistant().ask("How many bridges were rebuilt?")
"""

from qa.assistant import Assistant, QAError, QuestionError
from qa.settings import Settings
from qa.types import NO_ANSWER, Answer, Citation, RetrievedLine, Timings, Turn

__all__ = [
    "NO_ANSWER",
    "Answer",
    "Assistant",
    "Citation",
    "QAError",
    "QuestionError",
    "RetrievedLine",
    "Settings",
    "Timings",
    "Turn",
]
