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
        "--max-steps", "3",
        "--batch", "4",
        "--checkpoint-every", "1",
        "--ship-to", str(shipped),
    ]  # fmt: skip
    old = sys.argv
    sys.argv = argv
    try:
        pipeline.main()
    finally:
        sys.argv = old
    return run, shipped


def test_training_writes_a_checkpoint_and_the_log(trained: tuple[Path, Path]) -> None:
    run, _ = trained
    assert (run / "checkpoint.pt").exists()
    assert "step 3/3" in (run / "log.txt").read_text()


def test_a_second_run_resumes_from_the_checkpoint(trained: tuple[Path, Path]) -> None:
    from training import train

    run, _ = trained
    (run / "reader.pt").unlink()
    args = train.parser().parse_args(
        ["--squad", "unused", "--run", str(run), "--max-steps", "3", "--batch", "4"]
    )
    train.train(args)
    assert "resumed at step 3" in (run / "log.txt").read_text()
    assert (run / "reader.pt").exists()


def test_the_shipped_file_matches_its_model_card(trained: tuple[Path, Path]) -> None:
    from training.pipeline import sha256

    _, shipped = trained
    card = (shipped / CARD_FILE).read_text()
    listed = re.search(r"sha256: ([0-9a-f]{64})", card)
    assert listed and listed.group(1) == sha256(shipped / MODEL_FILE)
    assert (shipped / MODEL_FILE).stat().st_size < 50e6
    calibration = json.loads((shipped / CALIBRATION_FILE).read_text())
    assert calibration["fitted_on"]["articles"].startswith("even")


def test_the_exported_model_answers_in_onnxruntime(trained: tuple[Path, Path]) -> None:
    from qa.reader import Passage, ReaderModel

    _, shipped = trained
    model = ReaderModel(shipped)
    line = "The harbour of Marlow was built in 1821."
    spans = model.read(model.question("When was the harbour built?"), [Passage(line)])
    assert spans[0] is not None
    assert 0 <= spans[0].start < spans[0].end <= len(line)
