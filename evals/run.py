"""The evaluation script: `qa eval ...` or `python -m evals.run ...`.

Indexes the corpus into a fresh collection, asks every question through `qa.Assistant`,
and prints (and optionally writes) the metrics; `--baseline` scores the stock llama-index
pipeline in the same run.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

from evals.datasets import GoldQuestion, load_gold, sample_questions, squad_to_corpus
from evals.report import (
    answered_by_line,
    failures_line,
    metrics_table,
    reliability_table,
    write_json,
    write_markdown,
)
from evals.runner import CORPUS_FORMATS, evaluate
from qa import Settings


def load_questions(
    corpus: Path | None, questions: Path, fmt: str, work: Path, articles: str = "all"
) -> tuple[Path, list[GoldQuestion]]:
    """The corpus to index and the questions to ask. A gold set without `--corpus` is asked
    of the configured corpus (`QA_CORPUS`, `seeds/` by default), as `qa ask` would be."""
    if fmt == "squad":
        out = work / "squad-corpus"
        return out, squad_to_corpus(questions, out, articles)
    if fmt != "gold":
        raise typer.BadParameter(f"unknown format {fmt!r}: use gold or squad")
    return corpus if corpus is not None else Settings().corpus, load_gold(questions)


class _LineProgress:
    """Progress for a log or a pipe, where rich's live bar shows nothing: a line every 10 %
    (or every 30 s), so a long run is never silent. Written by hand: rich and tqdm both
    redraw one line, which a log file keeps as one unreadable line."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.tasks: dict[TaskID, list] = {}

    def __enter__(self) -> _LineProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def add_task(self, description: str, total: int) -> TaskID:
        task = TaskID(len(self.tasks))
        self.tasks[task] = [description, total, 0, time.monotonic(), time.monotonic()]
        self.console.print(f"{description}: 0/{total}", markup=False, highlight=False)
        return task

    def advance(self, task: TaskID, n: int) -> None:
        state = self.tasks[task]
        description, total, done, started, last = state
        done += n
        step = max(1, total // 10)
        now = time.monotonic()
        if done == total or done // step != (done - n) // step or now - last > 30:
            line = f"{description}: {done}/{total} ({now - started:.0f} s)"
            self.console.print(line, markup=False, highlight=False)
            last = now
        state[2], state[4] = done, last


# The same rich columns as index/ingest.py's bar (deliberate: each layer draws its own
# progress, and evals must not reach into index's internals for four column names).
def _progress(console: Console) -> Progress | _LineProgress:
    if not console.is_terminal:
        return _LineProgress(console)
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )


def run_eval(
    ctx: typer.Context,
    corpus: Annotated[
        Path | None,
        typer.Option(help="The documents (gold format); default: the configured corpus."),
    ] = None,
    questions: Annotated[Path, typer.Option(help="Gold JSONL or SQuAD JSON.")] = Path(
        "evals/gold.jsonl"
    ),
    fmt: Annotated[str, typer.Option("--format", help="gold or squad.")] = "gold",
    limit: Annotated[int | None, typer.Option(help="Score a sample of N questions.")] = None,
    seed: Annotated[int, typer.Option(help="Sampling seed.")] = 0,
    report_json: Annotated[Path | None, typer.Option(help="Write the JSON report here.")] = None,
    report_md: Annotated[Path | None, typer.Option(help="Write a readable report here.")] = None,
    baseline: Annotated[bool, typer.Option(help="Also score stock llama-index.")] = False,
    articles: Annotated[
        str,
        typer.Option(
            help="squad: whose questions to ask (all, even, odd); the corpus is always every "
            "article. The reader was calibrated on the even ones: report on odd."
        ),
    ] = "all",
    mode: Annotated[
        str | None, typer.Option(help="The answerer: reader, or llm when QA_LLM_MODEL is set.")
    ] = None,
    corpus_format: Annotated[
        str,
        typer.Option(
            help="txt, or pdf: write each corpus file as a PDF (a paragraph a line) and index "
            "and cite those instead, to measure reading PDFs."
        ),
    ] = "txt",
) -> None:
    """Score the answerer on a question set; prints the metrics table."""
    # `qa --chroma-url ... eval` hands over its settings; `python -m evals.run` reads them.
    settings = ctx.obj if isinstance(ctx.obj, Settings) else Settings()
    if corpus_format not in CORPUS_FORMATS:
        raise typer.BadParameter(f"unknown corpus format {corpus_format!r}: use txt or pdf")
    console = Console(stderr=True)
    with tempfile.TemporaryDirectory(prefix="qa-eval-") as scratch:
        corpus_dir, qs = load_questions(
            corpus or settings.corpus, questions, fmt, Path(scratch), articles
        )
        qs = sample_questions(qs, limit, seed)
        console.print(f"indexing {corpus_dir} into a scratch collection", markup=False)
        with _progress(console) as bar:
            task = bar.add_task(f"asking {len(qs)} questions", total=len(qs))
            metrics, results = evaluate(
                corpus_dir,
                qs,
                settings=settings,
                mode=mode,
                on_progress=lambda n: bar.advance(task, n),
                corpus_format=corpus_format,
            )
        base = None
        if baseline:
            from evals.baseline import evaluate_baseline

            with _progress(console) as bar:
                task = bar.add_task("stock llama-index", total=len(qs))
                base = evaluate_baseline(corpus_dir, qs, on_progress=lambda n: bar.advance(task, n))
    print(metrics_table(metrics, base))
    print(answered_by_line(results))
    print(failures_line(results))
    print(reliability_table(results))
    if report_json:
        write_json(report_json, metrics, results, base)
    if report_md:
        write_markdown(report_md, f"Evaluation: {questions.name}", metrics, results, base)


def main() -> None:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(run_eval)
    try:
        app(standalone_mode=False)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
