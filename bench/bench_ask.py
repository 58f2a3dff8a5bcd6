"""Answering latency on seeds/: the warm in-process `ask` (the reader, reading 8 lines) and a
cold `qa ask` process, each next to a bare Chroma query with the same embedding measured in
the same run.

Run: `python bench/bench_ask.py [--rounds 3] [--cold-runs 5]`. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.measure import cold_pair, timed  # noqa: E402
from evals.metrics import percentile as pct  # noqa: E402  (one definition for every report)


def questions() -> list[str]:
    rows = [json.loads(line) for line in (REPO / "evals/gold.jsonl").read_text().splitlines()]
    return [r["question"] for r in rows if r.get("question") and not r.get("history")]


# Each benchmark's main() parses its own flags (load_chat.py's looks the same; deliberate).
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cold-runs", type=int, default=5)
    args = parser.parse_args()

    from qa import Assistant

    data = Path(tempfile.mkdtemp(prefix="qa-bench-ask-"))
    assistant = Assistant(corpus=REPO / "seeds", data_dir=data, collection="bench-ask")
    qs = questions()
    assistant.ask(qs[0])  # warm: model loaded, keyword index built
    collection = assistant.store.collection
    embed = assistant.retriever.embed_model

    def bare(q: str) -> None:
        collection.query(query_embeddings=[embed.get_query_embedding(q)], n_results=8)

    bare_ms = timed(bare, qs, args.rounds)
    retrieve_ms = timed(lambda q: assistant.retrieve(q, top_k=8), qs, args.rounds)
    ask_ms = timed(assistant.ask, qs, args.rounds)
    modes = [("reader `ask`, 8 lines (warm, in-process)", ask_ms)]

    question = "How many drones were shot down?"
    cold_ask, cold_bare = cold_pair(data, "bench-ask", question, args.cold_runs)

    print(f"seeds/, {len(qs)} questions x {args.rounds} rounds; cold: {args.cold_runs} runs\n")
    print("| measure | p50 (ms) | p95 (ms) | p50 vs bare Chroma query |")
    print("|---|---:|---:|---:|")
    base = pct(bare_ms, 50)
    for label, values in (
        ("bare Chroma query + query embedding (warm)", bare_ms),
        ("hybrid retrieval, dense + BM25 (warm)", retrieve_ms),
        *modes,
    ):
        print(
            f"| {label} | {pct(values, 50):.1f} | {pct(values, 95):.1f} | "
            f"{pct(values, 50) / base:.2f}x |"
        )
    cold_base = statistics.median(cold_bare)
    print(
        f"| bare Chroma query, new process (cold) | {cold_base:.0f} | {pct(cold_bare, 95):.0f} "
        f"| 1.00x (cold) |"
    )
    print(
        f"| `qa ask`, new process (cold) | {statistics.median(cold_ask):.0f} | "
        f"{pct(cold_ask, 95):.0f} | {statistics.median(cold_ask) / cold_base:.2f}x (cold) |"
    )


if __name__ == "__main__":
    main()
