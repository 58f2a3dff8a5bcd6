"""Fine-tune the reader on groups of lines (`training.groups`) with one decision per group.

The objective is Clark and Gardner's shared normalisation (ACL 2018): the start (and end)
scores of every answerable token of every line of a group, plus one "no answer" option, go
through a single softmax, so a score in one line is comparable with a score in another, and
the model learns to say that none of the lines answers. The "no answer" score of a group is
the mean, in probability, of its windows' `[CLS]` scores: it does not grow with the number of
lines read. `qa.reader.decode.decide` makes the same decision at inference.

Beside it, each window is also taught alone, as the first reader was: its own softmax over its
line's tokens and its own `[CLS]` for "not in this line" (`line_loss`). The group softmax
rewards putting the answer's probability on any one line that states it, so a second line
that says it in other words ("88 were destroyed" beside "another 88 were shot down") ends far
below "no answer" and could not be cited; the window's own margin answers "does this line
state it?", which is what citing a further line and checking an LLM's citation ask. A window
whose line repeats the answer's words but is not where SQuAD's answer stands is left out of
that loss: the words may be about something else.

The run's state (groups, checkpoints, log) lives in the user's cache directory
(`$XDG_CACHE_HOME/qa/train/reader`, or `QA_TRAIN_DIR`), outside the work tree, so a run
outlives a checkout and resumes by itself. With no checkpoint, training starts from the
weights of the shipped model (read back from its ONNX file) at the place in the plan where the
shipped model's training stopped (`progress.json` beside it): work carries over to any machine.

    python -m training.train --hours 1.5      # train for at most 1.5 hours, then stop cleanly
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pickle
import random
import signal
import time
from pathlib import Path
from typing import Any

import platformdirs
import torch

from qa.reader.decode import token_span
from qa.reader.features import Featurizer, Window, load_tokenizer
from qa.reader.model import MODEL_DIR
from training.groups import Article, Group, build_groups
from training.model import SpanReader, base_model_dir
from training.warmstart import load_shipped

MASKED = -1e4  # finite: a fully masked row must still give a finite loss
GROUPS_FILE = "groups.pkl"
GROUPS_VERSION = 3  # groups asked with a swapped word (`training.groups.P_WORD_SWAPPED`)
LINE_WEIGHT = 1.0  # the per-window loss beside the group loss: equal weight, not tuned
ROWS_PER_PASS = 8  # windows read in one pass of the encoder (`forward_by_width`)
CHECKPOINT_FILE = "checkpoint.pt"
BASE = "all-MiniLM-L6-v2"


def default_run_dir() -> Path:
    """Where a run keeps its state: `QA_TRAIN_DIR`, else the user's cache directory."""
    named = os.environ.get("QA_TRAIN_DIR")
    return Path(named) if named else Path(platformdirs.user_cache_dir("qa")) / "train" / "reader"


def log(run: Path, message: str) -> None:
    line = f"{time.strftime('%H:%M:%S')} {message}"
    print(line, flush=True)
    with (run / "log.txt").open("a", encoding="utf-8") as f:
        f.write(line + "\n")


