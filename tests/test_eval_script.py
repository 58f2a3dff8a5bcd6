"""The evaluation script, run as a user runs it, and the gold set it scores against."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from evals.datasets import load_gold
from evals.runner import METRIC_KEYS
from support.cli import run_qa
from support.gold_reader import gold_reader
from support.openai_stub import ScriptedLLMServer
from tests.conftest import REPO, SEEDS
from tests.test_index import nl_lines

GOLD = REPO / "evals" / "gold.jsonl"
SQUAD = REPO.parent / "shared" / "squad" / "dev-v2.0.json"


def run_eval(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return run_qa("eval", *args, cwd=cwd, env=env, timeout=600)


def eval_gold(
    out: Path, *more: str, env: dict[str, str] | None = None
) -> tuple[dict, subprocess.CompletedProcess[str]]:
    """`qa eval` on the gold set over seeds/, as a user runs it; its JSON report."""
    result = run_eval(
        "--corpus", str(SEEDS), "--questions", str(GOLD), "--report-json", str(out / "r.json"),
        *more, cwd=out, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads((out / "r.json").read_text()), result


@pytest.fixture(scope="module")
def gold_report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("eval")
    report, result = eval_gold(out, "--report-md", str(out / "r.md"))
    report["_md"] = (out / "r.md").read_text()
    report["_png"] = (out / "r.png").exists()
    report["_stdout"] = result.stdout
    report["_stderr"] = result.stderr
    return report


def test_a_run_written_to_a_log_shows_its_progress(gold_report) -> None:
    n = len(load_gold(GOLD))
    assert f"asking {n} questions: {n}/{n}" in gold_report["_stderr"]
    assert "indexing" in gold_report["_stderr"]


def test_the_reports_folder_the_readme_writes_to_is_ignored_by_git() -> None:
    ignored = subprocess.run(["git", "check-ignore", "-q", "out/gold.json"], cwd=REPO)
    assert ignored.returncode == 0


def test_the_report_json_keeps_its_stable_keys(gold_report) -> None:
    assert set(gold_report["metrics"]) == set(METRIC_KEYS)
    first = gold_report["questions"][0]
    assert set(first) == {
        "id",
        "question",
        "gold",
        "answer",
        "abstained",
        "citations",
        "correct",
        "failure",
        "confidence",
        "latency_ms",
    }
    assert gold_report["metrics"]["n_questions"] == len(load_gold(GOLD))


def test_the_report_says_where_answers_fail_and_how_far_confidence_is_to_be_trusted(
    gold_report,
) -> None:
    questions = gold_report["questions"]
    wrong = [q for q in questions if not q["correct"]]
    assert wrong and all(q["failure"] for q in wrong)
    assert all(q["failure"] is None for q in questions if q["correct"])
    assert sum(gold_report["failures"].values()) == len(wrong)
    assert all(0 <= q["confidence"] <= 1 for q in questions)
    assert 0.0 < gold_report["metrics"]["confidence_auroc"] <= 1.0
    assert "failures: wrong_line" in gold_report["_stdout"]
    assert "expected calibration error" in gold_report["_stdout"]


def test_the_markdown_report_has_the_table_failures_and_a_chart(gold_report) -> None:
    md = gold_report["_md"]
    assert "| answer_f1 |" in md and "## Failures" in md and "](r.png)" in md
    assert gold_report["_png"]
    assert "| citation_precision |" in gold_report["_stdout"]
    n = len(load_gold(GOLD))
    assert f"answered by: reader {n}" in md
    assert f"answered by: reader {n}" in gold_report["_stdout"]
    assert gold_report["answered_by"] == {"reader": n}


# Lower bounds, except false_abstention_rate, which is an upper bound.
MEASURED_FLOOR = {  # just under the reader's level last measured (docs/evaluation.md)
    "answer_f1": 0.45,
    "citation_precision": 0.65,
    "citation_recall": 0.58,
    "abstention_accuracy": 0.50,
    "false_abstention_rate": 0.30,
    "retrieval_recall_at_5": 0.85,
}
GOLD_BARS = {
    "answer_f1": 0.90,
    "citation_precision": 0.95,
    "citation_recall": 0.95,
    "abstention_accuracy": 0.90,
    "false_abstention_rate": 0.05,
}


def short_of(metrics: dict[str, float], bars: dict[str, float]) -> list[str]:
    """The metrics on the wrong side of their bar, with both values."""
    return [
        f"{name} {metrics[name]:.3f} vs {bar}"
        for name, bar in bars.items()
        if (metrics[name] > bar if name == "false_abstention_rate" else metrics[name] < bar)
    ]


def test_the_answerer_stays_above_its_measured_floor_on_the_gold_set(gold_report) -> None:
    assert not short_of(gold_report["metrics"], MEASURED_FLOOR)


@pytest.mark.xfail(
    strict=True,
    reason="the gold bars (0.90 / 0.95 / 0.95 / 0.90 / 0.05) are not met by the reader yet "
    "(docs/evaluation.md); when this passes, drop the marker",
)
def test_the_answerer_meets_the_gold_bars(gold_report) -> None:
    assert not short_of(gold_report["metrics"], GOLD_BARS)


def test_with_a_reader_that_never_misreads_the_product_meets_the_gold_bars(tmp_path) -> None:
    """Reading is what stands between the product and the bars: with a stand-in model that
    answers every gold question right from the lines it is shown (`gold_reader`), the rest
    of the product (retrieval, the prompt, the citation check, the scoring) loses too little
    to miss them. With 8 lines shown instead of 16 it did not (answer_f1 0.944)."""
    gold = load_gold(GOLD)
    with ScriptedLLMServer(respond=gold_reader(gold)) as reader:
        model = {"QA_LLM_MODEL": "openai/gold-reader", "QA_LLM_API_BASE": reader.url}
        report, _ = eval_gold(tmp_path, env={**model, "QA_LLM_API_KEY": "unused"})
        asked = len(reader.requests)
    assert asked == len(gold)  # every question went to the model, none around it
    assert not short_of(report["metrics"], GOLD_BARS)
    # Fallbacks: none with the first 87 questions; one of the 121 (measured), where no cited
    # line passes the citation check.
    assert report["answered_by"].get("llm", 0) >= len(gold) - 1


@pytest.mark.skipif(not SQUAD.exists(), reason="shared/squad is not beside the repository")
def test_squad_format_runs_end_to_end_with_a_baseline(tmp_path) -> None:
    result = run_eval(
        "--questions",
        str(SQUAD),
        "--format",
        "squad",
        "--limit",
        "12",
        "--seed",
        "3",
        "--baseline",
        "--report-json",
        str(tmp_path / "s.json"),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "s.json").read_text())
    assert report["metrics"]["n_questions"] == 12
    assert "retrieval_recall_at_5" in report["baseline"]
    assert "stock llama-index" in result.stdout


def test_a_missing_question_file_is_a_one_line_error(tmp_path) -> None:
    result = run_eval(
        "--corpus", str(SEEDS), "--questions", str(tmp_path / "nope.jsonl"), cwd=tmp_path
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len([x for x in result.stderr.splitlines() if x.strip()]) == 1


def test_the_gold_set_covers_each_kind_of_question() -> None:
    gold = load_gold(GOLD)
    answerable = [q for q in gold if q.answerable]
    assert len(gold) >= 60
    assert len([q for q in gold if not q.answerable]) >= 12
    assert len([q for q in answerable if len({c.source for c in q.citations}) == 2]) >= 8
    assert len([q for q in gold if q.history]) >= 3
    for q in answerable:
        assert q.answers and q.citations


def test_every_gold_citation_is_a_real_line_that_states_the_answer() -> None:
    for q in load_gold(GOLD):
        texts = []
        for c in q.citations:
            lines = nl_lines(SEEDS / c.source)
            for n in c.lines:
                assert n in lines, (q.id, c.source, n)
                texts.append(lines[n].lower())
        if q.answerable:
            assert any(a.lower() in t for a in q.answers for t in texts), q.id


def test_the_gold_questions_do_not_leak_into_the_answerer() -> None:
    code = "\n".join(p.read_text() for d in ("qa", "index") for p in (REPO / d).rglob("*.py"))
    code = code.lower()
    calendar = re.compile(
        r"(monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|march|"
        r"april|may|june|july|august|september|october|november|december)",
        re.I,
    )
    for q in load_gold(GOLD):
        assert q.question.lower() not in code, q.id
        for answer in q.answers:
            # Names from the seeds ("Jane Doe", "Bahatyr"); general words and phrases
            # ("millions", "Friday", "prime minister") may appear in general-English tables.
            words = answer.split()
            name = any(w[:1].isupper() for w in words[1:]) or (
                len(words) == 1 and answer[:1].isupper() and not calendar.fullmatch(answer)
            )
            if name and len(answer) > 3:
                assert answer.lower() not in code, (q.id, answer)


def _tiny_squad(path: Path) -> Path:
    """Two articles in SQuAD's JSON shape, written here: long paragraphs that wrap over
    several printed lines once they are a PDF."""
    from support.documents import filler

    facts = [
        ("The Harwick footbridge reopened on 14 March after repairs.", "When did the Harwick "
         "footbridge reopen?", "14 March"),
        ("The first ferry to Orlen leaves the harbour at 9:15 every morning.", "What time "
         "does the first ferry to Orlen leave?", "9:15"),
        ("The lighthouse on Cape Orlen was repainted in 1998.", "When was the lighthouse "
         "on Cape Orlen repainted?", "1998"),
    ]  # fmt: skip
    data = []
    for a in range(2):
        paragraphs = []
        for p in range(3):
            context = " ".join(filler(a * 3 + p, 2))
            qas = []
            if a * 3 + p < len(facts):
                fact, question, answer = facts[a * 3 + p]
                context = f"{context} {fact}"
                qas.append(
                    {
                        "id": f"q{a}{p}",
                        "question": question,
                        "answers": [{"text": answer, "answer_start": context.index(answer)}],
                    }
                )
            paragraphs.append({"context": context, "qas": qas})
        data.append({"title": f"Article {a}", "paragraphs": paragraphs})
    path.write_text(json.dumps({"version": "v2.0", "data": data}))
    return path


def test_squad_can_be_measured_on_the_same_corpus_written_as_pdfs(tmp_path) -> None:
    squad = _tiny_squad(tmp_path / "tiny.json")
    result = run_eval(
        "--questions", str(squad), "--format", "squad", "--corpus-format", "pdf",
        "--report-json", str(tmp_path / "p.json"), cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "p.json").read_text())
    assert report["metrics"]["n_questions"] == 3
    for q in report["questions"]:
        gold = q["gold"]["citations"]
        assert gold and all(c["source"].endswith(".pdf") and c["page"] >= 1 for c in gold), q
    assert report["metrics"]["citation_recall"] > 0  # gold pages and lines line up with citations


def test_an_unknown_corpus_format_is_a_one_line_error(tmp_path) -> None:
    result = run_eval("--corpus", str(SEEDS), "--corpus-format", "odt", cwd=tmp_path)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "unknown corpus format 'odt'" in result.stderr
