"""The learned reader: a small transformer fine-tuned to find an answer span in one line (or
say the line does not hold it), shipped as an ONNX file and run on onnxruntime."""

from qa.reader.answerer import (
    ClaimChecker,
    ReaderAnswerer,
    Reading,
    ReadLine,
    Support,
    about,
    normalise,
    occurrences,
    same_answer,
    states,
)
from qa.reader.model import Passage, ReaderModel, ReaderModelError

__all__ = [
    "ClaimChecker",
    "Passage",
    "ReadLine",
    "ReaderAnswerer",
    "ReaderModel",
    "ReaderModelError",
    "Reading",
    "about",
    "normalise",
    "occurrences",
    "same_answer",
    "states",
    "Support",
]
