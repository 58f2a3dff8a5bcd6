"""Answering latency on seeds/: the warm in-process `ask` (the reader, reading 8 lines) and a
cold `qa ask` process, each next to a bare Chroma query with the same embedding measured in
the same run.

Run: `python bench/bench_ask.py [--rounds 3] [--cold-runs 5]`. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from evals.metrics import percentile as pct  # noqa: E402  (one definition for every report)


def questions() -> list[str]:
    rows = [json.loads(line) for line in (REPO / "evals/gold.jsonl").read_text().splitlines()]
    return [r["question"] for r in rows if r.get("question") and not r.get("history")]


def timed(fn, items, rounds):  # type: ignore[no-untyped-def]
    out = []
    for _ in range(rounds):
        for item in items:
            started = time.perf_counter()
            fn(item)
            out.append((time.perf_counter() - started) * 1000)
    return out


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

    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "QA_DATA_DIR": str(data),
        "QA_COLLECTION": "bench-ask",
    }
    question = "How many drones were shot down?"
    cold_ask, cold_bare = [], []
    for _ in range(args.cold_runs):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "ui.cli", "ask", question, "--json"],
            env=env,
            check=True,
            capture_output=True,
        )
        cold_ask.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                str(REPO / "bench/bare_cold_query.py"),
                str(data / "chroma"),
                question,
                "bench-ask",
            ],
            check=True,
            capture_output=True,
        )
        cold_bare.append((time.perf_counter() - started) * 1000)

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
