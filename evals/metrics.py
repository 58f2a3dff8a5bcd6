"""SQuAD-style answer scoring.

The normalisation and token F1 follow the official SQuAD v2.0 evaluation script exactly, so our
numbers are comparable with published SQuAD results and with other tools that use that script.
"""

from __future__ import annotations

import collections
import math
import re
import string
from collections.abc import Sequence

__all__ = ["exact_match", "f1", "normalize_answer", "percentile"]

_PUNCTUATION = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)


def normalize_answer(s: str) -> str:
    """Canonicalise an answer so that case, punctuation, articles and spacing do not count.

    Same steps and order as the official script (lower, strip punctuation, drop articles,
    collapse whitespace); changing the order would change scores on edge cases.
    """
    text = s.lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def _tokens(s: str) -> list[str]:
    return normalize_answer(s).split()


def _gold_aliases(golds: Sequence[str]) -> list[str]:
    """Return the aliases to score against, mirroring the official v2.0 script.

    Aliases that normalise to nothing carry no information and are dropped; when none remain the
    question is unanswerable and the only correct prediction is the empty answer, hence [""].
    """
    if isinstance(golds, str):
        # A bare string is a Sequence[str] too; scoring against its characters would be silent
        # nonsense, so refuse it.
        raise TypeError("golds must be a sequence of answer strings, not a single string")
    aliases = [g for g in golds if normalize_answer(g)]
    return aliases or [""]


def _f1_single(prediction: str, gold: str) -> float:
    gold_toks = _tokens(gold)
    pred_toks = _tokens(prediction)
    if not gold_toks or not pred_toks:
        # Abstaining is exactly right for an unanswerable question and exactly wrong otherwise.
        return 1.0 if gold_toks == pred_toks else 0.0
    common = collections.Counter(gold_toks) & collections.Counter(pred_toks)
    num_same = sum(common.values())
    if num_same == 0:
        return 0.0
    precision = num_same / len(pred_toks)
    recall = num_same / len(gold_toks)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str, golds: Sequence[str]) -> float:
    """Score 1.0 when the prediction equals any gold alias after normalisation.

    Taking the best alias means a prediction is not penalised for matching a different but
    equally valid annotation. Empty `golds` marks an unanswerable question (see `_gold_aliases`).
    """
    pred = normalize_answer(prediction)
    return max(1.0 if pred == normalize_answer(g) else 0.0 for g in _gold_aliases(golds))


def f1(prediction: str, golds: Sequence[str]) -> float:
    """Token-overlap F1 against the best gold alias, giving partial credit for near misses."""
    return max(_f1_single(prediction, g) for g in _gold_aliases(golds))


def percentile(values: Sequence[float], q: float) -> float:
    """Linearly interpolated percentile (numpy's default method) without a numpy dependency.

    Used for latency reports (p50/p95); an empty run reports 0.0 rather than failing so that a
    summary can always be printed.
    """
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"percentile q must be within 0..100, got {q!r}")
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    lo = math.floor(rank)
    hi = math.ceil(rank)
    if lo == hi:
        return float(ordered[lo])
    frac = rank - lo
    return float(ordered[lo] + (ordered[hi] - ordered[lo]) * frac)
