"""The example questions an empty chat page offers are made from the indexed text itself,
and only those the product answers with the words they were made from are shown."""

from __future__ import annotations

from pathlib import Path

from qa import Assistant
from qa.examples import Example, example_questions

HARBOUR = [
    "# Harbour report",
    "The new ferry terminal cost 41 million euros.",
    "Lighthouse keeper Ada Brennan counted 12 seals on the pier.",
]
TRAINS = ["Station manager Mirela Kovacs said the night train to Ruse runs twice a week."]


def _asked(openings: dict[str, list[str]], limit: int = 3) -> list[tuple[str, str]]:
    return [(e.question, e.expected) for e in example_questions(openings, limit)]


def test_a_person_described_before_their_name_is_asked_about_with_that_description() -> None:
    assert _asked({"harbour.md": HARBOUR, "trains.txt": TRAINS}) == [
        ("What is Ada Brennan's role?", "Lighthouse keeper"),
        ("What is Mirela Kovacs's role?", "Station manager"),
    ]


def test_an_apposition_and_a_title_describe_the_person() -> None:
    lines = ["The mayor, Jo Bloggs, opened it.", "Ukrainian President Olena Marchuk spoke."]
    assert _asked({"a.txt": lines}) == [
        ("What is Jo Bloggs's role?", "mayor"),
        ("What is Olena Marchuk's role?", "Ukrainian President"),
    ]


def test_a_name_with_nothing_written_before_it_gives_no_question() -> None:
    assert _asked({"a.txt": ["Jo Bloggs opened it.", "The toll bridge opened in 1887."]}) == []


def test_a_person_is_asked_about_once_however_the_name_is_written() -> None:
    asked = _asked({"a.txt": ["Senator J.D. Vance arrived."], "b.txt": ["Senator JD Vance left."]})
    assert asked == [("What is J.D. Vance's role?", "Senator")]


def test_each_document_gives_a_question_before_any_gives_a_second() -> None:
    a = ["Harbour master Ann Lee spoke.", "Harbour master Bo Chan spoke."]
    b = ["Station manager Cy Dunn spoke."]
    assert [q for q, _ in _asked({"a.txt": a, "b.txt": b})] == [
        "What is Ann Lee's role?",
        "What is Cy Dunn's role?",
        "What is Bo Chan's role?",
    ]


def test_no_more_questions_than_asked_for() -> None:
    lines = [f"Harbour master Ann Lee{i} met Bo Chan{i} at the old quay." for i in range(5)]
    assert len(example_questions({"a.txt": lines}, limit=2)) == 2


def test_text_with_nothing_to_ask_about_gives_no_questions() -> None:
    assert example_questions({"a.txt": ["# Notes", "42", "It is so."]}) == []
    assert example_questions({}) == []


def test_an_answer_agrees_with_an_example_when_it_says_its_words_and_little_else() -> None:
    example = Example("What is Bo Chan's role?", "aide")
    assert example.answered_by("aide")
    assert example.answered_by("the mayor's aide")
    assert not example.answered_by("Ann Lee and the mayor's aide")
    assert not example.answered_by("Cy Dunn")
    assert not example.answered_by("")


def test_only_examples_the_reader_answers_with_their_words_are_shown(tmp_path: Path) -> None:
    """A line saying the ferry "met Bo Chan" makes a candidate ("What is Bo Chan's role?",
    expecting "met") that no answer confirms: it is asked, and not shown."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "harbour.md").write_text("\n".join(HARBOUR) + "\n")
    (corpus / "trains.txt").write_text(TRAINS[0] + "\n")
    (corpus / "quay.txt").write_text("Yesterday the ferry met Bo Chan at the old quay.\n")
    assistant = Assistant(corpus=corpus, data_dir=tmp_path / "data")
    shown = assistant.example_questions()
    assert "What is Bo Chan's role?" not in shown
    assert shown, "the two described people give at least one answered example"
    for question in shown:
        answer = assistant.ask(question, mode="reader")
        assert not answer.abstained, question