def load_groups(args: argparse.Namespace, run: Path) -> tuple[list[Article], list[Group]]:
    """Build the groups once per run and keep them; a damaged file is built again."""
    cache = run / GROUPS_FILE
    if cache.exists():
        try:
            with cache.open("rb") as f:
                kept = pickle.load(f)
            same = kept["squad"] == str(args.squad) and kept["seed"] == args.seed
            if same and kept.get("version") == GROUPS_VERSION:
                return kept["articles"], kept["groups"]
            why = "other data" if not same else "an earlier recipe"
            log(run, f"{cache} was made from {why}: building the groups again")
        except Exception as err:  # any unreadable pickle: rebuild, never a traceback
            log(run, f"{cache} is damaged ({type(err).__name__}): building the groups again")
    started = time.time()
    articles, groups = build_groups(Path(args.squad), seed=args.seed)
    tmp = cache.with_suffix(".tmp")
    with tmp.open("wb") as f:
        state = {
            "squad": str(args.squad),
            "seed": args.seed,
            "version": GROUPS_VERSION,
            "articles": articles,
            "groups": groups,
        }
        pickle.dump(state, f, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(cache)
    log(run, f"built {len(groups)} groups in {time.time() - started:.0f} s")
    return articles, groups


def plan_batches(
    articles: list[Article], groups: list[Group], batch: int, seed: int
) -> list[list[int]]:
    """Batches of groups of similar size (padding is most of the waste), in a seeded order
    that follows the groups' own order chunk by chunk: a run cut short has trained on a fair
    sample, and the same arguments always give the same batches."""
    rng = random.Random(seed)

    def size(g: int) -> int:
        return max(len(articles[groups[g].article].lines[i]) for i in groups[g].lines)

    out: list[list[int]] = []
    chunk = batch * 32
    for start in range(0, len(groups), chunk):
        ordered = sorted(range(start, min(start + chunk, len(groups))), key=size)
        batches = [ordered[b : b + batch] for b in range(0, len(ordered), batch)]
        rng.shuffle(batches)
        out.extend(batches)
    return out


def group_windows(
    featurizer: Featurizer, articles: list[Article], group: Group
) -> list[tuple[Window, list[tuple[int, int]], bool]]:
    """The group's windows as the product makes them, each with the token positions
    (start, end) of the answers inside it, and whether it is taught alone (`line_loss`):
    not when its line repeats the answer's words without holding SQuAD's own answer."""
    lines = articles[group.article].lines
    question = featurizer.question(group.question)
    out = []
    for k, i in enumerate(group.lines):
        before = lines[i - 1] if i > 0 else ""
        after = lines[i + 1] if i + 1 < len(lines) else ""
        said = [(s, e) for kk, s, e in group.answers if kk == k]
        alone = not said or k == group.holder
        for window in featurizer.windows(question, lines[i], before, after):
            spans = [token_span(window, s, e) for s, e in said]
            out.append((window, [x for x in spans if x is not None], alone))
    return out


def collate(
    featurizer: Featurizer, articles: list[Article], groups: list[Group], idx: list[int]
) -> dict[str, torch.Tensor]:
    rows: list[tuple[Window, list[tuple[int, int]], bool]] = []
    owner: list[int] = []
    for g, i in enumerate(idx):
        for row in group_windows(featurizer, articles, groups[i]):
            rows.append(row)
            owner.append(g)
    width = max(len(w.input_ids) for w, _, _ in rows)
    n = len(rows)
    ids = torch.zeros((n, width), dtype=torch.long)
    types = torch.zeros_like(ids)
    mask = torch.zeros_like(ids)
    allowed = torch.zeros((n, width), dtype=torch.bool)
    start_t = torch.zeros((n, width), dtype=torch.bool)
    end_t = torch.zeros((n, width), dtype=torch.bool)
    for r, (w, spans, _) in enumerate(rows):
        k = len(w.input_ids)
        ids[r, :k] = torch.tensor(w.input_ids)
        types[r, :k] = torch.tensor(w.token_type_ids)
        mask[r, :k] = 1
        allowed[r, w.first : w.last] = True
        for s, e in spans:
            start_t[r, s] = True
            end_t[r, e] = True
    most = max(owner.count(g) for g in range(len(idx)))
    windows = torch.full((len(idx), most), n, dtype=torch.long)  # n: an empty window
    filled = [0] * len(idx)
    for r, g in enumerate(owner):
        windows[g, filled[g]] = r
        filled[g] += 1
    answered = torch.zeros(len(idx), dtype=torch.bool)
    for r, g in enumerate(owner):
        answered[g] |= bool(start_t[r].any())
    return {
        "input_ids": ids,
        "attention_mask": mask,
        "token_type_ids": types,
        "allowed": allowed,
        "start_target": start_t,
        "end_target": end_t,
        "windows": windows,
        "no_answer": ~answered,
        "alone": torch.tensor([alone for _, _, alone in rows], dtype=torch.bool),
    }


def group_log_probs(
    logits: torch.Tensor, allowed: torch.Tensor, windows: torch.Tensor
) -> torch.Tensor:
    """Log-probabilities over [no answer, every line token of every window] for each group:
    (groups, 1 + windows x tokens). One normalisation per group (shared normalisation)."""
    n, width = logits.shape
    tokens = torch.cat([logits.masked_fill(~allowed, MASKED), logits.new_full((1, width), MASKED)])
    cls = torch.cat([logits[:, 0], logits.new_full((1,), -math.inf)])
    present = windows < n
    null = torch.logsumexp(cls[windows], dim=1) - torch.log(present.sum(1).float())
    scores = torch.cat([null[:, None], tokens[windows].reshape(windows.shape[0], -1)], dim=1)
    return torch.log_softmax(scores, dim=1)


def _nll(log_probs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Minus the log of the probability of all right options together (an answer said in two
    lines is right in both)."""
    return -torch.logsumexp(log_probs.masked_fill(~targets, -math.inf), dim=1)


def line_loss(
    logits: torch.Tensor, allowed: torch.Tensor, target: torch.Tensor, alone: torch.Tensor
) -> torch.Tensor:
    """Each window taught alone: one softmax over its `[CLS]` and its line's tokens, the
    answer's tokens right where it holds them and `[CLS]` ("not in this line") elsewhere;
    the mean over the windows taught alone."""
    scores = logits.masked_fill(~allowed, MASKED)
    scores[:, 0] = logits[:, 0]
    targets = target.clone()
    targets[:, 0] = ~target.any(dim=1)
    nll = _nll(torch.log_softmax(scores, dim=1), targets)
    return nll[alone].mean() if bool(alone.any()) else nll.sum() * 0.0


def forward_by_width(
    model: SpanReader, batch: dict[str, torch.Tensor], rows_per_pass: int = ROWS_PER_PASS
) -> tuple[torch.Tensor, torch.Tensor]:
    """The start and end logits of every window, (windows, width), read in passes of windows
    of similar length, each cut to its own longest window. A batch padded to its longest
    window spends about a quarter of its tokens on padding (SQuAD's lines vary in length);
    the logits are the same, as padding is masked out of attention. Positions past a
    window's end are `MASKED` (the losses mask them anyway)."""
    ids, mask, types = batch["input_ids"], batch["attention_mask"], batch["token_type_ids"]
    lengths = mask.sum(1)
    order = torch.argsort(lengths)
    starts, ends = [], []
    for at in range(0, len(order), rows_per_pass):
        rows = order[at : at + rows_per_pass]
        width = int(lengths[rows].max())
        s, e = model(ids[rows, :width], mask[rows, :width], types[rows, :width])
        starts.append(torch.nn.functional.pad(s.float(), (0, ids.shape[1] - width), value=MASKED))
        ends.append(torch.nn.functional.pad(e.float(), (0, ids.shape[1] - width), value=MASKED))
    back = torch.argsort(order)  # the passes ran in `order`: this puts each window back
    return torch.cat(starts)[back], torch.cat(ends)[back]


def group_loss(
    model: SpanReader,
    batch: dict[str, torch.Tensor],
    bf16: bool = False,
    rows_per_pass: int = ROWS_PER_PASS,
) -> torch.Tensor:
    """The group loss (shared normalisation) plus `LINE_WEIGHT` times the per-window loss,
    each the mean of its start and end terms."""
    # bf16 autocast: the weights and the optimiser stay float32, only the matrix products run
    # in bfloat16 (about a fifth faster on CPUs with AMX-BF16, as these have).
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        start, end = forward_by_width(model, batch, rows_per_pass)
    windows, groups = batch["windows"], batch["windows"].shape[0]
    losses = []
    for logits, target in ((start, batch["start_target"]), (end, batch["end_target"])):
        log_probs = group_log_probs(logits.float(), batch["allowed"], windows)
        padded = torch.cat([target, target.new_zeros((1, target.shape[1]))])
        targets = torch.cat([batch["no_answer"][:, None], padded[windows].reshape(groups, -1)], 1)
        group = _nll(log_probs, targets).mean()
        alone = line_loss(logits.float(), batch["allowed"], target, batch["alone"])
        losses.append(group + LINE_WEIGHT * alone)
    return (losses[0] + losses[1]) / 2


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def _load_checkpoint(run: Path) -> dict[str, Any] | None:
    path = run / CHECKPOINT_FILE
    if not path.exists():
        return None
    try:
        return dict(torch.load(path, weights_only=False))
    except Exception as err:  # a damaged checkpoint: start again, never a traceback
        log(run, f"{path} is damaged ({type(err).__name__}): starting again from the shipped model")
        return None


def _starting_point(
    args: argparse.Namespace,
) -> tuple[SpanReader, int, float, int, str]:
    """The model to train on, the step to start at, the hours and sessions already spent,
    and where the weights came from."""
    if args.start == "base":
        return SpanReader.from_base(), 0, 0.0, 0, BASE
    model = SpanReader.from_base()
    state, progress = load_shipped(Path(args.shipped))
    model.load_state_dict(state)
    same_plan = progress.get("seed") == args.seed and progress.get("batch") == args.batch
    step = int(progress.get("steps", 0)) if same_plan else 0
    hours = float(progress.get("hours", 0.0))
    return model, step, hours, int(progress.get("sessions", 0)), "the shipped model"


def train(args: argparse.Namespace) -> Path:
    """Train until the plan is done or `--hours` have passed; write `reader.pt` and
    `train.json` (what was done) either way, so the pipeline can measure what there is."""
    run = Path(args.run)
    run.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    articles, groups = load_groups(args, run)
    if args.max_groups:
        groups = groups[: args.max_groups]
    batches = plan_batches(articles, groups, args.batch, args.seed)
    total = len(batches)
    featurizer = Featurizer(load_tokenizer(str(base_model_dir() / "tokenizer.json")))

    state = _load_checkpoint(run)
    if state is not None and state.get("total") != total:
        log(run, f"the checkpoint was made for {state.get('total')} steps, not {total}: not used")
        state = None
    if state is not None:
        model = SpanReader.from_base()
        model.load_state_dict(state["model"])
        step, hours_before, origin = state["step"], state["hours"], state["origin"]
        sessions_before = int(state.get("sessions", 0))
        log(run, f"resumed at step {step}/{total}")
    else:
        model, step, hours_before, sessions_before, origin = _starting_point(args)
        log(run, f"starting at step {step}/{total} from {origin}")
    if args.freeze_words:
        # The word embeddings are most of the parameters and barely move in fine-tuning;
        # frozen, a step is ~8 % cheaper (shared/notes measurement). Only from trained
        # weights: from the base model the line markers' embeddings must still be learnt.
        model.encoder.embeddings.word_embeddings.weight.requires_grad_(origin != BASE)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=args.lr, weight_decay=0.01)
    warmup = args.warmup
    if state is not None:
        optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["rng"])
    first = step
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / warmup) if state is None else 1.0
    )
    positives = sum(1 for g in groups if g.answers)
    log(
        run,
        f"{len(groups)} groups ({positives} answerable), {total} steps of {args.batch} groups, "
        f"lr {args.lr}, budget {args.hours} h",
    )

    stop = {"now": False}

    def _interrupt(*_: object) -> None:
        stop["now"] = True  # finish the step, checkpoint, and leave cleanly

    signal.signal(signal.SIGTERM, _interrupt)
    model.train()
    started, running = time.time(), 0.0
    deadline = started + args.hours * 3600 if args.hours else math.inf

    def checkpoint() -> None:
        save_checkpoint(
            run / CHECKPOINT_FILE,
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "step": step,
                "total": total,
                "rng": torch.get_rng_state(),
                "hours": hours_before + (time.time() - started) / 3600,
                "origin": origin,
                "sessions": sessions_before + 1,
            },
        )

    try:
        while step < total and time.time() < deadline and not stop["now"]:
            batch = collate(featurizer, articles, groups, batches[step])
            loss = group_loss(model, batch, args.bf16)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            value = float(loss.detach())
            running = 0.98 * running + 0.02 * value if running else value
            if step % args.log_every == 0 or step == total:
                per_step = (time.time() - started) / (step - first)
                eta = per_step * (total - step) / 3600
                log(
                    run,
                    f"step {step}/{total} loss {running:.3f} {per_step:.2f} s/step eta {eta:.1f} h",
                )
            if step % args.checkpoint_every == 0:
                checkpoint()
    except KeyboardInterrupt:
        stop["now"] = True
    checkpoint()
    weights = run / "reader.pt"
    torch.save(model.state_dict(), weights)
    hours = hours_before + (time.time() - started) / 3600
    meta = {
        "objective": "shared normalisation over groups of lines, and each window alone",
        "steps": step,
        "total_steps": total,
        "batch": args.batch,
        "group_lines": max(len(g.lines) for g in groups),
        "groups_trained": min(step * args.batch, len(groups)),
        "groups": len(groups),
        "answerable_groups": positives,
        "lr": args.lr,
        "seed": args.seed,
        "bf16": args.bf16,
        "frozen_word_embeddings": args.freeze_words and origin != BASE,
        "started_from": origin,
        "hours": round(hours, 2),
        "sessions": sessions_before + 1,
        "finished": step >= total,
    }
    (run / "train.json").write_text(json.dumps(meta, indent=2))
    log(run, f"stopped at step {step}/{total} after {hours:.2f} h in all: {weights}")
    if stop["now"] and step < total:
        log(run, "interrupted: run it again to go on from here")
    return weights


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--squad", default="../shared/squad/train-v1.1.json")
    p.add_argument("--run", default=str(default_run_dir()), help="where the run keeps its state")
    p.add_argument(
        "--start",
        choices=("shipped", "base"),
        default="shipped",
        help="weights to start from when no checkpoint exists",
    )
    p.add_argument("--shipped", default=str(MODEL_DIR), help="the shipped model to start from")
    p.add_argument("--hours", type=float, default=0.0, help="stop after this long (0: no limit)")
    p.add_argument("--max-groups", type=int, default=0, help="use only the first N groups")
    p.add_argument("--batch", type=int, default=8, help="groups per step")
    p.add_argument("--lr", type=float, default=3e-5)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument(
        "--bf16",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="bfloat16 autocast (measured 10-20x slower per step on CPUs without AMX)",
    )
    p.add_argument(
        "--freeze-words",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="keep the word embeddings fixed (when starting from trained weights)",
    )
    p.add_argument("--log-every", type=int, default=20)
    p.add_argument("--checkpoint-every", type=int, default=100)
    return p


if __name__ == "__main__":
    train(parser().parse_args())
