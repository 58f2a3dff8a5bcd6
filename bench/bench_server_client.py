"""A client of a Chroma server: what a process that only asks holds in memory, and how long its
first open takes. The keyword postings live in the server; over an index written before they
did, the first client to open it writes them there once (the upgrade), and every client after
it, on any machine, opens with nothing to build.

Start a server over an index built by `bench/bench_scale.py` (or any), then run this with a
fresh data dir each time: the first run over an old index includes the upgrade.

    .venv/bin/chroma run --path /tmp/qa-bench/data-200000/chroma --host 127.0.0.1 --port 8100
    python bench/bench_server_client.py http://127.0.0.1:8100 /tmp/client-200000
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.bench_scale import COLLECTION, questions  # noqa: E402
from bench.measure import timed  # noqa: E402
from evals.metrics import percentile as pct  # noqa: E402
from qa import Assistant  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("data", type=Path, help="the client's own data dir")
    parser.add_argument("--collection", default=COLLECTION)
    args = parser.parse_args()
    started = time.perf_counter()
    assistant = Assistant(
        data_dir=args.data, chroma_url=args.url, collection=args.collection, corpus=args.data
    )
    assistant.retrieve("warm up", top_k=8)
    opened = time.perf_counter() - started
    ms = timed(lambda q: assistant.retrieve(q, top_k=8), questions())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("| open s | hybrid retrieval p50 / p95 ms | peak RSS MB |")
    print("|---:|---:|---:|")
    print(f"| {opened:.1f} | {pct(ms, 50):.1f} / {pct(ms, 95):.1f} | {peak:.0f} |")


if __name__ == "__main__":
    main()
