"""Where the answers are lost: the product with a reader that never misreads, next to the
default reader, on the gold set and on a SQuAD 2.0 sample, in the same run.

The reader is `support.gold_reader`, served over the OpenAI wire protocol on loopback
and configured as the LLM (`QA_LLM_MODEL`), so it goes through everything a real model
would: retrieval, the prompt, the citation check, the fallback and the evaluation's scoring.
Whatever it still misses was not among the lines shown to it (retrieval) or was dropped by
the citation check; the gap between its row and the reader's row is the reading itself.

Run: `python bench/bench_reader_ceiling.py [--squad-limit 1000] [--llm-lines 8 16 24]`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from evals.datasets import GoldQuestion, sample_questions  # noqa: E402
from evals.run import load_questions  # noqa: E402
from evals.runner import evaluate  # noqa: E402
from qa import Settings  # noqa: E402
from support.gold_reader import gold_reader  # noqa: E402
from support.openai_stub import ScriptedLLMServer  # noqa: E402

SQUAD = REPO.parent / "shared" / "squad" / "dev-v2.0.json"
COLUMNS = (
    "answer_f1",
    "citation_precision",
    "citation_recall",
    "abstention_accuracy",
    "false_abstention_rate",
)


def rows_for(
    name: str, corpus: Path, questions: list[GoldQuestion], llm_lines: list[int]
) -> list[str]:
    out = []
    metrics, _ = evaluate(corpus, questions)
    out.append(_row(name, "reader (default)", "8", metrics))
    with ScriptedLLMServer(respond=gold_reader(questions)) as server:
        for lines in llm_lines:
            settings = Settings().with_overrides(
                llm_model="openai/gold-reader",
                llm_api_base=server.url,
                llm_api_key="unused",
                llm_timeout=30.0,
                llm_top_k=lines,
            )
            metrics, _ = evaluate(corpus, questions, settings=settings)
            out.append(_row(name, "LLM path, a reader that never misreads", str(lines), metrics))
    return out


def _row(name: str, answerer: str, lines: str, metrics: dict[str, float]) -> str:
    cells = " | ".join(f"{metrics[k]:.3f}" for k in COLUMNS)
    return f"| {name} | {answerer} | {lines} | {cells} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--squad-limit", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--llm-lines", type=int, nargs="+", default=[8, 16, 24])
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="qa-ceiling-") as scratch:
        corpus, gold = load_questions(
            REPO / "seeds", REPO / "evals/gold.jsonl", "gold", Path(scratch)
        )
        rows = rows_for("gold", corpus, gold, args.llm_lines)
        if SQUAD.exists() and args.squad_limit:
            corpus, converted = load_questions(None, SQUAD, "squad", Path(scratch))
            questions = sample_questions(converted, args.squad_limit, args.seed)
            name = f"SQuAD 2.0 dev, {len(questions)} q"
            rows += rows_for(name, corpus, questions, args.llm_lines)
    print("| set | answerer | lines read | " + " | ".join(COLUMNS) + " |")
    print("|---|---|---:|" + "---:|" * len(COLUMNS))
    print("\n".join(rows))


if __name__ == "__main__":
    main()
