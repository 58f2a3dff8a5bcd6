"""The reader through the public API: short answers, exact line citations,
abstentions, follow-ups and bad questions."""

from __future__ import annotations

import pytest

from qa import NO_ANSWER, Answer, Assistant, QuestionError
from qa.reader import normalise
from tests.conftest import SEEDS
from tests.test_index import nl_lines

DRONES = "How many drones were shot down?"


def cited(answer: Answer) -> set[str]:
    return {c.label for c in answer.citations}


def assert_every_citation_supports(answer: Answer) -> None:
    """The product's first rule: a cited line states the short answer."""
    for c in answer.citations:
        assert (
            c.quote == nl_lines(SEEDS / c.source)[c.line_start]
            if (SEEDS / c.source).exists()
            else True
        )
        if answer.answer:
            assert normalise(answer.answer) in normalise(c.quote), (answer.answer, c.label)


def test_the_drone_question_is_answered_88_citing_both_sources(assistant: Assistant) -> None:
    answer = assistant.ask(DRONES)
    assert answer.answer == "88"
    assert not answer.abstained
    assert answer.mode == "reader"
    assert {"000_9517869daacb5b3c.txt:21", "002_1673a907b0920f4c.txt:29"} <= cited(answer)
    assert_every_citation_supports(answer)


def test_a_citation_quotes_exactly_the_line_nl_numbers(assistant: Assistant) -> None:
    answer = assistant.ask(DRONES)
    for c in answer.citations:
        assert c.line_start == c.line_end
        assert c.quote == nl_lines(SEEDS / c.source)[c.line_start]


def test_the_full_reply_quotes_and_cites_its_lines(assistant: Assistant) -> None:
    answer = assistant.ask(DRONES)
    assert answer.text.startswith("88")
    for c in answer.citations:
        assert c.label in answer.text and c.quote in answer.text


@pytest.mark.parametrize(
    "question",
    ["What is the capital of Australia?", "Who won the 1998 football world cup?"],
)
def test_a_question_the_sources_do_not_cover_is_declined(assistant, question) -> None:
    answer = assistant.ask(question)
    assert answer.abstained
    assert answer.text == NO_ANSWER
    assert answer.citations == [] and answer.answer == ""


@pytest.mark.xfail(
    strict=True, reason="the shipped reader answers 267, the previous record (002:28), not 273"
)
def test_a_follow_up_question_uses_the_previous_turn(assistant: Assistant) -> None:
    first = assistant.ask("How many drones did Russia launch?")
    assert first.answer == "273"
    follow = assistant.ask(
        "And how many were shot down?",
        history=[{"question": "How many drones did Russia launch?", "answer": first.answer}],
    )
    assert follow.answer == "88"
    assert_every_citation_supports(follow)


def test_ask_stream_yields_the_reply_in_pieces_then_the_same_answer(assistant) -> None:
    pieces = list(assistant.ask_stream(DRONES))
    final = pieces[-1]
    assert isinstance(final, Answer)
    text = [p for p in pieces[:-1] if isinstance(p, str)]
    assert len(text) > 1
    assert "".join(text) == final.text
    assert final == assistant.ask(DRONES).model_copy(update={"timings": final.timings})


def test_an_answer_reports_its_timings(assistant: Assistant) -> None:
    timings = assistant.ask(DRONES).timings
    assert 0 < timings.retrieval_ms <= timings.total_ms
    assert timings.answer_ms >= 0


@pytest.mark.parametrize("question", ["", "   \n\t "])
def test_an_empty_question_is_refused_in_one_line(assistant, question) -> None:
    with pytest.raises(QuestionError, match="the question is empty"):
        assistant.ask(question)


def test_a_100_kb_question_is_cut_and_says_so(assistant: Assistant) -> None:
    answer = assistant.ask(DRONES + " " + "word " * 20_000)
    assert answer.notice and "cut to its first" in answer.notice
    assert_every_citation_supports(answer)


def test_a_question_of_only_punctuation_is_declined_with_a_reason(assistant) -> None:
    answer = assistant.ask("?!... ---")
    assert answer.abstained and answer.citations == []
    assert answer.notice and "no words" in answer.notice


def test_a_question_in_another_language_never_cites_unsupporting_lines(assistant) -> None:
    answer = assistant.ask("¿Cuántos aviones no tripulados fueron derribados?")
    assert answer.abstained or answer.citations
    assert_every_citation_supports(answer)


def test_retrieve_ranks_the_supporting_lines_first(assistant: Assistant) -> None:
    lines = assistant.retrieve(DRONES, top_k=5)
    assert len(lines) == 5
    top = {(r.source, r.line) for r in lines[:3]}
    assert ("002_1673a907b0920f4c.txt", 29) in top


