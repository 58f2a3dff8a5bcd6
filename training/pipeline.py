"""`make train-reader`: train (or resume) for a while, export, measure, choose the file to
ship, calibrate, and write the candidate model with its card into the run's folder. Every step
can be re-run; training resumes from its checkpoint in the user's cache directory.

    python -m training.pipeline --hours 2            # a session's share of the run
    python -m training.pipeline --no-train           # measure and calibrate the last weights
    python -m training.pipeline --no-train --ship    # ... and make the candidate the shipped model
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
from training.warmstart import PROGRESS_FILE

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
    cal = calibration["fitted_on"]
    rows = "\n".join(
        f"| {name}{' (shipped)' if name == shipped else ''} | {m['size_mb']} | "
        f"{m['squad_dev_paragraph_f1']} | {m['read_8_lines_ms']} |"
        for name, m in measured.items()
    )
    any_m = next(iter(measured.values()))
    text = f"""# Reader model card

An extractive span reader: given a question and the lines retrieval found for it (each with
the end of the line before it and the start of the line after it), it points at the answer
in one of the lines, or says that none of them answers. It is what `qa` answers with by
default.

- file: `{MODEL_FILE}` ({measured[shipped]["size_mb"]} MB, {shipped}: {_FORMATS[shipped]})
- sha256: {sha256(out / MODEL_FILE)}
- inputs: `input_ids`, `attention_mask`, `token_type_ids` (int64, batch x tokens);
  outputs: `start_logits`, `end_logits`; tokenizer: `{TOKENIZER_FILE}` (BERT uncased WordPiece)
- a window: `[CLS] question [SEP] {calibration.get("context_before")} tokens of the line
  before [M1] line [M2] {calibration.get("context_after")} tokens of the line after [SEP]`
- base model: {BASE_NAME} (6 layers, 384 hidden, 22.6M parameters), licence {BASE_LICENCE},
  as shipped in the PyPI package `{BASE_PACKAGE.replace("_", "-")}`
- head: one linear layer giving a start and an end score per token

## Training
- objective: {meta["objective"]}: the start (and end) scores of every token of every line of
  a group and one "no answer" option share one softmax (Clark and Gardner, ACL 2018), so
  scores are comparable across lines and "none of these lines" is learnt; the decision at
  inference is the same (`qa/reader/decode.py`, `decide`). Each window is also taught alone
  against its own `[CLS]` ("not in this line"), which decides whether a further line that
  states the answer is cited.
- data: SQuAD 1.1 train (Rajpurkar et al. 2016, CC BY-SA 4.0), every question as a group of
  {meta["group_lines"]} lines of its article ranked by the product's keyword retrieval (BM25 on
  `index.text.terms`), the answer's line put in when retrieval missed it; {meta["groups"]} groups,
  {meta["answerable_groups"]} answerable (the others leave the answer's lines out, or ask with
  a swapped name, number or noun). Articles are cut one line per paragraph or 1-3 sentences a line.
- trained so far: {meta["groups_trained"]} groups ({meta["steps"]} of {meta["total_steps"]}
  steps of {meta["batch"]} groups; {"finished" if meta["finished"] else "the run goes on"}),
  AdamW lr {meta["lr"]}, word embeddings {
        "frozen" if meta["frozen_word_embeddings"] else "trained"
    }, seed {meta["seed"]}; started from {meta["started_from"]};
  {meta["hours"]} hours on 2 CPU cores over {meta["sessions"]} session(s) of this objective.
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
threshold {calibration["answer_threshold"]} (the margin of the best span over "no answer"
that maximises SQuAD 2.0 overall F1 while declining at most 10 % of the answerable
questions), confidence = sigmoid({calibration["confidence_scale"]} x margin
{calibration["confidence_log_prob"]:+} x log-probability {calibration["confidence_bias"]:+}),
fitted on the answers it would show. A line is kept as an LLM's citation when the reader
prefers the LLM's answer in it to "no answer" by {calibration["claim_threshold"]}, or when
asking the question raises that margin over asking nothing by {calibration.get("claim_lift")}
(the least lift at which the check keeps 95 % of these articles' right citations, read on
lines cut as training cuts them). On those articles:
{cal["metrics"]}. Results are reported on the odd-numbered articles only.

Made by `make train-reader` ({time.strftime("%Y-%m-%d")}).
"""
    (out / CARD_FILE).write_text(text)


def write_progress(out: Path, run: Path) -> None:
    """Where this model's training stopped, so that a run on a machine without the cache
    starts from this model at that place in the plan (`training.train`)."""
    meta = json.loads((run / "train.json").read_text())
    progress = {k: meta[k] for k in ("seed", "batch", "steps", "total_steps", "hours", "sessions")}
    (out / PROGRESS_FILE).write_text(json.dumps(progress, indent=2) + "\n")


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
    p.add_argument("--no-train", action="store_true", help="measure the run's last weights")
    p.add_argument("--ship-to", default=str(MODEL_DIR))
    p.add_argument(
        "--ship",
        action="store_true",
        help="copy the candidate over the shipped model (only once it measures at least as "
        "well on every set: bench/bench_reader_loss.py)",
    )
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
        help="keep the exports and measurements of an earlier run; calibrate again",
    )
    args = p.parse_args()
    run = Path(args.run)
    weights = run / "reader.pt"
    if not args.no_train or not weights.exists():
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
    chosen = choose_format(measured)
    candidate = run / "candidate"
    candidate.mkdir(parents=True, exist_ok=True)
    shutil.copy(run / "onnx" / f"reader-{chosen}.onnx", candidate / MODEL_FILE)
    shutil.copy(tokenizer, candidate / TOKENIZER_FILE)
    evaluate.write_neutral_calibration(candidate)  # reading for calibration needs no calibration
    calibration = calibrate.calibrate(candidate, Path(args.dev), args.calibration_limit or None)
    (candidate / CALIBRATION_FILE).write_text(json.dumps(calibration, indent=2) + "\n")
    write_card(candidate, run, measured, chosen, calibration)
    write_progress(candidate, run)
    print(f"candidate model ({chosen}) in {candidate}")
    if args.ship:
        out = Path(args.ship_to)
        out.mkdir(parents=True, exist_ok=True)
        for name in (MODEL_FILE, TOKENIZER_FILE, CALIBRATION_FILE, CARD_FILE, PROGRESS_FILE):
            shutil.copy(candidate / name, out / name)
        print(f"shipped to {out}")


if __name__ == "__main__":
    main()
