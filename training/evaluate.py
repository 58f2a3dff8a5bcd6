"""Measure exported reader files against each other: SQuAD answer F1 when each question is
read with its own paragraph (as the line, its neighbours around it), and the time to read 8
lines. Scored on the SQuAD 2.0 dev articles kept for reporting (odd-numbered), answerable
questions only; this is what decides which file ships (at most 50 MB, and at most 1 F1 below
fp32).

    python -m training.evaluate --onnx-dir .train/reader/onnx
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from evals.metrics import f1
from qa.reader.features import AFTER, BEFORE
from qa.reader.model import CALIBRATION_FILE, MODEL_FILE, TOKENIZER_FILE, Passage, ReaderModel

REPORT_PARITY = 1  # odd-numbered dev articles are for reporting, even ones for calibration


def dev_questions(path: Path, parity: int) -> list[dict]:
    """Answerable questions of the chosen dev articles, each with its paragraph and neighbours."""
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    out = []
    for a, article in enumerate(data):
        if a % 2 != parity:
            continue
        contexts = [" ".join(p["context"].split()) for p in article["paragraphs"]]
        for p, paragraph in enumerate(article["paragraphs"]):
            for qa in paragraph["qas"]:
                if qa.get("is_impossible") or not qa["answers"]:
                    continue
                out.append(
                    {
                        "question": qa["question"],
                        "answers": [x["text"] for x in qa["answers"]],
                        "passage": Passage(
                            contexts[p],
                            contexts[p - 1] if p else "",
                            contexts[p + 1] if p + 1 < len(contexts) else "",
                        ),
                    }
                )
    return out


def model_folder(onnx: Path, tokenizer: Path, calibration: Path | None, into: Path) -> Path:
    """A folder shaped like the shipped one, around a candidate ONNX file."""
    into.mkdir(parents=True, exist_ok=True)
    shutil.copy(onnx, into / MODEL_FILE)
    shutil.copy(tokenizer, into / TOKENIZER_FILE)
    if calibration and calibration.exists():
        shutil.copy(calibration, into / CALIBRATION_FILE)
    else:
        write_neutral_calibration(into)
    return into


def write_neutral_calibration(folder: Path) -> None:
    """Scores taken as they come, for measuring a model before it is calibrated; the decision
    kind and the context sizes are how `training.train` trains."""
    neutral = {
        "answer_threshold": 0.0,
        "rank_weight": 0.0,
        "confidence_scale": 1.0,
        "confidence_bias": 0.0,
        "cite_threshold": 0.0,
        "decision": "group",
        "context_before": BEFORE,
        "context_after": AFTER,
    }
    (folder / CALIBRATION_FILE).write_text(json.dumps(neutral))


def paragraph_f1(reader: ReaderModel, questions: list[dict]) -> float:
    scores = []
    for q in questions:
        passage: Passage = q["passage"]
        span = reader.read(reader.question(q["question"]), [passage])[0]
        answer = passage.text[span.start : span.end] if span else ""
        scores.append(f1(answer, q["answers"]))
    return 100 * statistics.fmean(scores)


def read_time_ms(reader: ReaderModel, lines: list[str], repeats: int = 30) -> float:
    """Median time to read 8 lines for one question."""
    question = reader.question("How many drones were shot down during the attack?")
    passages = [Passage(t) for t in lines[:8]]
    reader.read(question, passages)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        reader.read(question, passages)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def evaluate(
    onnx_dir: Path, dev: Path, tokenizer: Path, lines: list[str], limit: int | None
) -> dict:
    questions = dev_questions(dev, REPORT_PARITY)[:limit]
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        for name in ("fp32", "fp16w", "int8", "int8mm"):
            onnx = onnx_dir / f"reader-{name}.onnx"
            if not onnx.exists():
                continue
            reader = ReaderModel(model_folder(onnx, tokenizer, None, Path(scratch) / name))
            results[name] = {
                "size_mb": round(onnx.stat().st_size / 1e6, 1),
                "squad_dev_paragraph_f1": round(paragraph_f1(reader, questions), 2),
                "read_8_lines_ms": round(read_time_ms(reader, lines), 1),
                "questions": len(questions),
            }
            print(name, results[name], flush=True)
    return results


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--onnx-dir", default=".train/reader/onnx")
    p.add_argument("--dev", default="../shared/squad/dev-v2.0.json")
    p.add_argument("--tokenizer", default=None)
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--out", default=None)
    a = p.parse_args()
    from training.model import base_model_dir

    tok = Path(a.tokenizer) if a.tokenizer else base_model_dir() / "tokenizer.json"
    seed_lines = [
        x
        for f in sorted(Path("seeds").glob("*.txt"))
        for x in f.read_text().splitlines()
        if x.strip()
    ]
    res = evaluate(Path(a.onnx_dir), Path(a.dev), tok, seed_lines, a.limit)
    if a.out:
        Path(a.out).write_text(json.dumps(res, indent=2))