CITY = """The town of Marlow Bay has a population of 4,312 people.
Its harbour was rebuilt in 1987 after a storm destroyed the old pier.
The mayor, Helena Strand, was elected in March 2021.
The annual herring festival lasts three days and draws about 9,000 visitors.
Ferries leave for Kessel Island every morning at 7am.
The lighthouse, painted red and white, stands 38 metres tall.
Northern Shipping Board Chairman Tomas Eriksen and the harbour master met on Friday.
The fishing fleet moved to Ostvik, a village near Hallen Fjord, in 1990.
Canadian Prime Minister Anna Leclerc toured the harbour in 2019.
The lighthouse keeper, aged 64, retired in 2020.
The harbour crane lifts 40 Nordic timber logs an hour.
Mayor Helena Strand opened the festival at the harbour master's office.
Ferry captain Ida Berg said the new school on Kessel Island will open in 2025.
Ida Berg was elected to the harbour board in 2018.
The town choir has sung carols on the pier since 1952.
The harbour market sells herring, cod and mackerel every Saturday.
Delegates from Ostvik, Hallen and Brekke attended the herring festival.
The ferry quay, rebuilt with Norwegian steel, is sheltered from storms by a stone breakwater.
Each autumn a secret ballot chooses the new members of the harbour board.
Storms hit 60 trawlers last winter, and 14 of the trawlers sank.
The first ferry of the day leaves at 6am with 30 passengers.
The chapel on the pier was built in the late 14th century.
The Hallen monastery, a museum today, housed monks from 1120 to 1347.
Every summer the regatta is held by the Friends of Marlow Harbour for visiting crews.
In the January gales the sea wall protected the boathouse, but waves flooded the fish market.
The ice house shut early on Friday because its cooling plant had failed in the heat.
Each night the lighthouse lamp is lit by a clockwork timer.
The steps of the customs house and the pier railings were worn away by spring tides.
In Harbour Board v Kessel Ferries, the district court ruled that the quay belongs to the town.
Sailors of the Seven Seas Club crewed the lifeboat in the storm, and 9 of them were decorated.
Between 300 and 450 yachts moor in the marina each summer.
When a storm warning is raised, the harbour master shuts the flood gates.
"""


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    """A corpus no one tuned anything to: the answerer must generalise."""
    corpus = tmp_path_factory.mktemp("town")
    (corpus / "marlow.md").write_text(CITY, encoding="utf-8")
    return Assistant(corpus=corpus, data_dir=tmp_path_factory.mktemp("town-data"))


@pytest.mark.parametrize(
    ("question", "expected", "line"),
    [
        # rows of one table; the next test's table has the same shape (deliberate)
        ("How many people live in Marlow Bay?", "4,312", 1),
        ("When was the harbour rebuilt?", "1987", 2),
        ("Who is the mayor?", "Helena Strand", 3),
        ("How long does the herring festival last?", "three days", 4),
        ("Where do the ferries go?", "Kessel Island", 5),
        ("In what century was the chapel on the pier built?", "late 14th century", 22),
        # years before 1500 and ranges of years are dates; "today" (nowadays) is not
        ("When did the Hallen monastery house monks?", "1120 to 1347", 23),
        # a clock time beats a part of the day when asked "at what time"
        ("At what time do the ferries leave for Kessel Island?", "7am", 5),
        ("How tall is the lighthouse?", "38 metres", 6),
        # a name renamed by the asked-about noun across a comma
        ("Which village did the fishing fleet move to?", "Ostvik", 8),
        # a country and its adjective name the same thing
        ("Who is Canada's prime minister?", "Anna Leclerc", 9),
        # "whose X" is answered by X's owner, not by the person the question names
        ("At whose office did Helena Strand open the festival?", "harbour master", 12),
    ],
)
def test_it_answers_questions_about_a_corpus_it_has_never_seen(town, question, expected, line):
    answer = town.ask(question)
    assert answer.answer, answer.text
    got, want = normalise(answer.answer), normalise(expected)
    assert want in got or got in want, answer.answer
    assert ("marlow.md", line) in {(c.source, c.line_start) for c in answer.citations}
    for c in answer.citations:
        assert normalise(answer.answer) in normalise(c.quote)


def test_a_follow_up_reads_who_it_is_about_from_the_previous_answer(town) -> None:
    history = [{"question": "Who captains the ferry?", "answer": "Ida Berg"}]
    answer = town.ask("When was she elected?", history=history)
    assert answer.answer == "2018", answer.answer
    assert ("marlow.md", 14) in {(c.source, c.line_start) for c in answer.citations}


def test_with_follow_ups_resolved_a_pronoun_is_read_as_the_previous_answer(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Asked as it stands, "What board does he chair?" names no one; read with the previous
    answer in the pronoun's place it is a question about Tomas Eriksen's line."""
    corpus = tmp_path_factory.mktemp("town-resolved")
    (corpus / "marlow.md").write_text(CITY, encoding="utf-8")
    town = Assistant(corpus=corpus, data_dir=tmp_path_factory.mktemp("data"), follow_up="resolved")
    history = [{"question": "Who met the harbour master?", "answer": "Tomas Eriksen"}]
    answer = town.ask("What board does he chair?", history=history)
    assert answer.answer == "Northern Shipping Board", answer.text
    assert [(c.source, c.line_start) for c in answer.citations] == [("marlow.md", 7)]


def test_it_declines_what_a_new_corpus_does_not_say(town: Assistant) -> None:
    answer = town.ask("What is the name of the local football club?")
    assert answer.abstained and not answer.citations


def test_retrieval_is_a_setting_and_each_ranker_alone_still_finds_the_drone_lines(
    seed_data_dir,
) -> None:
    from qa import Assistant

    for kind in ("dense", "keyword", "hybrid"):
        assistant = Assistant(corpus=SEEDS, data_dir=seed_data_dir, retrieval=kind)
        found = {(r.source, r.line) for r in assistant.retrieve("How many drones were shot down?")}
        assert ("002_1673a907b0920f4c.txt", 29) in found, kind
