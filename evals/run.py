"""The evaluation script: `qa eval ...` or `python -m evals.run ...`.

Indexes the corpus into a fresh collection, asks every question through `qa.Assistant`,
and prints (and optionally writes) the metrics; `--baseline` scores the stock llama-index
pipeline in the same run.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from evals.datasets import GoldQuestion, load_gold, sample_questions, squad_to_corpus
from evals.report import answered_by_line, metrics_table, write_json, write_markdown
from evals.runner import evaluate
from qa import Settings


def load_questions(
    corpus: Path | None, questions: Path, fmt: str, work: Path, articles: str = "all"
) -> tuple[Path, list[GoldQuestion]]:
    if fmt == "squad":
        out = work / "squad-corpus"
        return out, squad_to_corpus(questions, out, articles)
    if fmt != "gold":
        raise typer.BadParameter(f"unknown format {fmt!r}: use gold or squad")
    if corpus is None:
        raise typer.BadParameter("--corpus is required with --format gold")
    return corpus, load_gold(questions)


def _progress(console: Console) -> Progress:
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
    corpus: Annotated[Path | None, typer.Option(help="The documents (gold format).")] = None,
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
) -> None:
    """Score the answerer on a question set; prints the metrics table."""
    # `qa --chroma-url ... eval` hands over its settings; `python -m evals.run` reads them.
    settings = ctx.obj if isinstance(ctx.obj, Settings) else Settings()
    console = Console(stderr=True)
    with tempfile.TemporaryDirectory(prefix="qa-eval-") as scratch:
        corpus_dir, qs = load_questions(corpus, questions, fmt, Path(scratch), articles)
        qs = sample_questions(qs, limit, seed)
        with _progress(console) as bar:
            task = bar.add_task(f"asking {len(qs)} questions", total=len(qs))
            metrics, results = evaluate(
                corpus_dir,
                qs,
                settings=settings,
                mode=mode,
                on_progress=lambda n: bar.advance(task, n),
            )
        base = None
        if baseline:
            from evals.baseline import evaluate_baseline

            with _progress(console) as bar:
                task = bar.add_task("stock llama-index", total=len(qs))
                base = evaluate_baseline(corpus_dir, qs, on_progress=lambda n: bar.advance(task, n))
    print(metrics_table(metrics, base))
    print(answered_by_line(results))
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
