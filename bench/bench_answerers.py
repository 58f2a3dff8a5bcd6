"""Answerers side by side, in one run: the gold set over seeds/, and SQuAD 2.0 dev with
whole-corpus retrieval, asking the questions of the articles the reader was not calibrated on
(odd-numbered).

The README's comparison of the hand-written extractive answerer with the reader was made with
this script at commit fb6be9d, the last that had the extractive answerer
(`--modes extractive,reader`); today it runs the modes that exist (`reader`, and `llm` when
one is configured).

Run: `python bench/bench_answerers.py [--squad-limit N] [--modes reader,llm]`. Prints a
markdown table.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# The preamble and a column list, as in bench_reader_ceiling.py and bench_chat.py: each
# benchmark runs as a plain script (hence the sys.path line) and names what it reports.
SQUAD = REPO.parent / "shared" / "squad" / "dev-v2.0.json"
KEYS = (
    "answer_f1",
    "answer_em",
    "citation_precision",
    "citation_recall",
    "abstention_accuracy",
    "false_abstention_rate",
    "retrieval_recall_at_1",
    "latency_p50_ms",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--squad-limit", type=int, default=None)
    parser.add_argument("--modes", default="reader")
    args = parser.parse_args()

    from evals.datasets import load_gold, sample_questions, squad_to_corpus
    from evals.runner import evaluate

    sets = [("gold", REPO / "seeds", load_gold(REPO / "evals" / "gold.jsonl"))]
    with tempfile.TemporaryDirectory(prefix="qa-bench-answerers-") as scratch:
        if SQUAD.exists():
            corpus = Path(scratch) / "squad"
            questions = squad_to_corpus(SQUAD, corpus, "odd")
            sets.append(
                (
                    "SQuAD 2.0 dev, odd articles",
                    corpus,
                    sample_questions(questions, args.squad_limit, 0),
                )
            )
        rows = []
        for name, corpus, questions in sets:
            for mode in args.modes.split(","):
                metrics, _ = evaluate(corpus, questions, mode=mode)
                rows.append((name, len(questions), mode, metrics))
                print(f"done: {name} / {mode}", file=sys.stderr, flush=True)
    print("| set | questions | answerer | " + " | ".join(KEYS) + " |")
    print("|---|---:|---|" + "---:|" * len(KEYS))
    for name, n, mode, m in rows:
        values = " | ".join(f"{m[k]:.0f}" if k.endswith("_ms") else f"{m[k]:.3f}" for k in KEYS)
        print(f"| {name} | {n} | {mode} | {values} |")


if __name__ == "__main__":
    main()
