"""Why the keyword index is per-document postings in SQLite: the candidates measured on the same
synthetic lines and questions in one run, keyword search alone (no embeddings).

- postings: `index.keywords.KeywordStore`, the shipped one (a file; reads the query terms'
  postings and scores them with numpy, bm25s's formula);
- SQLite FTS5: the same terms in an FTS5 table, ranked by its own `bm25()`;
- bm25s: built in memory from every line, as each process did before (skipped when bm25s is
  not installed: it is in the `train` extra only).

"open" is what a new process pays before its first search: nothing to read for a file,
the whole build for bm25s. Run: `python bench/bench_keywords.py [--lines 200000]`.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.bench_scale import questions  # noqa: E402
from bench.measure import timed  # noqa: E402
from bench.synthetic import sentence  # noqa: E402
from evals.metrics import percentile as pct  # noqa: E402
from index import IndexConfig, KeywordStore  # noqa: E402
from index.store import StoredChunk  # noqa: E402
from index.text import terms  # noqa: E402

PER_FILE = 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=200_000)
    args = parser.parse_args()
    rng = random.Random(7)
    lines = [sentence(rng) for _ in range(args.lines)]
    tokens = [terms(line) for line in lines]
    qs = [terms(q) for q in questions()] * 2
    work = Path(tempfile.mkdtemp(prefix="qa-bench-keywords-"))
    rows = []

    config = IndexConfig(data_dir=work, collection="bench-keywords")
    started = time.perf_counter()
    store = KeywordStore.open(config)
    for first in range(0, len(lines), PER_FILE):
        chunks = [
            StoredChunk(f"c{n}", lines[n], f"doc{first}", n + 1, 0, len(lines[n]))
            for n in range(first, min(first + PER_FILE, len(lines)))
        ]
        store.put(f"doc{first}", "h", chunks)
    build = time.perf_counter() - started
    store.close()
    started = time.perf_counter()
    store = KeywordStore.open(config)
    store.search(qs[0], 32)
    opened = time.perf_counter() - started
    ms = timed(lambda q: store.search(q, 32), qs)  # type: ignore[arg-type]
    rows.append(("postings in SQLite (shipped)", build, opened, ms))

    started = time.perf_counter()
    conn = sqlite3.connect(work / "fts5.sqlite3")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(body)")
    with conn:
        conn.executemany("INSERT INTO t (body) VALUES (?)", ((" ".join(t),) for t in tokens))
    build = time.perf_counter() - started
    sql = "SELECT rowid FROM t WHERE t MATCH ? ORDER BY bm25(t) LIMIT 32"

    def fts(q: list[str]) -> object:
        return conn.execute(sql, (" OR ".join(f'"{t}"' for t in q),)).fetchall()

    started = time.perf_counter()
    fts(qs[0])
    opened = time.perf_counter() - started
    rows.append(("SQLite FTS5, bm25()", build, opened, timed(fts, qs)))  # type: ignore[arg-type]

    try:
        import bm25s
    except ImportError:
        bm25s = None
    if bm25s is not None:
        tracemalloc.start()
        started = time.perf_counter()
        index = bm25s.BM25()
        index.index([t or ["\x00"] for t in tokens], show_progress=False)
        build = time.perf_counter() - started
        held = tracemalloc.get_traced_memory()[0] / 1e6
        tracemalloc.stop()

        def bm(q: list[str]) -> object:
            return index.retrieve([q], k=32, show_progress=False, n_threads=1)

        rows.append((f"bm25s in memory ({held:.0f} MB held)", build, build, timed(bm, qs)))  # type: ignore[arg-type]

    print(f"{args.lines:,} synthetic lines, {len(qs)} searches of 32\n")
    print("| keyword index | build s | open s (new process) | search p50 ms | search p95 ms |")
    print("|---|---:|---:|---:|---:|")
    for name, build, opened, ms in rows:
        print(f"| {name} | {build:.1f} | {opened:.3f} | {pct(ms, 50):.1f} | {pct(ms, 95):.1f} |")


if __name__ == "__main__":
    main()
