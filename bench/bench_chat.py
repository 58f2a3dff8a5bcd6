"""Chat page latency as a person sees it: Debian's Chromium types a question into `qa chat`
and presses Enter; we time the first streamed text and the finished reply.

Run: `python bench/bench_chat.py [--rounds 3]`. Prints a markdown table; the baseline in
the same run is the same question through the page's HTTP API (`/answer`, no browser).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from evals.metrics import percentile as pct  # noqa: E402  (one definition for every report)
from support.browser import browser_page  # noqa: E402
from support.chat import ChatServer, ask  # noqa: E402

QUESTIONS = [
    "How many drones were shot down?",
    "Who is the German chancellor?",
    "Where did Zelenskyy meet Vance?",
    "How many drones did Russia launch?",
    "What is the capital of Australia?",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from gradio_client import Client

    server = ChatServer(Path(tempfile.mkdtemp(prefix="qa-bench-chat-")))
    firsts, fulls, api = [], [], []
    try:
        client = Client(server.url, verbose=False)
        with browser_page() as page:
            page.goto(server.url)
            page.wait_for_selector("#qa-question textarea", timeout=60_000)
            ask(page, QUESTIONS[0])  # warm-up, not counted
            for _ in range(args.rounds):
                for question in QUESTIONS:
                    first, full = ask(page, question)
                    firsts.append(first * 1000)
                    fulls.append(full * 1000)
                    started = time.perf_counter()
                    client.predict(question, [], api_name="/answer")
                    api.append((time.perf_counter() - started) * 1000)
    finally:
        server.stop()
    print(f"{len(firsts)} questions in Chromium (the reader, seeds/)\n")
    print("| measure | p50 (ms) | p95 (ms) |")
    print("|---|---:|---:|")
    for label, values in (
        ("Enter -> first streamed text", firsts),
        ("Enter -> full reply rendered", fulls),
        ("same question via /answer (gradio_client, no browser)", api),
    ):
        print(f"| {label} | {statistics.median(values):.0f} | {pct(values, 95):.0f} |")


if __name__ == "__main__":
    main()
