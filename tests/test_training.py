"""The reader's training recipe, end to end on a few dozen questions: train a few steps,
resume, export to ONNX, measure, calibrate, write the card, and answer with the result.

Needs the `train` extra (torch); `make test-training` installs it in its own venv and runs
this file, which the default suite skips.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

# Training, three exports, measuring and calibrating, all in the first test's fixture.
pytestmark = pytest.mark.timeout(1200)

from qa.reader.model import CALIBRATION_FILE, CARD_FILE, MODEL_FILE  # noqa: E402

# Facts written for this test: three small articles, each with questions answered inside.
ARTICLES = [
    (
        "Harbour",
        [
            "The harbour of Marlow was built in 1821. Its first master was Edwin Hale. "
            "Ships from Norway brought timber every spring.",
            "A storm in 1903 destroyed the eastern pier. The town rebuilt it in two years "
            "with stone from the Penrose quarry.",
        ],
        [
            ("When was the harbour of Marlow built?", "1821"),
            ("Who was the first master of the harbour?", "Edwin Hale"),
            ("Where did the ships bringing timber come from?", "Norway"),
            ("What did the storm of 1903 destroy?", "the eastern pier"),
            ("Where did the stone for the new pier come from?", "the Penrose quarry"),
            ("How long did rebuilding the pier take?", "two years"),
        ],
    ),
    (
        "Orchard",
        [
            "The Kestle orchard grows forty kinds of apple. Its oldest tree was planted by "
            "Mary Trew in 1790.",
            "Every October the village holds a cider fair. The fair raised 3,000 pounds for "
            "the school last year.",
        ],
        [
            ("How many kinds of apple does the orchard grow?", "forty"),
            ("Who planted the oldest tree?", "Mary Trew"),
            ("In which month is the cider fair held?", "October"),
            ("How much money did the fair raise?", "3,000 pounds"),
            ("What did the fair raise money for?", "the school"),
        ],
    ),
    (
        "Railway",
        [
            "The branch line to Tresco opened in 1868 and closed in 1964. Its engines were "
            "built in Swindon.",
            "Volunteers reopened two miles of track in 1991. The heritage trains run on "
            "Sundays from May to September.",
        ],
        [
            ("When did the branch line open?", "1868"),
            ("Where were the line's engines built?", "Swindon"),
            ("When did the line close?", "1964"),
            ("How many miles of track did volunteers reopen?", "two"),
            ("On which day do the heritage trains run?", "Sundays"),
        ],
    ),
]


def squad_file(path: Path, *, with_unanswerable: bool) -> Path:
    data = []
    for title, paragraphs, questions in ARTICLES:
        out_paragraphs = []
        for p, context in enumerate(paragraphs):
            qas = []
            for n, (question, answer) in enumerate(questions):
                start = context.find(answer)
                if start < 0:
                    continue
                qas.append(
                    {
                        "id": f"{title}-{p}-{n}",
                        "question": question,
                        "answers": [{"text": answer, "answer_start": start}],
                        "is_impossible": False,
                    }
                )
            if with_unanswerable:
                qas.append(
                    {
                        "id": f"{title}-{p}-none",
                        "question": f"What colour was the {title.lower()}'s flag?",
                        "answers": [],
                        "is_impossible": True,
                    }
                )
            out_paragraphs.append({"context": context, "qas": qas})
        data.append({"title": title, "paragraphs": out_paragraphs})
    path.write_text(json.dumps({"version": "test", "data": data}))
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from training import pipeline

    work = tmp_path_factory.mktemp("training")
    run, shipped = work / "run", work / "model"
    argv = [
        "pipeline",
        "--squad", str(squad_file(work / "train.json", with_unanswerable=False)),
        "--dev", str(squad_file(work / "dev.json", with_unanswerable=True)),
        "--run", str(run),
        "--max-groups", "12",
        "--batch", "4",
        "--checkpoint-every", "1",
        "--ship", "--ship-to", str(shipped),
    ]  # fmt: skip
    old = sys.argv
    sys.argv = argv
    try:
        pipeline.main()
    finally:
        sys.argv = old
    return run, shipped


def _args(run: Path, squad: Path, *more: str):  # type: ignore[no-untyped-def]
    from training import train

    base = ["--squad", str(squad), "--run", str(run), "--max-groups", "12", "--batch", "4"]
    return train.parser().parse_args([*base, *more])


def test_training_writes_a_checkpoint_and_the_log(trained: tuple[Path, Path]) -> None:
    run, _ = trained
    assert (run / "checkpoint.pt").exists()
    assert "stopped at step 3/3" in (run / "log.txt").read_text()


def test_a_second_run_resumes_from_the_checkpoint(trained: tuple[Path, Path]) -> None:
    from training import train

    run, _ = trained
    (run / "reader.pt").unlink()
    train.train(_args(run, run.parent / "train.json"))
    assert "resumed at step 3/3" in (run / "log.txt").read_text()
    assert (run / "reader.pt").exists()


def test_a_damaged_cache_starts_again_with_a_notice(
    trained: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from training import train

    run = tmp_path / "run"
    run.mkdir()
    (run / "groups.pkl").write_bytes(b"not a pickle")
    (run / "checkpoint.pt").write_bytes(b"not a checkpoint")
    train.train(_args(run, trained[0].parent / "train.json", "--max-groups", "4"))
    out = capsys.readouterr().out
    assert "groups.pkl is damaged (UnpicklingError): building the groups again" in out
    assert "checkpoint.pt is damaged" in out and "starting again from the shipped model" in out
    assert "Traceback" not in out
    assert (run / "reader.pt").exists()


def test_a_fresh_run_starts_where_the_shipped_model_stopped(
    trained: tuple[Path, Path], tmp_path: Path
) -> None:
    from training import train

    _, shipped = trained
    progress = json.loads((shipped / "progress.json").read_text())
    assert progress["steps"] == 3 and progress["batch"] == 4
    progress["steps"] = 2  # as if the shipped model had stopped one step short
    (shipped / "progress.json").write_text(json.dumps(progress))
    run = tmp_path / "run"
    train.train(_args(run, trained[0].parent / "train.json", "--shipped", str(shipped)))
    log = (run / "log.txt").read_text()
    assert "starting at step 2/3 from the shipped model" in log
    assert "stopped at step 3/3" in log


def test_the_warm_start_reads_back_the_shipped_weights(trained: tuple[Path, Path]) -> None:
    """The weights read back from the int8 ONNX file give the scores the file gives, within
    its quantisation error."""
    import numpy as np
    import onnxruntime as ort
    import torch

    from qa.reader.features import Featurizer, batch_arrays, load_tokenizer
    from qa.reader.model import TOKENIZER_FILE
    from training.model import SpanReader
    from training.warmstart import state_from_onnx

    _, shipped = trained
    featurizer = Featurizer(load_tokenizer(str(shipped / TOKENIZER_FILE)))
    question = featurizer.question("When was the harbour built?")
    window = featurizer.windows(question, "The harbour of Marlow was built in 1821.")[0]
    arrays = batch_arrays([window])
    session = ort.InferenceSession(str(shipped / MODEL_FILE), providers=["CPUExecutionProvider"])
    onnx_start = session.run(None, arrays)[0]
    model = SpanReader.from_base()
    model.load_state_dict(state_from_onnx(shipped / MODEL_FILE))
    model.eval()
    with torch.no_grad():
        start, _ = model(*(torch.from_numpy(arrays[k]) for k in arrays))
    assert np.corrcoef(start[0].numpy(), onnx_start[0])[0, 1] > 0.98


def test_the_shipped_file_matches_its_model_card(trained: tuple[Path, Path]) -> None:
    from training.pipeline import sha256

    _, shipped = trained
    card = (shipped / CARD_FILE).read_text()
    listed = re.search(r"sha256: ([0-9a-f]{64})", card)
    assert listed and listed.group(1) == sha256(shipped / MODEL_FILE)
    assert (shipped / MODEL_FILE).stat().st_size < 50e6
    calibration = json.loads((shipped / CALIBRATION_FILE).read_text())
    assert calibration["fitted_on"]["articles"].startswith("even")
    assert calibration["decision"] == "group"


def test_the_exported_model_answers_in_onnxruntime(trained: tuple[Path, Path]) -> None:
    from qa.reader import Passage, ReaderModel

    _, shipped = trained
    model = ReaderModel(shipped)
    line = "The harbour of Marlow was built in 1821."
    spans = model.read(model.question("When was the harbour built?"), [Passage(line)])
    assert spans[0] is not None
    assert 0 <= spans[0].start < spans[0].end <= len(line)


def test_a_line_repeating_the_answer_away_from_squads_own_is_not_taught_alone() -> None:
    """Each window is also taught alone ("not in this line" against its own [CLS]), except
    where its line says the answer's words but is not where SQuAD's answer stands: there
    the words may be about something else."""
    from qa.reader.features import Featurizer, load_tokenizer
    from training.groups import Article, Group
    from training.model import base_model_dir
    from training.train import collate

    lines = (
        "The bridge opened in 1998.",
        "The club won the league in 1998.",
        "The museum has forty rooms.",
    )
    group = Group(0, "When did the club win the league?", (0, 1, 2), ((0, 21, 25), (1, 27, 31)), 1)
    featurizer = Featurizer(load_tokenizer(str(base_model_dir() / "tokenizer.json")))
    batch = collate(featurizer, [Article(lines)], [group], [0])
    assert batch["alone"].tolist() == [False, True, True]


def test_a_window_taught_alone_learns_not_in_this_line_where_its_line_lacks_the_answer() -> None:
    import torch

    from training.train import line_loss

    allowed = torch.tensor([[False, True, True, False]])
    no_answer = torch.zeros((1, 4), dtype=torch.bool)
    says_not_here = torch.tensor([[9.0, 0.0, 0.0, 0.0]])
    points_inside = torch.tensor([[0.0, 9.0, 0.0, 0.0]])
    alone = torch.tensor([True])
    assert line_loss(says_not_here, allowed, no_answer, alone) < 0.01
    assert line_loss(points_inside, allowed, no_answer, alone) > 8.0
    answer = torch.tensor([[False, True, False, False]])
    assert line_loss(points_inside, allowed, answer, alone) < 0.01


def test_reading_windows_in_passes_of_similar_length_gives_the_same_loss() -> None:
    """Windows are read in passes cut to their own longest window (a quarter of a padded
    batch is padding); the loss must be what one pass over the padded batch gives."""
    import torch

    from qa.reader.features import Featurizer, load_tokenizer
    from training.groups import Article, Group
    from training.model import SpanReader, base_model_dir
    from training.train import collate, forward_by_width, group_loss

    lines = (
        "The bridge opened in 1998.",
        "The club, founded by miners from the valley towns after a long strike, won the "
        "league in 1998 and again, with a team of mostly local players, in 2004.",
        "The museum has forty rooms.",
    )
    groups = [
        Group(0, "When did the club win the league?", (0, 1, 2), ((1, 89, 93),), 1),
        Group(0, "How many rooms has the museum?", (2, 0), ((2, 15, 20),), 2),
    ]
    featurizer = Featurizer(load_tokenizer(str(base_model_dir() / "tokenizer.json")))
    batch = collate(featurizer, [Article(lines)], groups, [0, 1])
    model = SpanReader.from_base().eval()
    with torch.no_grad():
        whole = model(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
        passes = forward_by_width(model, batch, rows_per_pass=2)
        for one, split in zip(whole, passes, strict=True):
            assert torch.allclose(one[batch["allowed"]], split[batch["allowed"]], atol=1e-4)
            assert torch.allclose(one[:, 0], split[:, 0], atol=1e-4)
        one_pass = float(group_loss(model, batch, rows_per_pass=len(batch["input_ids"])))
        assert abs(float(group_loss(model, batch, rows_per_pass=1)) - one_pass) < 1e-4


def test_a_word_swap_asks_about_a_noun_no_line_says() -> None:
    from training.groups import _swap_word

    holder = "Another 88 drones were shot down over the city."
    lines = [holder, "The bridges were closed at night."]
    pool = ["bridges", "helicopters", "harbour"]
    swapped = _swap_word("How many drones were shot down?", holder, lines, pool, "seed")
    # a plural for a plural, and never a noun that a line says (that would still be answerable)
    assert swapped == "How many helicopters were shot down?"


def test_word_swaps_leave_every_group_its_lines(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A run in progress resumes from its checkpoint only while the plan is the same: word
    swaps change questions, never which lines a group reads."""
    from training import groups as recipe

    # one article longer than a group, so that it has nouns the group's lines do not say
    facts = [
        ("The mill", "grinds", "the barley", "of the valley"),
        ("The bakery", "sells", "the bread", "of the town"),
        ("The ferry", "carries", "the cattle", "across the river"),
        ("The school", "teaches", "the children", "of the farms"),
        ("The chapel", "keeps", "the records", "of the parish"),
        ("The market", "trades", "the wool", "of the hills"),
    ]
    paragraphs = [
        {
            "context": f"{who} {does} {what} {where}.",
            "qas": [
                {
                    "id": f"q{n}",
                    "question": f"What does {who.lower()} {does[:-1]} {where}?",
                    "answers": [{"text": what, "answer_start": len(f"{who} {does} ")}],
                }
            ],
        }
        for n, (who, does, what, where) in enumerate(facts)
    ]
    squad = tmp_path / "train.json"
    squad.write_text(json.dumps({"data": [{"title": "Valley", "paragraphs": paragraphs}]}))
    monkeypatch.setattr(recipe, "P_WORD_SWAPPED", 0.6)
    _, swapping = recipe.build_groups(squad, seed=3)
    monkeypatch.setattr(recipe, "P_WORD_SWAPPED", 0.0)
    _, plain = recipe.build_groups(squad, seed=3)
    assert [g.question for g in swapping] != [g.question for g in plain]
    assert [g.lines for g in swapping] == [g.lines for g in plain]
    assert [g.article for g in swapping] == [g.article for g in plain]
