"""Load on the chat app: N concurrent gradio_client sessions, each asking M questions
(answerable and unanswerable mixed), against `qa chat` started on a loopback port.

Run: `python bench/load_chat.py [--sessions 32] [--questions 10]`. Prints errors, answers
that came back without citations, and latency percentiles. The app answers up to 4
questions at once (ui/app.py) and queues the rest.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from support.chat import ChatServer  # noqa: E402

# Shaped like bench_chat.py's QUESTIONS (deliberately separate: a load test wants more
# answerable questions than a latency table).
ANSWERABLE = [
    "How many drones were shot down?",
    "Who is the German chancellor?",
    "How many drones did Russia launch?",
    "Where did Zelenskyy meet Vance?",
    "How old was the woman who was killed?",
    "How long did the meeting last?",
]
UNANSWERABLE = [
    "What is the capital of Australia?",
    "Who won the 1998 football world cup?",
    "What is the boiling point of mercury?",
    "How many moons does Jupiter have?",
]


def session(url: str, index: int, count: int) -> list[tuple[str, float, str]]:
    """One user: ask `count` questions in turn; (kind, ms, problem) for each."""
    from gradio_client import Client

    client = Client(url, verbose=False)
    out = []
    for i in range(count):
        pool = ANSWERABLE if (index + i) % 3 else UNANSWERABLE
        question = pool[(index + i) % len(pool)]
        started = time.perf_counter()
        try:
            answer = client.predict(question, [], api_name="/answer")
            problem = ""
            if not answer["abstained"] and not answer["citations"]:
                problem = "answer without citations"
        except Exception as err:  # counted and reported, the run goes on
            answer, problem = None, f"error: {type(err).__name__}: {err}"
        out.append(
            (
                "answerable" if pool is ANSWERABLE else "unanswerable",
                (time.perf_counter() - started) * 1000,
                problem,
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=32)
    parser.add_argument("--questions", type=int, default=10)
    args = parser.parse_args()
    server = ChatServer(Path(tempfile.mkdtemp(prefix="qa-load-")))
    try:
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.sessions) as pool:
            futures = [
                pool.submit(session, server.url, i, args.questions) for i in range(args.sessions)
            ]
            results = [row for f in futures for row in f.result()]
        wall = time.perf_counter() - started
    finally:
        server.stop()
    latencies = sorted(ms for _, ms, _ in results)
    errors = [p for _, _, p in results if p.startswith("error")]
    uncited = [p for _, _, p in results if p == "answer without citations"]
    p95 = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]
    print(
        f"{args.sessions} sessions x {args.questions} questions = {len(results)} requests "
        f"in {wall:.1f} s ({len(results) / wall:.1f} answers/s)\n"
    )
    print("| errors | answers missing citations | p50 (ms) | p95 (ms) | max (ms) |")
    print("|---:|---:|---:|---:|---:|")
    print(
        f"| {len(errors)} | {len(uncited)} | {statistics.median(latencies):.0f} | {p95:.0f} "
        f"| {latencies[-1]:.0f} |"
    )
    for e in sorted(set(errors))[:5]:
        print("  ", e)


if __name__ == "__main__":
    main()
