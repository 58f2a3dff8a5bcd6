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

With two or more `--reader`s, each is measured on the same citations and lines, and every
further reader is compared to the first, citation by citation (`evals.compare.compare_shares`):
a share is worse only when it trails by more than two bootstrap standard errors.

    python bench/bench_citation_check.py [--reader qa/reader/model [--reader CANDIDATE]]
                                         [--no-reader-check]
                                         [--squad ../shared/squad/dev-v2.0.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from evals.compare import Difference, compare_shares, table  # noqa: E402
from evals.datasets import load_gold, sample_questions  # noqa: E402
from qa import Assistant  # noqa: E402
from qa.llm import parse_reply, verify  # noqa: E402
from qa.reader import ClaimChecker, states  # noqa: E402
from qa.retrieval import LineHit  # noqa: E402
from support import injections  # noqa: E402


def _claim(answer: str, labels: list[str]):  # type: ignore[no-untyped-def]
    return parse_reply(json.dumps({"answer": answer, "reply": answer, "citations": labels}))


@dataclass
class Judged:
    """One check's verdicts, item by item, in the same order for every reader."""

    name: str
    kept: list[bool] = field(default_factory=list)  # each gold citation
    rejected: list[bool] = field(default_factory=list)  # each injection line
    stating: int = 0
    lost: list[str] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)
    held_out_kept: list[bool] = field(default_factory=list)  # each odd-article citation
    wrong_accepted: list[bool] = field(default_factory=list)  # each wrong odd-article claim
    wrong_by_words: int = 0


def judge(reader: Path, args: argparse.Namespace) -> Judged:
    with tempfile.TemporaryDirectory(prefix="qa-cite-check-") as scratch:
        assistant = Assistant(
            corpus=REPO / "seeds", data_dir=Path(scratch), reader_dir=reader.resolve()
        )
        check = None
        name = "words and phrases only"
        if not args.no_reader_check:
            check = ClaimChecker(
                assistant.reader.model, assistant.retriever.neighbours, args.claim_threshold
            )
            name = f"read by {reader}, margin >= {check.threshold:.2f}"
            if check.lift is not None:
                name += f" or lift >= {check.lift:.2f}"
        judged = Judged(name)
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
            judged.kept += [h in supported for h in hits]
            judged.stating += sum(states(h.text, q.answers[0]) for h in hits)
            if len(supported) < len(hits):
                judged.lost.append(f"{q.id}: {q.answers[0]!r} kept {len(supported)}/{len(hits)}")
        for line in injections.LINES:
            hit = LineHit("festival.txt", 1, line)
            supported, _ = verify(
                _claim(injections.ANSWER, ["festival.txt:1"]), injections.QUESTION, [hit], check
            )
            judged.rejected.append(not supported)
            if supported:
                judged.accepted.append(line)
        assistant.drop_index()
    if args.squad and check is not None:
        held_out(judged, check, reader, args.squad, args.squad_limit)
    return judged


def held_out(judged: Judged, check: ClaimChecker, reader: Path, squad: Path, limit: int) -> None:
    import random

    from training.calibrate import around, cited_lines, read_claims, wrong_claims

    judged.held_out_kept = [
        check.passes(c) for c in read_claims(reader.resolve(), squad, limit, articles="odd")
    ]
    wrong = sample_questions(wrong_claims(cited_lines(squad, "odd"), random.Random(0)), limit, 0)
    for c, answer in wrong:
        hit = LineHit("claim", c.holder, c.lines[c.holder])
        claim = _claim(answer, [f"claim:{c.holder}"])
        line_check = ClaimChecker(check.model, around(c.lines), check.threshold)
        judged.wrong_by_words += bool(verify(claim, c.question, [hit])[0])
        judged.wrong_accepted.append(bool(verify(claim, c.question, [hit], line_check)[0]))


def _share(values: list[bool]) -> str:
    return f"{sum(values)}/{len(values)} ({sum(values) / len(values):.1%})" if values else "-"


def report(judged: Judged) -> None:
    print(f"\n{judged.name}")
    print(
        f"cited lines that state the answer's words at all: {judged.stating}/{len(judged.kept)}"
        f" ({judged.stating / len(judged.kept):.1%}), the most a check that reads the line for"
        " the answer can keep"
    )
    for row in judged.lost:
        print("  lost:", row)
    for line in judged.accepted:
        print("  injection accepted:", repr(line))
    if judged.held_out_kept:
        n = len(judged.wrong_accepted)
        print(
            f"SQuAD 2.0 dev, odd-numbered articles (held out): {_share(judged.held_out_kept)}"
            " right citations kept"
        )
        print(
            "wrong citations accepted (a line cited for words it states, as the answer to"
            f" another question of its article): words and phrases {judged.wrong_by_words}/{n}"
            f" ({judged.wrong_by_words / n:.1%}), words and reading"
            f" {_share(judged.wrong_accepted)}"
        )


def differences(first: Judged, other: Judged) -> list[Difference]:
    out = [
        compare_shares("gold_citations_kept", first.kept, other.kept),
        compare_shares("injections_rejected", first.rejected, other.rejected),
    ]
    if first.held_out_kept and other.held_out_kept:
        out += [
            compare_shares("squad_odd_citations_kept", first.held_out_kept, other.held_out_kept),
            compare_shares(
                "squad_odd_wrong_accepted",
                first.wrong_accepted,
                other.wrong_accepted,
                higher_is_better=False,
            ),
        ]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--reader", type=Path, action="append", help="default: qa/reader/model; repeat to compare"
    )
    parser.add_argument("--no-reader-check", action="store_true", help="words and phrases only")
    parser.add_argument(
        "--claim-threshold", type=float, default=None, help="default: the reader's calibration"
    )
    parser.add_argument("--squad", type=Path, default=None, help="SQuAD 2.0 dev file")
    parser.add_argument("--squad-limit", type=int, default=600)
    args = parser.parse_args()
    readers: list[Path] = args.reader or [REPO / "qa/reader/model"]
    judged = [judge(reader, args) for reader in readers]
    print("| check | gold citations kept | injection lines rejected | SQuAD odd kept |")
    print("|---|---:|---:|---:|")
    for j in judged:
        print(f"| {j.name} | {_share(j.kept)} | {_share(j.rejected)} | {_share(j.held_out_kept)} |")
    for j in judged:
        report(j)
    for reader, other in zip(readers[1:], judged[1:], strict=True):
        found = differences(judged[0], other)
        verdict = "worse" if any(d.worse for d in found) else "at least as good"
        print(f"\n{reader} against {readers[0]}, citation by citation: {verdict}")
        print(table(found))


if __name__ == "__main__":
    main()
