"""Where the reader's answers are lost: the answer given the right line ("oracle"), the answer
chosen over every line of the corpus (gold set only: the seeds are small), and the product's
answer through retrieval at 8, 16 and 24 lines, with each kind of failure, the confidence's
AUROC and calibration error, and the time a question takes. One or more reader folders are
measured in the same run, so their rows compare.

    python bench/bench_reader_loss.py --reader qa/reader/model \\
        --reader ~/.cache/qa/train/reader/candidate
    python bench/bench_reader_loss.py --squad-limit 600 --lines 8 16 24
    python bench/bench_reader_loss.py --way answer_span=agreed \
        --way further_citations=answer,follow_up=resolved --lines 8

With `--way`, each reader is also measured with those `answering` settings changed (each
`--way` one set of changes, comma-separated), and compared against itself as it ships.

The SQuAD rows ask the odd-numbered SQuAD 2.0 dev articles (the even ones calibrate), over a
corpus of every article, as `qa eval --format squad --articles odd` does.

With two or more readers, each set ends with every further reader compared to the first,
question by question at the first number of lines (`evals.compare`): a measure is worse only
when the candidate trails by more than two bootstrap standard errors, and the answer F1 may not
trail at all. That verdict, on every set, is what a candidate must pass to be shipped
(docs/training.md).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

# The same preamble as bench_reader_ceiling.py and bench_answerers.py (deliberate: each
# benchmark is a script run on its own, from any folder).
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from evals.compare import at_least_as_good, compare, table  # noqa: E402
from evals.datasets import GoldQuestion, sample_questions  # noqa: E402
from evals.metrics import f1  # noqa: E402
from evals.run import load_questions  # noqa: E402
from evals.runner import QuestionResult, evaluate, failures  # noqa: E402
from qa import Assistant, Settings  # noqa: E402
from qa.reader import Passage  # noqa: E402

SQUAD = REPO.parent / "shared" / "squad" / "dev-v2.0.json"
COLUMNS = (
    "answer_f1",
    "citation_precision",
    "citation_recall",
    "abstention_accuracy",
    "false_abstention_rate",
    "confidence_auroc",
    "confidence_ece",
    "confidence_overconfidence",
    "confidence_ece_by_chance",
    "latency_p50_ms",
)


def _best_answer(assistant: Assistant, question: str, lines: list[tuple[str, int]]) -> str:
    """The reader's best span over these lines read together, threshold aside."""
    model = assistant.reader.model
    passages = []
    for source, line in lines:
        text = assistant.retriever.line_text(source, line) or ""
        passages.append(Passage(text, *assistant.retriever.neighbours(source, line)))
    spans = model.read(model.question(question), passages)
    scored = [
        (s.margin, p.text[s.start : s.end]) for s, p in zip(spans, passages, strict=True) if s
    ]
    return max(scored)[1].strip() if scored else ""


def reading_f1(
    corpus: Path, questions: list[GoldQuestion], reader: Path, every_line: bool
) -> tuple[float, float | None]:
    """Answer F1 over the answerable questions given their gold lines, and (when asked)
    given every line of the corpus."""
    with tempfile.TemporaryDirectory(prefix="qa-loss-") as scratch:
        assistant = Assistant(
            Settings().with_overrides(
                corpus=corpus, data_dir=Path(scratch), reader_dir=reader, collection="loss"
            )
        )
        every = [(s, n) for s in assistant.documents() for n, _ in _numbered(assistant, s)]
        oracle, whole = [], []
        for q in questions:
            if not q.answerable:
                continue
            gold = [(c.source, n) for c in q.citations for n in c.lines]
            oracle.append(f1(_best_answer(assistant, q.question, gold), q.answers))
            if every_line:
                whole.append(f1(_best_answer(assistant, q.question, every), q.answers))
        assistant.drop_index()
    return statistics.fmean(oracle), (statistics.fmean(whole) if every_line else None)


def _numbered(assistant: Assistant, source: str) -> list[tuple[int, str]]:
    return [(line.line, line.text) for line in assistant.lines(source)]


Variant = tuple[Path, str]  # a reader folder and a way: setting changes ("" as it ships)


def _way(text: str) -> dict[str, str]:
    """`--way answer_span=agreed,follow_up=resolved` as setting overrides."""
    pairs = [part.split("=", 1) for part in text.split(",") if part.strip()]
    if any(len(p) != 2 for p in pairs):
        raise SystemExit(f"--way {text!r}: write SETTING=VALUE[,SETTING=VALUE]")
    return {key.strip(): value.strip() for key, value in pairs}


