"""Ingest benchmark: how much the indexing pipeline adds over the embedding model alone.

For each corpus size, two fresh processes run one after the other on the same lines:
`embed` only tokenizes and embeds them with the configured model (the floor: no pipeline),
`ingest` runs the real `index.ingest` into a new embedded Chroma. Each reports its wall time
and peak RSS. Run: `python bench/bench_index.py [--sizes 1000 10000 100000] [--one-file]`;
`--one-file` puts each corpus in a single file (memory must stay bounded however large one
file is). `--pdf` compares instead the same text indexed from `.txt` files and from PDFs
written from them (a line a paragraph, wrapped and paged; `evals.pdf_corpus`).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.synthetic import make_corpus  # noqa: E402


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_embed(corpus: Path) -> dict[str, float]:
    from index.embeddings import OnnxMiniLMEmbedding

    texts = [
        line
        for path in sorted(corpus.glob("*.txt"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    model = OnnxMiniLMEmbedding()
    model.embed(["warm up"])
    started = time.perf_counter()
    for start in range(0, len(texts), 256):  # the same hand-over size ingest uses
        model.get_text_embedding_batch(texts[start : start + 256])
    return {"seconds": time.perf_counter() - started, "lines": len(texts), "rss_mb": _peak_rss_mb()}


def child_ingest(corpus: Path) -> dict[str, float]:
    from index import IndexConfig, ingest
    from index.embeddings import OnnxMiniLMEmbedding

    model = OnnxMiniLMEmbedding()
    model.embed(["warm up"])
    with tempfile.TemporaryDirectory() as data:
        config = IndexConfig(data_dir=Path(data), collection="bench")
        started = time.perf_counter()
        report = ingest(config, [corpus], embed_model=model, progress=False)
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "lines": report.lines, "rss_mb": _peak_rss_mb()}


def run_child(kind: str, corpus: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(corpus)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "qa-bench")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--one-file", action="store_true", help="each corpus is one file")
    parser.add_argument("--pdf", action="store_true", help="the same text as .txt and as PDF")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "CORPUS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, corpus = args.child
        fn = child_embed if kind == "embed" else child_ingest
        print(json.dumps(fn(Path(corpus))))
        return

    if args.pdf:
        compare_pdf(args)
        return
    rows = []
    print(
        "| lines | embed only (lines/s) | ingest (lines/s) | pipeline overhead | "
        "peak RSS embed (MB) | peak RSS ingest (MB) |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    for size in args.sizes:
        if args.one_file:
            corpus = make_corpus(args.work / f"one-file-{size}", size, per_file=size)
        else:
            corpus = make_corpus(args.work / f"corpus-{size}", size)
        embed = run_child("embed", corpus)
        full = run_child("ingest", corpus)
        overhead = full["seconds"] / embed["seconds"] - 1
        rows.append({"lines": size, "embed": embed, "ingest": full, "overhead": overhead})
        print(
            f"| {size:,} | {embed['lines'] / embed['seconds']:,.0f} | "
            f"{full['lines'] / full['seconds']:,.0f} | {overhead:+.0%} | "
            f"{embed['rss_mb']:,.0f} | {full['rss_mb']:,.0f} |",
            flush=True,
        )
    # Deliberately like bench_scale.py's ending: each benchmark prints its own table row
    # and writes its own JSON; a shared helper would only hide the columns.
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


def compare_pdf(args: argparse.Namespace) -> None:
    """Ingest throughput of the same text from .txt and from PDF, each in a fresh process."""
    from evals.pdf_corpus import write_pdfs

    rows = []
    print("| lines | .txt ingest (lines/s) | PDF ingest (lines/s) | PDF time / .txt time |")
    print("|---:|---:|---:|---:|")
    for size in args.sizes:
        text = make_corpus(args.work / f"corpus-{size}", size, per_file=min(size, 500))
        pdf = args.work / f"pdf-{size}"
        write_pdfs(text, pdf)
        plain = run_child("ingest", text)
        paged = run_child("ingest", pdf)
        ratio = paged["seconds"] / plain["seconds"]
        rows.append({"lines": size, "txt": plain, "pdf": paged, "ratio": ratio})
        print(
            f"| {size:,} | {plain['lines'] / plain['seconds']:,.0f} | "
            f"{paged['lines'] / paged['seconds']:,.0f} | {ratio:.2f}x |",
            flush=True,
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
