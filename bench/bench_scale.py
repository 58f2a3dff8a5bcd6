"""Scale benchmark: synthetic corpora of 1k, 10k and 100k lines (1M with --huge), each in a
fresh process: ingest rate, peak RSS, and per-question latency of a bare Chroma query,
the stock llama-index retriever, our keyword (BM25) search alone, hybrid retrieval and the
the reader's `ask`, all on the same index and questions in the same run.

Run: `python bench/bench_scale.py [--sizes 1000 10000 100000] [--huge] [--json OUT]`.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import synthetic  # noqa: E402
from bench.synthetic import make_corpus  # noqa: E402
from evals.metrics import percentile as pct  # noqa: E402  (one definition for every report)

N_QUESTIONS = 40


def questions(seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(N_QUESTIONS):
        subject = rng.choice(synthetic._SUBJECTS).lower()
        obj = rng.choice(synthetic._OBJECTS)
        place = rng.choice(synthetic._PLACES)
        out.append(f"How many {obj} did {subject} report {place}?")
    return out


def timed(fn, items) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for item in items:
        started = time.perf_counter()
        fn(item)
        out.append((time.perf_counter() - started) * 1000)
    return out


def child(corpus: Path) -> dict:
    from llama_index.core import VectorStoreIndex

    from index import IndexConfig, ingest
    from index.embeddings import OnnxMiniLMEmbedding
    from index.text import terms
    from qa import Assistant

    data = Path(tempfile.mkdtemp(prefix="qa-scale-"))
    model = OnnxMiniLMEmbedding()
    model.embed(["warm up"])
    started = time.perf_counter()
    report = ingest(
        IndexConfig(data_dir=data, collection="scale"), [corpus], embed_model=model, progress=False
    )
    ingest_s = time.perf_counter() - started

    assistant = Assistant(data_dir=data, collection="scale", corpus=corpus)
    started = time.perf_counter()
    keyword = assistant.retriever.keyword_index()
    keyword_build_s = time.perf_counter() - started
    qs = questions()
    embed = assistant.retriever.embed_model
    collection = assistant.store.collection
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
        "bm25": timed(lambda q: keyword.search(terms(q), 32), qs),
        "retrieve": timed(lambda q: assistant.retrieve(q, top_k=8), qs),
        "ask": timed(assistant.ask, qs),
    }
    return {
        "lines": report.lines,
        "ingest_lines_per_s": report.lines / ingest_s,
        "keyword_build_s": keyword_build_s,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        **{f"{k}_p50_ms": pct(v, 50) for k, v in results.items()},
        **{f"{k}_p95_ms": pct(v, 95) for k, v in results.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--huge", action="store_true", help="also 1,000,000 lines")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "qa-bench")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child)))
        return
    sizes = args.sizes + ([1_000_000] if args.huge else [])
    rows = []
    print(
        "| lines | ingest lines/s | peak RSS MB | BM25 build s | bare Chroma p50/p95 | "
        "stock llama-index p50/p95 | BM25 search p50/p95 | hybrid retrieval p50/p95 | "
        "`ask` p50/p95 | `ask` p95 / bare p95 |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size in sizes:
        corpus = make_corpus(args.work / f"corpus-{size}", size)
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(corpus)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        row = json.loads(out.strip().splitlines()[-1])
        rows.append(row)

        def pair(key: str, r: dict = row) -> str:
            return f"{r[key + '_p50_ms']:.1f} / {r[key + '_p95_ms']:.1f}"

        print(
            f"| {size:,} | {row['ingest_lines_per_s']:,.0f} | {row['peak_rss_mb']:,.0f} | "
            f"{row['keyword_build_s']:.2f} | {pair('bare')} | {pair('stock')} | "
            f"{pair('bm25')} | {pair('retrieve')} | {pair('ask')} | "
            f"{row['ask_p95_ms'] / row['bare_p95_ms']:.2f}x |",
            flush=True,
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