def _label(variant: Variant) -> str:
    reader, way = variant
    return f"{reader.parent.name}/{reader.name}" + (f" ({way})" if way else "")


def rows_for(
    name: str,
    corpus: Path,
    questions: list[GoldQuestion],
    variants: list[Variant],
    lines: list[int],
    every_line: bool,
    kept: dict[Variant, list[QuestionResult]],
) -> list[str]:
    """The rows of one set; each variant's results at the first number of lines go to
    `kept`, for the paired comparison."""
    out = []
    readings: dict[Path, tuple[float, float | None]] = {}
    for variant in variants:
        reader, way = variant
        started = time.time()
        if reader not in readings:  # the oracle reads without choosing: once per reader
            readings[reader] = reading_f1(corpus, questions, reader, every_line)
        oracle, whole = readings[reader]
        label = _label(variant)
        for k in lines:
            settings = Settings().with_overrides(reader_dir=reader, top_k=k, **_way(way))
            metrics, results = evaluate(corpus, questions, settings=settings)
            kept.setdefault(variant, results)
            kinds = failures(results)
            cells = " | ".join(
                f"{metrics[c]:.1f}" if c.endswith("_ms") else f"{metrics[c]:.3f}" for c in COLUMNS
            )
            shown_whole = f"{whole:.3f}" if whole is not None else "-"
            out.append(
                f"| {name} | {label} | {k} | {oracle:.3f} | {shown_whole} | {cells} | "
                + " / ".join(str(kinds[x]) for x in kinds)
                + " |"
            )
            print(out[-1], flush=True)
        print(f"  ({label} on {name}: {time.time() - started:.0f} s)", flush=True)
    return out


def paired(
    name: str,
    variants: list[Variant],
    kept: dict[Variant, list[QuestionResult]],
    *,
    fitted: bool,
) -> str:
    """Each reader as it ships against the first (whether a candidate may replace the
    shipped reader on this set), and each way against its own reader as it ships (whether
    the way may become the default), question by question (`evals.compare`). `fitted`: the
    confidence was calibrated on questions like these (SQuAD articles, not the gold set)."""
    parts = []
    for variant in variants[1:]:
        reader, way = variant
        base = (reader, "") if way else variants[0]
        differences = compare(kept[base], kept[variant], fitted=fitted)
        verdict = "at least as good" if at_least_as_good(differences) else "NOT at least as good"
        parts.append(
            f"\n{name}: {_label(variant)} against {_label(base)}: {verdict}\n{table(differences)}"
        )
    return "\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reader", type=Path, action="append", help="a reader model folder")
    parser.add_argument("--lines", type=int, nargs="+", default=[8, 16, 24])
    parser.add_argument("--squad-limit", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-gold", action="store_true")
    parser.add_argument(
        "--way", action="append", default=[], help="setting changes, e.g. answer_span=agreed"
    )
    args = parser.parse_args()
    readers = [p.expanduser().resolve() for p in (args.reader or [REPO / "qa/reader/model"])]
    for way in args.way:
        Settings().with_overrides(**_way(way))  # a misspelt setting stops here, not an hour on
    variants = [(reader, way) for reader in readers for way in ["", *args.way]]
    head = (
        "| set | reader | lines read | oracle F1 | every-line F1 | "
        + " | ".join(COLUMNS)
        + " | wrong line / wrong span / declined answerable / answered unanswerable |"
    )
    rule = "|---|---|---:|---:|---:|" + "---:|" * len(COLUMNS) + "---|"
    print(head + "\n" + rule, flush=True)
    rows: list[str] = []
    comparisons: list[str] = []
    with tempfile.TemporaryDirectory(prefix="qa-loss-") as scratch:
        if not args.no_gold:
            corpus, gold = load_questions(
                REPO / "seeds", REPO / "evals/gold.jsonl", "gold", Path(scratch)
            )
            kept: dict[Variant, list[QuestionResult]] = {}
            rows += rows_for("gold", corpus, gold, variants, args.lines, True, kept)
            comparisons.append(paired("gold", variants, kept, fitted=False))
        if SQUAD.exists() and args.squad_limit:
            corpus, converted = load_questions(None, SQUAD, "squad", Path(scratch), "odd")
            questions = sample_questions(converted, args.squad_limit, args.seed)
            name = f"SQuAD 2.0 dev odd, {len(questions)} q"
            kept = {}
            rows += rows_for(name, corpus, questions, variants, args.lines, False, kept)
            comparisons.append(paired(name, variants, kept, fitted=True))
    print("\n" + head + "\n" + rule + "\n" + "\n".join(rows))
    print("\n".join(c for c in comparisons if c))


if __name__ == "__main__":
    main()
