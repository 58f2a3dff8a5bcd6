"""Specification of gold-set loading, SQuAD conversion and sampling."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from evals.datasets import (
    GoldCitation,
    GoldQuestion,
    Turn,
    load_gold,
    sample_questions,
    squad_to_corpus,
)

REAL_SQUAD = Path(__file__).resolve().parents[2] / "shared" / "squad" / "dev-v2.0.json"


def _write_jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _qa(qid: str, question: str, answers: list[str], impossible: bool | None = None) -> dict:
    qa: dict[str, Any] = {
        "id": qid,
        "question": question,
        "answers": [{"text": a, "answer_start": 0} for a in answers],
    }
    if impossible is not None:
        qa["is_impossible"] = impossible
    return qa


def _squad(tmp_path: Path, data: list[dict], version: str = "v2.0") -> Path:
    path = tmp_path / "squad.json"
    path.write_text(json.dumps({"version": version, "data": data}), encoding="utf-8")
    return path


def _two_articles(tmp_path: Path) -> Path:
    return _squad(
        tmp_path,
        [
            {
                "title": "Paris",
                "paragraphs": [
                    {
                        "context": "Paris is the capital of France.",
                        "qas": [_qa("p1", "Capital of France?", ["Paris"], False)],
                    },
                    {
                        "context": "The Eiffel Tower was built in 1889.",
                        "qas": [
                            _qa("p2", "When was it built?", ["1889", "in 1889", "1889"], False),
                            _qa("p3", "Who painted it pink?", [], True),
                        ],
                    },
                ],
            },
            {
                "title": "Berlin",
                "paragraphs": [
                    {
                        "context": "Berlin is the capital of Germany.",
                        "qas": [_qa("b1", "Capital of Germany?", ["Berlin"], False)],
                    }
                ],
            },
        ],
    )


# --- GoldQuestion model -----------------------------------------------------------------------


def test_gold_question_defaults_to_answerable_with_empty_lists() -> None:
    q = GoldQuestion(id="q1", question="Why?")
    assert q.answers == [] and q.citations == [] and q.history == []
    assert q.answerable is True


def test_gold_question_list_defaults_are_not_shared() -> None:
    a = GoldQuestion(id="a", question="?")
    b = GoldQuestion(id="b", question="?")
    a.answers.append("x")
    assert b.answers == []


def test_gold_question_parses_nested_citations_and_history() -> None:
    q = GoldQuestion.model_validate(
        {
            "id": "q",
            "question": "And then?",
            "citations": [{"source": "a.txt", "lines": [3, 4]}],
            "history": [{"question": "First?", "answer": "Yes"}],
        }
    )
    assert q.citations == [GoldCitation(source="a.txt", lines=[3, 4])]
    assert q.history == [Turn(question="First?", answer="Yes")]


# --- load_gold --------------------------------------------------------------------------------


def test_load_gold_reads_one_question_per_line(tmp_path: Path) -> None:
    path = _write_jsonl(
        tmp_path / "gold.jsonl",
        [
            json.dumps({"id": "1", "question": "A?", "answers": ["a"]}),
            json.dumps({"id": "2", "question": "B?", "answerable": False}),
        ],
    )
    questions = load_gold(path)
    assert [q.id for q in questions] == ["1", "2"]
    assert questions[0].answers == ["a"]
    assert questions[1].answerable is False


def test_load_gold_skips_blank_lines(tmp_path: Path) -> None:
    path = _write_jsonl(
        tmp_path / "gold.jsonl",
        [
            "",
            json.dumps({"id": "1", "question": "A?"}),
            "   ",
            json.dumps({"id": "2", "question": "B?"}),
        ],
    )
    assert [q.id for q in load_gold(path)] == ["1", "2"]


def test_load_gold_of_empty_file_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "gold.jsonl"
    path.write_text("", encoding="utf-8")
    assert load_gold(path) == []


def test_load_gold_accepts_utf8_bom(tmp_path: Path) -> None:
    path = tmp_path / "gold.jsonl"
    path.write_text("\ufeff" + json.dumps({"id": "1", "question": "A?"}) + "\n", encoding="utf-8")
    assert [q.id for q in load_gold(path)] == ["1"]


def test_load_gold_invalid_json_reports_file_and_line(tmp_path: Path) -> None:
    path = _write_jsonl(
        tmp_path / "gold.jsonl", [json.dumps({"id": "1", "question": "A?"}), "", "{not json"]
    )
    with pytest.raises(ValueError) as info:
        load_gold(path)
    message = str(info.value)
    assert message.startswith(f"{path}:3: ")
    assert "\n" not in message


def test_load_gold_schema_error_reports_file_line_and_field(tmp_path: Path) -> None:
    path = _write_jsonl(
        tmp_path / "gold.jsonl",
        [
            json.dumps({"id": "1", "question": "A?"}),
            json.dumps(
                {"id": "2", "question": "B?", "citations": [{"source": "x", "lines": ["a"]}]}
            ),
        ],
    )
    with pytest.raises(ValueError) as info:
        load_gold(path)
    message = str(info.value)
    assert message.startswith(f"{path}:2: ")
    assert "citations.0.lines.0" in message
    assert "\n" not in message


def test_load_gold_missing_required_field_is_one_line_error(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "gold.jsonl", [json.dumps({"answers": ["x"]})])
    with pytest.raises(ValueError) as info:
        load_gold(path)
    message = str(info.value)
    assert message.startswith(f"{path}:1: ")
    assert "id" in message and "question" in message
    assert "\n" not in message


def test_load_gold_rejects_non_object_line(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "gold.jsonl", ['["id", "question"]'])
    with pytest.raises(ValueError, match=r":1: "):
        load_gold(path)


def test_load_gold_rejects_duplicate_ids(tmp_path: Path) -> None:
    line = json.dumps({"id": "same", "question": "A?"})
    path = _write_jsonl(tmp_path / "gold.jsonl", [line, line])
    with pytest.raises(ValueError, match=r":2: duplicate id 'same' \(first on line 1\)"):
        load_gold(path)


def test_load_gold_invalid_utf8_reports_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "gold.jsonl"
    path.write_bytes(json.dumps({"id": "1", "question": "A?"}).encode() + b"\n\xff\xfe\n")
    with pytest.raises(ValueError) as info:
        load_gold(path)
    assert str(info.value).startswith(f"{path}:2: ")


# --- squad_to_corpus --------------------------------------------------------------------------


def test_squad_writes_one_file_per_article_named_by_index_and_title(tmp_path: Path) -> None:
    squad_to_corpus(_two_articles(tmp_path), tmp_path / "corpus")
    assert sorted(p.name for p in (tmp_path / "corpus").iterdir()) == [
        "000_Paris.txt",
        "001_Berlin.txt",
    ]


def test_squad_writes_one_paragraph_per_line(tmp_path: Path) -> None:
    squad_to_corpus(_two_articles(tmp_path), tmp_path / "corpus")
    text = (tmp_path / "corpus" / "000_Paris.txt").read_text(encoding="utf-8")
    assert text == "Paris is the capital of France.\nThe Eiffel Tower was built in 1889.\n"


def test_each_paragraph_is_exactly_one_line(tmp_path: Path) -> None:
    contexts = ["first\nsecond", "windows\r\nstyle", "old\rmac", "unicode\u2028separator", "plain"]
    path = _squad(
        tmp_path,
        [{"title": "T", "paragraphs": [{"context": c, "qas": []} for c in contexts]}],
    )
    squad_to_corpus(path, tmp_path / "corpus")
    corpus_file = tmp_path / "corpus" / "000_T.txt"
    raw = corpus_file.read_bytes().decode("utf-8")
    assert raw.split("\n")[:-1] == raw.splitlines()
    assert len(raw.splitlines()) == len(contexts)
    assert raw.splitlines()[0] == "first second"
    assert raw.endswith("\n")


def test_squad_answers_stay_findable_in_their_flattened_line(tmp_path: Path) -> None:
    path = _squad(
        tmp_path,
        [
            {
                "title": "T",
                "paragraphs": [
                    {"context": "line one\nline two", "qas": [_qa("q", "?", ["one\nline"], False)]}
                ],
            }
        ],
    )
    [question] = squad_to_corpus(path, tmp_path / "corpus")
    line = (tmp_path / "corpus" / "000_T.txt").read_text(encoding="utf-8").splitlines()[0]
    assert question.answers == ["one line"]
    assert question.answers[0] in line


# The slug tests share a shape (deliberate: one behaviour each).
def test_squad_title_is_slugged_to_ascii_word_characters(tmp_path: Path) -> None:
    path = _squad(tmp_path, [{"title": "Beyoncé / Jay-Z: (2008) tour!", "paragraphs": []}])
    squad_to_corpus(path, tmp_path / "corpus")
    [corpus_file] = (tmp_path / "corpus").iterdir()
    assert corpus_file.name == "000_Beyonce_Jay_Z_2008_tour.txt"


def test_squad_slug_is_at_most_60_characters(tmp_path: Path) -> None:
    path = _squad(tmp_path, [{"title": "x" * 100, "paragraphs": []}])
    squad_to_corpus(path, tmp_path / "corpus")
    [corpus_file] = (tmp_path / "corpus").iterdir()
    assert corpus_file.name == "000_" + "x" * 60 + ".txt"


def test_squad_title_without_usable_characters_gets_a_fallback_slug(tmp_path: Path) -> None:
    path = _squad(tmp_path, [{"title": "東京", "paragraphs": []}])
    squad_to_corpus(path, tmp_path / "corpus")
    [corpus_file] = (tmp_path / "corpus").iterdir()
    assert corpus_file.name == "000_article.txt"


def test_squad_duplicate_titles_get_distinct_files(tmp_path: Path) -> None:
    path = _squad(
        tmp_path,
        [
            {"title": "Same", "paragraphs": [{"context": "one", "qas": []}]},
            {"title": "Same", "paragraphs": [{"context": "two", "qas": []}]},
        ],
    )
    squad_to_corpus(path, tmp_path / "corpus")
    assert (tmp_path / "corpus" / "000_Same.txt").read_text(encoding="utf-8") == "one\n"
    assert (tmp_path / "corpus" / "001_Same.txt").read_text(encoding="utf-8") == "two\n"


def test_squad_creates_missing_output_directory(tmp_path: Path) -> None:
    out_dir = tmp_path / "deep" / "corpus"
    squad_to_corpus(_two_articles(tmp_path), out_dir)
    assert out_dir.is_dir()


def test_squad_keeps_ids_and_question_order(tmp_path: Path) -> None:
    questions = squad_to_corpus(_two_articles(tmp_path), tmp_path / "corpus")
    assert [q.id for q in questions] == ["p1", "p2", "p3", "b1"]
    assert questions[0].question == "Capital of France?"


def test_squad_answers_are_unique_texts_in_order(tmp_path: Path) -> None:
    questions = {q.id: q for q in squad_to_corpus(_two_articles(tmp_path), tmp_path / "corpus")}
    assert questions["p2"].answers == ["1889", "in 1889"]


def test_squad_citation_points_at_the_paragraph_line(tmp_path: Path) -> None:
    questions = {q.id: q for q in squad_to_corpus(_two_articles(tmp_path), tmp_path / "corpus")}
    assert questions["p1"].citations == [GoldCitation(source="000_Paris.txt", lines=[1])]
    assert questions["p2"].citations == [GoldCitation(source="000_Paris.txt", lines=[2])]
    assert questions["b1"].citations == [GoldCitation(source="001_Berlin.txt", lines=[1])]


def test_squad_impossible_questions_become_unanswerable(tmp_path: Path) -> None:
    questions = {q.id: q for q in squad_to_corpus(_two_articles(tmp_path), tmp_path / "corpus")}
    assert questions["p3"].answerable is False
    assert questions["p3"].answers == []
    assert questions["p3"].citations == []
    assert questions["p1"].answerable is True


def test_squad_impossible_question_drops_plausible_answers(tmp_path: Path) -> None:
    qa = _qa("q", "?", ["decoy"], True)
    qa["plausible_answers"] = [{"text": "decoy", "answer_start": 0}]
    path = _squad(tmp_path, [{"title": "T", "paragraphs": [{"context": "decoy", "qas": [qa]}]}])
    [question] = squad_to_corpus(path, tmp_path / "corpus")
    assert question.answers == []


def test_squad_v1_questions_without_is_impossible_are_answerable(tmp_path: Path) -> None:
    path = _squad(
        tmp_path,
        [{"title": "T", "paragraphs": [{"context": "ctx", "qas": [_qa("q", "?", ["ctx"])]}]}],
        version="1.1",
    )
    [question] = squad_to_corpus(path, tmp_path / "corpus")
    assert question.answerable is True
    assert question.answers == ["ctx"]
    assert question.citations == [GoldCitation(source="000_T.txt", lines=[1])]


def test_squad_answerable_question_without_answers_is_rejected(tmp_path: Path) -> None:
    path = _squad(
        tmp_path,
        [{"title": "T", "paragraphs": [{"context": "c", "qas": [_qa("q", "?", [], False)]}]}],
    )
    with pytest.raises(ValueError, match=r"squad\.json: answerable question 'q' has no answers"):
        squad_to_corpus(path, tmp_path / "corpus")


def test_squad_without_data_key_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "squad.json"
    path.write_text(json.dumps({"version": "v2.0"}), encoding="utf-8")
    with pytest.raises(ValueError, match="not SQuAD JSON"):
        squad_to_corpus(path, tmp_path / "corpus")


def test_squad_output_round_trips_through_load_gold(tmp_path: Path) -> None:
    questions = squad_to_corpus(_two_articles(tmp_path), tmp_path / "corpus")
    gold = tmp_path / "gold.jsonl"
    gold.write_text("".join(q.model_dump_json() + "\n" for q in questions), encoding="utf-8")
    assert load_gold(gold) == questions


@pytest.mark.skipif(not REAL_SQUAD.exists(), reason=f"{REAL_SQUAD} not present")
def test_real_squad_dev_v2_converts_to_expected_corpus(tmp_path: Path) -> None:
    out_dir = tmp_path / "corpus"
    questions = squad_to_corpus(REAL_SQUAD, out_dir)

    files = sorted(out_dir.iterdir())
    assert len(files) == 16
    lines_by_file = {p.name: p.read_text(encoding="utf-8").splitlines() for p in files}
    assert sum(len(lines) for lines in lines_by_file.values()) == 646

    assert len(questions) == 6078
    assert len({q.id for q in questions}) == 6078
    assert sum(not q.answerable for q in questions) == 3168

    answerable = [q for q in questions if q.answerable]
    for q in random.Random(0).sample(answerable, 200):
        [citation] = q.citations
        [line_no] = citation.lines
        lines = lines_by_file[citation.source]
        assert 1 <= line_no <= len(lines)
        assert q.answers[0] in lines[line_no - 1], q.id


# --- sample_questions -------------------------------------------------------------------------


def test_sample_with_no_limit_returns_all_in_order() -> None:
    items = list(range(10))
    assert sample_questions(items, None, seed=1) == items


def test_sample_with_limit_at_least_len_returns_all_in_order() -> None:
    items = list(range(10))
    assert sample_questions(items, 10, seed=1) == items
    assert sample_questions(items, 50, seed=1) == items


def test_sample_returns_a_new_list() -> None:
    items = list(range(3))
    assert sample_questions(items, None, seed=0) is not items


def test_sample_has_requested_size_without_repeats() -> None:
    picked = sample_questions(list(range(100)), 10, seed=3)
    assert len(picked) == 10
    assert len(set(picked)) == 10


def test_sample_keeps_original_relative_order() -> None:
    picked = sample_questions(list(range(100)), 10, seed=3)
    assert picked == sorted(picked)


def test_sample_is_deterministic_for_a_seed() -> None:
    items = list(range(100))
    assert sample_questions(items, 10, seed=42) == sample_questions(items, 10, seed=42)


def test_sample_differs_between_seeds() -> None:
    items = list(range(100))
    assert sample_questions(items, 10, seed=1) != sample_questions(items, 10, seed=2)


def test_sample_of_zero_is_empty() -> None:
    assert sample_questions(list(range(5)), 0, seed=0) == []


def test_sample_rejects_negative_limit() -> None:
    with pytest.raises(ValueError):
        sample_questions(list(range(5)), -1, seed=0)


def test_sample_works_on_gold_questions() -> None:
    questions = [GoldQuestion(id=str(i), question="?") for i in range(20)]
    picked = sample_questions(questions, 5, seed=7)
    assert [q.id for q in picked] == sorted((q.id for q in picked), key=int)
    assert all(isinstance(q, GoldQuestion) for q in picked)
