"""Scale benchmark: synthetic corpora of 1k, 10k and 200k lines (1M with --huge). Each size is
indexed in a process of its own (kept under --work and reused by later runs), then measured
in a fresh process: how long opening takes, its peak RSS, and the per-question latency of a
bare Chroma query, the stock llama-index retriever, the keyword (BM25) search alone, hybrid
retrieval and the reader's `ask`, all on the same index and questions in the same run; then
cold: `qa ask` as a new process beside a bare cold Chroma query process, alternated.

Run: `python bench/bench_scale.py [--sizes 1000 10000 200000] [--huge] [--json OUT]`.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import synthetic  # noqa: E402
from bench.measure import cold_pair, timed  # noqa: E402
from bench.synthetic import make_corpus  # noqa: E402
from evals.metrics import percentile as pct  # noqa: E402  (one definition for every report)

N_QUESTIONS = 40
COLLECTION = "scale"


def questions(seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(N_QUESTIONS):
        subject = rng.choice(synthetic._SUBJECTS).lower()
        obj = rng.choice(synthetic._OBJECTS)
        place = rng.choice(synthetic._PLACES)
        out.append(f"How many {obj} did {subject} report {place}?")
    return out


def ingest_child(corpus: Path, data: Path) -> dict:
    """Index the corpus into `data` (its own process: what a fresh query process pays is
    measured apart from what indexing held)."""
    from index import IndexConfig, ingest
    from index.embeddings import OnnxMiniLMEmbedding

    model = OnnxMiniLMEmbedding()
    model.embed(["warm up"])
    started = time.perf_counter()
    report = ingest(
        IndexConfig(data_dir=data, collection=COLLECTION),
        [corpus],
        embed_model=model,
        progress=False,
    )
    seconds = time.perf_counter() - started
    return {
        "lines": report.lines,
        "ingest_s": seconds,
        "ingest_lines_per_s": report.lines / seconds,
    }


def query_child(corpus: Path, data: Path, open_only: bool = False) -> dict:
    """A fresh process over a built index: how long opening takes (the keyword side needs no
    build), the warm latencies of each part, and the process's peak RSS."""
    from llama_index.core import VectorStoreIndex

    from index.text import terms
    from qa import Assistant

    started = time.perf_counter()
    assistant = Assistant(data_dir=data, collection=COLLECTION, corpus=corpus)
    assistant.retrieve("warm up", top_k=8)  # the first query opens (and checks) the keyword file
    open_s = time.perf_counter() - started
    if open_only:
        return {"open_s": open_s}
    qs = questions()
    embed = assistant.retriever.embed_model
    collection = assistant.store.collection
    # What Chroma's own vector index holds in this process (HNSW is loaded whole by the first
    # query), apart from what everything else adds.
    collection.query(query_embeddings=[embed.get_query_embedding(qs[0])], n_results=8)
    vectors_rss_mb = _rss_mb()
    keywords = assistant.keywords
    stock = VectorStoreIndex.from_vector_store(
        assistant.store.vector_store, embed_model=embed
    ).as_retriever(similarity_top_k=8)
    for q in qs[:3]:  # warm every path once
        assistant.ask(q)
        stock.retrieve(q)

    results = {
        "bare": timed(
            lambda q: collection.query(
                query_embeddings=[embed.get_query_embedding(q)], n_results=8
            ),
            qs,
        ),
        "stock": timed(stock.retrieve, qs),
        "bm25": timed(lambda q: keywords.search(terms(q), 32), qs),
        "retrieve": timed(lambda q: assistant.retrieve(q, top_k=8), qs),
        "ask": timed(assistant.ask, qs),
    }
    return {
        "open_s": open_s,
        "vectors_rss_mb": vectors_rss_mb,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        **{f"{k}_p50_ms": pct(v, 50) for k, v in results.items()},
        **{f"{k}_p95_ms": pct(v, 95) for k, v in results.items()},
    }


def _rss_mb() -> float:
    """The process's resident memory now (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cold_runs(data: Path, runs: int) -> dict:
    ask_ms, bare_ms = cold_pair(data, COLLECTION, questions()[0], runs)
    return {"cold_ask_ms": statistics.median(ask_ms), "cold_bare_ms": statistics.median(bare_ms)}


def in_child(*args: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True
    ).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 200000])
    parser.add_argument("--huge", action="store_true", help="also 1,000,000 lines")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "qa-bench")
    parser.add_argument("--cold-runs", type=int, default=5)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--build-only", action="store_true", help="index the sizes, measure later")
    parser.add_argument("--ingest-child", type=Path, nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--query-child", type=Path, nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--open-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.ingest_child:
        print(json.dumps(ingest_child(*args.ingest_child)))
        return
    if args.query_child:
        corpus, data = args.query_child
        print(json.dumps(query_child(corpus, data, open_only=args.open_only)))
        return
    sizes = args.sizes + ([1_000_000] if args.huge else [])
    rows = []
    print(
        "| lines | index build s (lines/s) | open s | fresh process RSS MB: with the vectors "
        "loaded / peak | "
        "bare Chroma p50/p95 | stock llama-index p50/p95 | BM25 search p50/p95 | "
        "hybrid retrieval p50/p95 | `ask` p50/p95 | cold bare query ms | cold `qa ask` ms | "
        "cold ask / bare |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size in sizes:
        corpus = make_corpus(args.work / f"corpus-{size}", size)
        data = args.work / f"data-{size}"
        built = data / "bench-build.json"  # an index built by an earlier run is reused
        if not built.exists():
            shutil.rmtree(data, ignore_errors=True)
            built.parent.mkdir(parents=True)
            built.write_text(json.dumps(in_child("--ingest-child", str(corpus), str(data))))
        row = {**json.loads(built.read_text())}
        # untimed: an index built by an older version gets its keyword file brought up to date
        in_child("--query-child", str(corpus), str(data), "--open-only")
        if args.build_only:
            print(f"| {size:,} | {row['ingest_s']:,.0f} ({row['ingest_lines_per_s']:,.0f}) |")
            continue
        row.update(in_child("--query-child", str(corpus), str(data)))
        row.update(cold_runs(data, args.cold_runs))
        rows.append(row)

        def pair(key: str, r: dict = row) -> str:
            return f"{r[key + '_p50_ms']:.1f} / {r[key + '_p95_ms']:.1f}"

        # A row printed as it is measured, and all rows kept for --json: bench_index.py ends
        # the same way (deliberate: each benchmark is a script of its own).
        print(
            f"| {size:,} | {row['ingest_s']:,.0f} ({row['ingest_lines_per_s']:,.0f}) | "
            f"{row['open_s']:.2f} | {row['vectors_rss_mb']:,.0f} / {row['peak_rss_mb']:,.0f} | "
            f"{pair('bare')} | "
            f"{pair('stock')} | {pair('bm25')} | {pair('retrieve')} | {pair('ask')} | "
            f"{row['cold_bare_ms']:,.0f} | {row['cold_ask_ms']:,.0f} | "
            f"{row['cold_ask_ms'] / row['cold_bare_ms']:.2f}x |",
            flush=True,
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
