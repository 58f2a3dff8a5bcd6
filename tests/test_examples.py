"""The example questions an empty chat page offers are made from the indexed text itself."""

from __future__ import annotations

from qa.examples import example_questions

HARBOUR = [
    "# Harbour report",
    "The new ferry terminal cost 41 million euros.",
    "Lighthouse keeper Ada Brennan counted 12 seals on the pier.",
]
TRAINS = ["Station manager Mirela Kovacs said the night train to Ruse runs twice a week."]


def test_each_document_gives_a_question_about_what_it_names() -> None:
    asked = example_questions({"harbour.md": HARBOUR, "trains.txt": TRAINS})
    assert asked == [
        "What do the sources say about Ada Brennan?",
        "What do the sources say about Mirela Kovacs?",
        "What do the sources say about the new ferry?",
    ]


def test_other_documents_give_other_questions() -> None:
    asked = example_questions({"bridge.txt": ["The toll bridge over the canal opened in 1887."]})
    assert asked == ["What do the sources say about the toll bridge?"]


def test_a_title_before_a_name_asks_who_the_person_is() -> None:
    lines = ["The mayor, Jo Bloggs, opened it.", "Ukrainian President Olena Marchuk spoke."]
    assert example_questions({"a.txt": lines}) == ["Who is Jo Bloggs?", "Who is Olena Marchuk?"]


def test_a_topic_is_asked_about_once_however_it_is_written() -> None:
    asked = example_questions(
        {"a.txt": ["Senator J.D. Vance arrived."], "b.txt": ["JD Vance left."]}
    )
    assert asked == ["Who is J.D. Vance?"]


def test_no_more_questions_than_asked_for() -> None:
    lines = [f"Harbour master Ann Lee{i} met Bo Chan{i} at the old quay." for i in range(5)]
    assert len(example_questions({"a.txt": lines}, limit=2)) == 2


def test_text_with_nothing_to_ask_about_gives_no_questions() -> None:
    assert example_questions({"a.txt": ["# Notes", "42", "It is so."]}) == []
    assert example_questions({}) == []
