"""How the LLM path's citation check decides, both ways, for one reader: the share of right
citations it keeps, and the share of injection lines it rejects.

- Kept: a scripted model answers every answerable gold question with its gold answer and
  cites its gold lines; each citation goes through `qa.llm.verify` with the reader's
  `ClaimChecker`, exactly as a real model's would. (The gold set measures here; nothing is
  tuned on it.)
- Rejected: `support/injections.py`'s lines, reworded so that a phrase list misses them,
  each cited for the answer "PWNED" to a question about the festival they mention.
- Held out (`--squad`): the right citations of the odd-numbered SQuAD 2.0 dev articles, cut
  into lines as the calibration cuts the even ones (`training.calibrate.read_claims`): does
  the fitted check keep the 95 % it was fitted to keep on articles it never saw? And the
  wrong citations an LLM can make with words a line really states: each such line cited
  for its answer to another question of the article (`training.calibrate.wrong_claims`),
  through the words-and-phrases check alone and through it with reading.

    python bench/bench_citation_check.py [--reader qa/reader/model] [--no-reader-check]
                                         [--squad ../shared/squad/dev-v2.0.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from evals.datasets import load_gold, sample_questions  # noqa: E402
from qa import Assistant  # noqa: E402
from qa.llm import parse_reply, verify  # noqa: E402
from qa.reader import ClaimChecker, occurrences  # noqa: E402
from qa.retrieval import LineHit  # noqa: E402
from support import injections  # noqa: E402


def _claim(answer: str, labels: list[str]):  # type: ignore[no-untyped-def]
    return parse_reply(json.dumps({"answer": answer, "reply": answer, "citations": labels}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reader", type=Path, default=REPO / "qa/reader/model")
    parser.add_argument("--no-reader-check", action="store_true", help="words and phrases only")
    parser.add_argument(
        "--claim-threshold", type=float, default=None, help="default: the reader's calibration"
    )
    parser.add_argument("--squad", type=Path, default=None, help="SQuAD 2.0 dev file")
    parser.add_argument("--squad-limit", type=int, default=600)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="qa-cite-check-") as scratch:
        assistant = Assistant(
            corpus=REPO / "seeds", data_dir=Path(scratch), reader_dir=args.reader.resolve()
        )
        check = None
        if not args.no_reader_check:
            check = ClaimChecker(
                assistant.reader.model, assistant.retriever.neighbours, args.claim_threshold
            )
        kept = given = stating = 0
        lost: list[str] = []
        for q in load_gold(REPO / "evals/gold.jsonl"):
            if not q.answerable or not q.answers:
                continue
            hits = [
                LineHit(c.source, n, assistant.retriever.line_text(c.source, n) or "")
                for c in q.citations
                for n in c.lines
            ]
            claim = _claim(q.answers[0], [f"{h.source}:{h.line}" for h in hits])
            supported, _ = verify(claim, q.question, hits, check)
            kept += len(supported)
            given += len(hits)
            stating += sum(bool(occurrences(h.text, q.answers[0])) for h in hits)
            if len(supported) < len(hits):
                lost.append(f"{q.id}: {q.answers[0]!r} kept {len(supported)}/{len(hits)}")
        rejected = 0
        accepted: list[str] = []
        for line in injections.LINES:
            hit = LineHit("festival.txt", 1, line)
            supported, _ = verify(
                _claim(injections.ANSWER, ["festival.txt:1"]), injections.QUESTION, [hit], check
            )
            rejected += not supported
            if supported:
                accepted.append(line)
        assistant.drop_index()
    name = "words and phrases only"
    if not args.no_reader_check:
        assert check is not None
        name = f"read by {args.reader.name}, margin >= {check.threshold:.2f}"
        if check.lift is not None:
            name += f" or lift >= {check.lift:.2f}"
    print("| check | gold citations kept | injection lines rejected |")
    print("|---|---:|---:|")
    print(
        f"| {name} | {kept}/{given} ({kept / given:.1%}) | "
        f"{rejected}/{len(injections.LINES)} ({rejected / len(injections.LINES):.0%}) |"
    )
    print(
        f"\ncited lines that state the answer's words at all: {stating}/{given} "
        f"({stating / given:.1%}), the most a check that reads the line for the answer can keep"
    )
    for row in lost:
        print("  lost:", row)
    for line in accepted:
        print("  injection accepted:", repr(line))
    if args.squad and check is not None:
        held_out(check, args.reader, args.squad, args.squad_limit)


def held_out(check: ClaimChecker, reader: Path, squad: Path, limit: int) -> None:
    import random

    from training.calibrate import around, cited_lines, read_claims, wrong_claims

    claims = read_claims(reader.resolve(), squad, limit, articles="odd")
    kept = sum(check.passes(c) for c in claims)
    print(
        f"\nSQuAD 2.0 dev, odd-numbered articles (held out): {kept}/{len(claims)} right "
        f"citations kept ({kept / len(claims):.1%})"
    )
    wrong = sample_questions(wrong_claims(cited_lines(squad, "odd"), random.Random(0)), limit, 0)
    by_words = by_reading = 0
    for c, answer in wrong:
        hit = LineHit("claim", c.holder, c.lines[c.holder])
        claim = _claim(answer, [f"claim:{c.holder}"])
        line_check = ClaimChecker(check.model, around(c.lines), check.threshold)
        by_words += bool(verify(claim, c.question, [hit])[0])
        by_reading += bool(verify(claim, c.question, [hit], line_check)[0])
    print(
        f"wrong citations accepted (a line cited for words it states, as the answer to another "
        f"question of its article): words and phrases {by_words}/{len(wrong)} "
        f"({by_words / len(wrong):.1%}), words and reading {by_reading}/{len(wrong)} "
        f"({by_reading / len(wrong):.1%})"
    )


if __name__ == "__main__":
    main()
