"""Fine-tune the reader on SQuAD 1.1 train. Resumable: a checkpoint is written every few
hundred steps (atomically), and a run started again with the same arguments continues from
the last one, on exactly the batches it would have seen.

    python -m training.train --squad ../shared/squad/train-v1.1.json --run .train/reader
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pickle
import random
import time
from pathlib import Path

import torch
from torch.nn import functional as F

from qa.reader.features import Featurizer, load_tokenizer
from training.data import Example, build_examples
from training.model import SpanReader, base_model_dir

MASKED = -1e4  # finite: a fully masked row must still give a finite loss


def _log(run: Path, message: str) -> None:
    line = f"{time.strftime('%H:%M:%S')} {message}"
    print(line, flush=True)
    with (run / "log.txt").open("a", encoding="utf-8") as f:
        f.write(line + "\n")


def load_examples(args: argparse.Namespace, run: Path) -> list[Example]:
    """Build the examples once per run and keep them, so a resumed run skips the work."""
    cache = run / "examples.pkl"
    if cache.exists():
        with cache.open("rb") as f:
            return pickle.load(f)
    featurizer = Featurizer(load_tokenizer(str(base_model_dir() / "tokenizer.json")))
    examples = build_examples(
        Path(args.squad),
        featurizer,
        seed=args.seed,
        max_questions=args.max_questions,
        fraction=args.fraction,
    )
    tmp = cache.with_suffix(".tmp")
    with tmp.open("wb") as f:
        pickle.dump(examples, f, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(cache)
    return examples


def plan_batches(examples: list[Example], batch: int, seed: int, epochs: float) -> list[list[int]]:
    """Batches of similar length (padding is most of the waste on short lines), in a seeded
    order: the same arguments always give the same batches."""
    rng = random.Random(seed)
    out: list[list[int]] = []
    for _ in range(math.ceil(epochs)):
        order = list(range(len(examples)))
        rng.shuffle(order)
        group = batch * 64
        epoch: list[list[int]] = []
        for g in range(0, len(order), group):
            chunk = sorted(order[g : g + group], key=lambda i: examples[i].length)
            epoch.extend(chunk[b : b + batch] for b in range(0, len(chunk), batch))
        rng.shuffle(epoch)
        out.extend(epoch)
    return out[: int(len(out) * epochs / math.ceil(epochs))] if epochs % 1 else out


def collate(examples: list[Example], idx: list[int]) -> dict[str, torch.Tensor]:
    rows = [examples[i] for i in idx]
    width = max(r.length for r in rows)
    ids = torch.zeros((len(rows), width), dtype=torch.long)
    types = torch.zeros_like(ids)
    mask = torch.zeros_like(ids)
    allowed = torch.zeros((len(rows), width), dtype=torch.bool)
    for r, ex in enumerate(rows):
        n = ex.length
        ids[r, :n] = torch.tensor(ex.window.input_ids)
        types[r, :n] = torch.tensor(ex.window.token_type_ids)
        mask[r, :n] = 1
        allowed[r, 0] = True
        allowed[r, ex.window.first : ex.window.last] = True
    return {
        "input_ids": ids,
        "attention_mask": mask,
        "token_type_ids": types,
        "allowed": allowed,
        "start": torch.tensor([ex.start for ex in rows]),
        "end": torch.tensor([ex.end for ex in rows]),
    }


def span_loss(
    model: SpanReader, batch: dict[str, torch.Tensor], bf16: bool = False
) -> torch.Tensor:
    # bf16 autocast: the weights and the optimiser stay float32, only the matrix products run
    # in bfloat16 (about a fifth faster on CPUs with AMX-BF16, as these have).
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        start, end = model(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
    start = start.float().masked_fill(~batch["allowed"], MASKED)
    end = end.float().masked_fill(~batch["allowed"], MASKED)
    return (F.cross_entropy(start, batch["start"]) + F.cross_entropy(end, batch["end"])) / 2


def save_checkpoint(path: Path, state: dict) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def train(args: argparse.Namespace) -> Path:
    run = Path(args.run)
    run.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    examples = load_examples(args, run)
    batches = plan_batches(examples, args.batch, args.seed, args.epochs)
    if args.max_steps:
        batches = batches[: args.max_steps]
    total = len(batches)
    positives = sum(1 for e in examples if e.start)
    _log(
        run, f"{len(examples)} examples ({positives} with an answer), {total} steps of {args.batch}"
    )

    model = SpanReader.from_base()
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    warmup = max(1, int(total * 0.06))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / max(1, total - warmup)))
    )
    checkpoint = run / "checkpoint.pt"
    step, elapsed_before = 0, 0.0
    if checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False)
        if state["total"] != total:
            raise SystemExit(f"{checkpoint} was made for {state['total']} steps, not {total}")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        step = state["step"]
        elapsed_before = float(state.get("elapsed", 0.0))
        torch.set_rng_state(state["rng"])
        _log(run, f"resumed at step {step}")

    model.train()
    started, done_since, running = time.time(), step, 0.0
    while step < total:
        batch = collate(examples, batches[step])
        loss = span_loss(model, batch, args.bf16)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        value = float(loss.detach())
        running = 0.98 * running + 0.02 * value if running else value
        if step % args.log_every == 0 or step == total:
            per_step = (time.time() - started) / (step - done_since)
            eta = per_step * (total - step) / 3600
            _log(
                run, f"step {step}/{total} loss {running:.3f} {per_step:.2f} s/step eta {eta:.1f} h"
            )
        if step % args.checkpoint_every == 0 or step == total:
            save_checkpoint(
                checkpoint,
                {
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "schedule": schedule.state_dict(),
                    "step": step,
                    "total": total,
                    "rng": torch.get_rng_state(),
                    "elapsed": elapsed_before + time.time() - started,
                },
            )
    weights = run / "reader.pt"
    torch.save(model.state_dict(), weights)
    meta = {
        "steps": total,
        "batch": args.batch,
        "lr": args.lr,
        "epochs": args.epochs,
        "seed": args.seed,
        "examples": len(examples),
        "examples_with_answer": positives,
        "questions": args.max_questions,
        "fraction": args.fraction,
        "bf16": args.bf16,
        "train_seconds": round(elapsed_before + time.time() - started),
    }
    (run / "train.json").write_text(json.dumps(meta, indent=2))
    _log(run, f"done: {weights}")
    return weights


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--squad", default="../shared/squad/train-v1.1.json")
    p.add_argument("--run", default=".train/reader")
    p.add_argument("--epochs", type=float, default=1.0)
    p.add_argument("--max-steps", type=int, default=0)
    p.add_argument("--max-questions", type=int, default=None)
    p.add_argument("--fraction", type=float, default=1.0, help="share of SQuAD's questions used")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument(
        "--bf16",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="bfloat16 autocast for the forward pass (weights stay float32)",
    )
    p.add_argument("--log-every", type=int, default=20)
    p.add_argument("--checkpoint-every", type=int, default=200)
    return p


if __name__ == "__main__":
    train(parser().parse_args())
