"""Deterministic synthetic corpora for benchmarks: news-like sentences with numbers, names
and places, in files of 1,000 lines, so results are comparable between runs."""

from __future__ import annotations

import random
from pathlib import Path

_SUBJECTS = [
    "The council",
    "A spokesperson",
    "The ministry",
    "Local officials",
    "The company",
    "Researchers",
    "The agency",
    "Witnesses",
    "The committee",
    "Engineers",
]
_VERBS = [
    "reported",
    "announced",
    "confirmed",
    "estimated",
    "denied",
    "recorded",
    "approved",
    "counted",
    "measured",
    "described",
]
_OBJECTS = [
    "new cases",
    "delivered parcels",
    "damaged bridges",
    "planted trees",
    "stolen bikes",
    "rescued animals",
    "cancelled flights",
    "repaired roads",
    "opened schools",
    "hired nurses",
]
_PLACES = [
    "in Lisbon",
    "near the harbour",
    "across the northern region",
    "in three districts",
    "at the main station",
    "outside the capital",
    "along the river",
    "in Tartu",
    "on the coast",
    "in the old town",
]
_TIMES = [
    "on Monday",
    "last week",
    "in March",
    "overnight",
    "since 2019",
    "by Friday",
    "this morning",
    "in the spring",
    "on 12 June",
    "over the weekend",
]


def sentence(rng: random.Random) -> str:
    return (
        f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.randint(2, 9999)} "
        f"{rng.choice(_OBJECTS)} {rng.choice(_PLACES)} {rng.choice(_TIMES)}."
    )


def make_corpus(folder: Path, lines: int, seed: int = 7, per_file: int = 1000) -> Path:
    """Write `lines` lines of text into `folder` (reused if already complete)."""
    marker = folder / ".complete"
    if marker.exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    for start in range(0, lines, per_file):
        count = min(per_file, lines - start)
        text = "\n".join(sentence(rng) for _ in range(count)) + "\n"
        (folder / f"doc_{start // per_file:05d}.txt").write_text(text, encoding="utf-8")
    marker.write_text("ok")
    return folder
