"""Writing evaluation results: the JSON other tools read, and a report a person reads."""

from __future__ import annotations

import json
from pathlib import Path

from evals.runner import (
    METRIC_KEYS,
    RATE_KEYS,
    QuestionResult,
    answered_by,
    ece_by_chance,
    failures,
    reliability,
)

_PERCENT = frozenset(RATE_KEYS)


def write_json(
    path: Path,
    metrics: dict[str, float],
    results: list[QuestionResult],
    baseline: dict[str, float] | None = None,
) -> None:
    data: dict[str, object] = {
        "metrics": {k: metrics[k] for k in METRIC_KEYS},
        "questions": [r.as_report() for r in results],
        "answered_by": answered_by(results),
        "failures": failures(results),
        "reliability": [
            {
                "confidence": name,
                "questions": n,
                "mean_confidence": round(c, 4),
                "right": round(r, 4),
            }
            for name, n, c, r in reliability([r for r in results if not r.abstained])[1]
        ],
    }
    if baseline is not None:
        data["baseline"] = baseline
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")


def metrics_table(metrics: dict[str, float], baseline: dict[str, float] | None = None) -> str:
    head = "| metric | qa |" + (" stock llama-index |" if baseline else "")
    rule = "|---|---:|" + ("---:|" if baseline else "")
    rows = [head, rule]
    for key in METRIC_KEYS:
        value = metrics[key]
        shown = f"{value:.3f}" if key in _PERCENT else f"{value:.1f}"
        extra = ""
        if baseline is not None:
            other = {"latency_p50_ms": "retrieval_p50_ms", "latency_p95_ms": "retrieval_p95_ms"}
            b = baseline.get(other.get(key, key))
            extra = (
                f" {b:.3f} |"
                if b is not None and key in _PERCENT
                else (f" {b:.1f} (retrieval only) |" if b is not None else " – |")
            )
        rows.append(f"| {key} | {shown} |{extra}")
    if baseline is not None and "lines_per_chunk" in baseline:
        rows.append(f"| lines per retrieved chunk | 1.0 | {baseline['lines_per_chunk']:.1f} |")
    return "\n".join(rows)


def failures_line(results: list[QuestionResult]) -> str:
    """Where the loss is, one count per kind of failure."""
    return "failures: " + ", ".join(f"{k} {n}" for k, n in failures(results).items())


def reliability_table(results: list[QuestionResult]) -> str:
    """Confidence against the share of answers that were right, over answered questions."""
    answered = [r for r in results if not r.abstained]
    ece, table = reliability(answered)
    rows = ["| confidence | answers | mean confidence | right |", "|---|---:|---:|---:|"]
    rows += [f"| {name} | {n} | {c:.3f} | {r:.3f} |" for name, n, c, r in table]
    return "\n".join(rows) + (
        f"\n\nexpected calibration error {ece:.3f} (a perfectly calibrated confidence would "
        f"show {ece_by_chance(answered):.3f} on {len(answered)} answers)"
    )


def answered_by_line(results: list[QuestionResult]) -> str:
    counts = answered_by(results)
    return "answered by: " + ", ".join(f"{mode} {n}" for mode, n in sorted(counts.items()))


def _chart(path: Path, metrics: dict[str, float]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [k for k in METRIC_KEYS if k in _PERCENT]
    fig, ax = plt.subplots(figsize=(8, 3.6))
    bars = ax.barh(keys[::-1], [metrics[k] for k in keys[::-1]], color="#4c72b0")
    ax.set_xlim(0, 1)
    ax.bar_label(bars, fmt="%.2f", padding=3)
    ax.set_title("Evaluation metrics")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_markdown(
    path: Path,
    title: str,
    metrics: dict[str, float],
    results: list[QuestionResult],
    baseline: dict[str, float] | None = None,
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    chart = path.with_suffix(".png")
    _chart(chart, metrics)
    failures = [r for r in results if not r.correct]
    lines = [
        f"# {title}",
        "",
        metrics_table(metrics, baseline),
        "",
        answered_by_line(results),
        "",
        failures_line(results),
        "",
        reliability_table(results),
        "",
        f"![metrics]({chart.name})",
        "",
        f"## Failures ({len(failures)} of {len(results)})",
        "",
    ]
    for r in failures:
        want = (
            "unanswerable"
            if not r.gold["answerable"]
            else " / ".join(r.gold["answers"][:3])
            + " at "
            + ", ".join(
                _place(c["source"], c.get("page"), ",".join(map(str, c["lines"])))
                for c in r.gold["citations"]
            )
        )
        got = "abstained" if r.abstained else (r.answer or "(no short answer)")
        if r.confidence is not None:
            got += f" (confidence {r.confidence:.2f}, {r.failure})"
        cites = (
            ", ".join(_place(c["source"], c.get("page"), c["line_start"]) for c in r.citations)
            or "none"
        )
        lines.append(
            f"- **{r.id}** {r.question}  \n  expected: {want}  \n  got: {got}; cited: {cites}"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _place(source: str, page: int | None, lines: object) -> str:
    """`notes.txt:12`, or `report.pdf:p7:12` for a paged document (as citations print)."""
    return f"{source}:p{page}:{lines}" if page is not None else f"{source}:{lines}"
