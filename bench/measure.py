"""What several benchmarks measure the same way: a function timed per item, and a cold `qa ask`
process beside a bare cold Chroma query process (`bench/bare_cold_query.py`: the same embedding
and one `collection.query`, nothing else), alternated so that both see the same load."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def timed(fn: Callable[[Any], object], items: Iterable[Any], rounds: int = 1) -> list[float]:
    """Milliseconds of `fn(item)` for each item, `rounds` times over."""
    items = list(items)
    out = []
    for _ in range(rounds):
        for item in items:
            started = time.perf_counter()
            fn(item)
            out.append((time.perf_counter() - started) * 1000)
    return out


def cold_pair(
    data: Path, collection: str, question: str, runs: int
) -> tuple[list[float], list[float]]:
    """Milliseconds of `runs` cold `qa ask` processes and of as many bare cold query processes,
    over the embedded index in `data`."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "QA_DATA_DIR": str(data)}
    env["QA_COLLECTION"] = collection
    ask_ms, bare_ms = [], []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "ui.cli", "ask", question, "--json"],
            env=env,
            check=True,
            capture_output=True,
        )
        ask_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        bare = [str(data / "chroma"), question, collection]
        subprocess.run(
            [sys.executable, str(REPO / "bench/bare_cold_query.py"), *bare],
            check=True,
            capture_output=True,
        )
        bare_ms.append((time.perf_counter() - started) * 1000)
    return ask_ms, bare_ms
