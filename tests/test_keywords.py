"""The keyword index lives with the store: written by the ingest that writes the vectors, kept
in step with them document by document, repaired on open, shared through a Chroma server."""

from __future__ import annotations

import signal
import sqlite3
from pathlib import Path

import pytest

from index import IndexConfig, KeywordStore, ingest, open_store
from index.keywords import keywords_path
from index.keywords.chroma import MAX_SEGMENTS, ChromaKeywords
from index.store import StoredChunk
from index.text import terms
from qa import Assistant
from support.servers import ChromaServer
from tests.test_faults import big_corpus, index_until_writing

DRONES = "How many drones were shot down?"


def held_lines(config: IndexConfig) -> set[tuple[str, int, int, str]]:
    """Every stored piece the keyword file holds."""
    with sqlite3.connect(keywords_path(config)) as conn:
        rows = conn.execute("SELECT source, line, col, text FROM lines").fetchall()
    return {(s, int(n), int(c), t) for s, n, c, t in rows}


def stored_lines(config: IndexConfig) -> set[tuple[str, int, int, str]]:
    """Every piece of every complete document the vectors hold."""
    return {(c.source, c.line, c.col_start, c.text) for c in open_store(config).iter_chunks()}


def row_ids(config: IndexConfig, source: str) -> set[int]:
    with sqlite3.connect(keywords_path(config)) as conn:
        rows = conn.execute("SELECT id FROM lines WHERE source = ?", (source,)).fetchall()
    return {int(r[0]) for r in rows}


def test_an_ingest_writes_the_keyword_index_beside_the_vectors(index_config, corpus, embed_model):
    ingest(index_config, [corpus], embed_model=embed_model, progress=False)
    assert keywords_path(index_config).parent == index_config.data_dir
    assert held_lines(index_config) == stored_lines(index_config)
    assert len(held_lines(index_config)) == 60


def indexed_folder(tmp_path: Path, index_config, embed_model, files: dict[str, str]) -> Path:
    """A folder of these files, indexed."""
    folder = tmp_path / "docs"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    ingest(index_config, [folder], embed_model=embed_model, progress=False)
    return folder


TRAM = "The tram runs every ten minutes.\n"


def test_a_changed_file_replaces_exactly_its_own_rows(index_config, tmp_path, embed_model):
    files = {"ferry.txt": "The ferry leaves at nine.\nIt costs four euros.\n", "tram.txt": TRAM}
    folder = indexed_folder(tmp_path, index_config, embed_model, files)
    tram_rows = row_ids(index_config, "tram.txt")
    (folder / "ferry.txt").write_text("The ferry leaves at ten.\nIt costs five euros.\n")
    ingest(index_config, [folder], embed_model=embed_model, progress=False)
    assert row_ids(index_config, "tram.txt") == tram_rows  # untouched
    texts = {t for s, _, _, t in held_lines(index_config) if s == "ferry.txt"}
    assert texts == {"The ferry leaves at ten.", "It costs five euros."}
    assert held_lines(index_config) == stored_lines(index_config)


def test_a_removed_file_leaves_the_keyword_index(index_config, tmp_path, embed_model):
    files = {"ferry.txt": "The ferry leaves at nine.\n", "tram.txt": TRAM}
    folder = indexed_folder(tmp_path, index_config, embed_model, files)
    (folder / "tram.txt").unlink()
    ingest(index_config, [folder], embed_model=embed_model, progress=False)
    assert {s for s, *_ in held_lines(index_config)} == {"ferry.txt"}
    assistant = Assistant(
        data_dir=index_config.data_dir, collection=index_config.collection, corpus=folder
    )
    assert assistant.retrieve("tram minutes", top_k=5)[0].source == "ferry.txt"
    assert assistant.remove("ferry.txt")
    assert held_lines(index_config) == set()


def test_after_a_kill_mid_ingest_the_next_open_holds_the_same_lines_as_the_vectors(
    tmp_path, embed_model
) -> None:
    corpus = big_corpus(tmp_path / "corpus")
    data = tmp_path / "killed"
    proc = index_until_writing(corpus, data, grown=300_000)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    config = IndexConfig(data_dir=data, collection="qa-sources")
    said: list[str] = []
    assistant = Assistant(data_dir=data, corpus=corpus, notify=said.append)
    assistant.retrieve(DRONES, top_k=3)
    assert held_lines(config) == stored_lines(config)
    # and the next ingest completes both
    ingest(config, [corpus], embed_model=embed_model, progress=False)
    assert held_lines(config) == stored_lines(config)
    assert {s for s, *_ in held_lines(config)} == {p.name for p in corpus.iterdir()}


def test_an_index_without_a_keyword_file_is_upgraded_in_place_with_a_notice(seed_copy) -> None:
    """What an index built before the keyword file existed looks like: vectors only."""
    config = IndexConfig(data_dir=seed_copy, collection="qa-sources")
    ids_before = set(open_store(config).all_ids())
    KeywordStore.open(config).discard()
    said: list[str] = []
    assistant = Assistant(data_dir=config.data_dir, notify=said.append)
    answer = assistant.ask(DRONES)
    assert answer.answer == "88"
    assert any("keyword index" in line and "2 document(s) to add" in line for line in said), said
    assert not any("indexing" in line for line in said), said  # the vectors were not rebuilt
    assert set(open_store(config).all_ids()) == ids_before
    assert held_lines(config) == stored_lines(config)


def test_a_damaged_keyword_file_is_rebuilt_from_the_store_with_a_notice(seed_copy) -> None:
    config = IndexConfig(data_dir=seed_copy, collection="qa-sources")
    keywords_path(config).write_bytes(b"this is not a database" * 100)
    said: list[str] = []
    assistant = Assistant(data_dir=config.data_dir, notify=said.append)
    assert assistant.ask(DRONES).answer == "88"
    assert any("could not be read" in line for line in said), said
    assert held_lines(config) == stored_lines(config)


def test_a_keyword_file_out_of_step_with_the_vectors_is_repaired_before_answering(
    seed_copy,
) -> None:
    config = IndexConfig(data_dir=seed_copy, collection="qa-sources")
    keywords = KeywordStore.open(config)
    keywords.remove("000_9517869daacb5b3c.txt")
    keywords.put("ghost.txt", "0" * 16, [])
    keywords.close()
    said: list[str] = []
    assistant = Assistant(data_dir=config.data_dir, notify=said.append)
    hits = assistant.retrieve(DRONES, top_k=8)
    assert "000_9517869daacb5b3c.txt" in {h.source for h in hits}
    assert any("1 document(s) to add, 1 to remove" in line for line in said), said
    assert held_lines(config) == stored_lines(config)


@pytest.mark.parametrize(
    "query",
    ['"', "*", "NEAR", "OR", "AND NOT", "(drones", "drones)", '"drones', "!!! ???", "the of and"],
)
def test_fts_syntax_punctuation_and_stop_words_are_searched_as_plain_words(
    assistant, query: str
) -> None:
    hits = assistant.retrieve(query, top_k=5)
    assert isinstance(hits, list)


def _piece(line: int, text: str) -> StoredChunk:
    return StoredChunk(f"x-{line}", text, "a.txt", line, col_start=0, col_end=0, index=line - 1)


def test_bm25_weighs_rare_terms_over_common_ones_and_short_lines_over_long(tmp_path) -> None:
    keywords = KeywordStore.open(IndexConfig(data_dir=tmp_path))
    lines = [
        "The ferry leaves the harbour at nine.",
        "The ferry is late.",
        "A ferry, a tram and a bus leave the harbour square every morning at dawn.",
        "The lighthouse keeper counted seals.",
    ]
    keywords.put("a.txt", "h1", [_piece(n, text) for n, text in enumerate(lines, 1)])
    ranked = [hit.line for hit in keywords.search(["ferri", "harbour"], 10)]
    assert ranked == [1, 3, 2]  # both terms, short line first; "ferry" alone last
    assert [hit.line for hit in keywords.search(["lighthous"], 10)] == [4]
    assert keywords.search(["unknown"], 10) == []


def test_neighbours_and_quotes_are_read_from_the_store(assistant) -> None:
    """No copy of every line in memory: the few lines a question needs are read on demand."""
    retriever = assistant.retriever
    assert not hasattr(retriever, "_keyword")
    text = retriever.line_text("000_9517869daacb5b3c.txt", 21)
    assert text is not None and "88" in text
    before, after = retriever.neighbours("000_9517869daacb5b3c.txt", 21)
    assert before and after and before != text != after


def test_two_clients_of_one_chroma_server_answer_from_each_others_lines(
    tmp_path, chroma_server: ChromaServer
) -> None:
    """A second client, with its own data dir and another folder, answers from what the first
    indexed, from the keyword postings in the server: it builds and copies nothing."""
    first_folder = tmp_path / "first"
    first_folder.mkdir()
    (first_folder / "ferry.txt").write_text("The night ferry to Varna leaves at 23:40.\n")
    first = Assistant(data_dir=tmp_path / "a", chroma_url=chroma_server.url, corpus=first_folder)
    first.index([first_folder])
    said: list[str] = []
    second = Assistant(
        data_dir=tmp_path / "b",
        chroma_url=chroma_server.url,
        corpus=tmp_path / "nothing-here",
        notify=said.append,
    )
    answer = second.ask("When does the night ferry to Varna leave?")
    assert answer.answer == "23:40"
    assert [c.source for c in answer.citations] == ["ferry.txt"]
    assert not (tmp_path / "b" / "chroma").exists()  # the vectors stay on the server
    assert not list((tmp_path / "b").glob("*keywords*"))  # and so do the keywords
    assert not any("keyword index" in line for line in said), said  # nothing was rebuilt


def server_versions(config: IndexConfig) -> tuple[dict[str, str], set[str], set[str]]:
    """What the server's keyword collection holds: each document's record (source -> hash),
    the segments the records name, and the segments written."""
    keywords = ChromaKeywords.open(config)
    docs = keywords.collection.get(where={"kind": "doc"}, include=["metadatas"])["metadatas"]
    heads = keywords.collection.get(where={"kind": "head"}, include=["metadatas"])["metadatas"]
    return (
        {str(m["source"]): str(m["doc_hash"]) for m in docs or []},
        {str(m["segment"]) for m in docs or []},
        {str(m["segment"]) for m in heads or []},
    )


def stored_versions(config: IndexConfig) -> dict[str, str]:
    return {s: e.doc_hash for s, e in open_store(config).manifest().items()}


def test_behind_a_server_a_changed_file_replaces_its_postings_and_a_removed_one_leaves(
    tmp_path, chroma_server: ChromaServer, embed_model
) -> None:
    config = IndexConfig(data_dir=tmp_path / "a", chroma_url=chroma_server.url)
    files = {"ferry.txt": "The ferry leaves at nine.\n", "tram.txt": TRAM}
    folder = indexed_folder(tmp_path, config, embed_model, files)
    (folder / "ferry.txt").write_text("The hovercraft leaves at ten.\n")
    ingest(config, [folder], embed_model=embed_model, progress=False)
    docs, named, written = server_versions(config)
    assert docs == stored_versions(config) and named == written
    assistant = Assistant(data_dir=tmp_path / "b", chroma_url=chroma_server.url, corpus=folder)
    assert assistant.retrieve("hovercraft", top_k=1)[0].text == "The hovercraft leaves at ten."
    keywords = KeywordStore.open(config)
    assert keywords.search(terms("ferry nine"), 5) == []  # the old version is not searched
    assert assistant.remove("tram.txt")
    assert keywords.search(terms("tram minutes"), 5) == []
    docs, named, written = server_versions(config)
    assert set(docs) == {"ferry.txt"} and named == written  # no segment left unnamed


def test_an_index_on_a_server_without_keywords_is_upgraded_in_place_with_a_notice(
    tmp_path, chroma_server: ChromaServer, embed_model
) -> None:
    """What a server index built before the keywords moved there looks like: vectors only."""
    config = IndexConfig(data_dir=tmp_path / "a", chroma_url=chroma_server.url)
    folder = indexed_folder(tmp_path, config, embed_model, {"ferry.txt": "The ferry is red.\n"})
    ids_before = set(open_store(config).all_ids())
    KeywordStore.open(config).discard()
    said: list[str] = []
    assistant = Assistant(
        data_dir=tmp_path / "b", chroma_url=chroma_server.url, corpus=folder, notify=said.append
    )
    assert assistant.ask("What colour is the ferry?").answer == "red"
    assert any("keyword index" in line and "1 document(s) to add" in line for line in said), said
    assert set(open_store(config).all_ids()) == ids_before  # the vectors were not rebuilt
    assert server_versions(config)[0] == stored_versions(config)


def test_keywords_on_a_server_out_of_step_with_its_vectors_are_repaired_before_answering(
    tmp_path, chroma_server: ChromaServer, embed_model
) -> None:
    """As a client killed mid-write would leave them: a document's postings without its
    record, and a record of a document the vectors do not hold."""
    config = IndexConfig(data_dir=tmp_path / "a", chroma_url=chroma_server.url)
    files = {"ferry.txt": "The ferry is red.\n", "tram.txt": TRAM}
    folder = indexed_folder(tmp_path, config, embed_model, files)
    keywords = ChromaKeywords.open(config)
    keywords.collection.delete(where={"$and": [{"kind": "doc"}, {"source": "tram.txt"}]})
    keywords.put("ghost.txt", "0" * 16, [_piece(1, "A ghost line about trams.")])
    keywords.close()
    said: list[str] = []
    assistant = Assistant(
        data_dir=tmp_path / "b", chroma_url=chroma_server.url, corpus=folder, notify=said.append
    )
    hits = assistant.retrieve("How often does the tram run?", top_k=3)
    assert {h.source for h in hits} == {"tram.txt", "ferry.txt"}
    assert any("1 document(s) to add, 1 to remove" in line for line in said), said
    docs, named, written = server_versions(config)
    assert docs == stored_versions(config) and named == written


def test_behind_a_server_bm25_ranks_as_the_file_does_and_many_segments_are_merged(
    tmp_path, chroma_server: ChromaServer
) -> None:
    """Documents written one segment at a time (an ingest per file), some rewritten: the
    server's postings rank exactly as the embedded file's, and old segments are merged."""
    words = ["ferry", "harbour", "tram", "lighthouse", "seal", "dawn", "square", "bus"]
    server = KeywordStore.open(IndexConfig(data_dir=tmp_path / "a", chroma_url=chroma_server.url))
    local = KeywordStore.open(IndexConfig(data_dir=tmp_path / "b"))
    for n in range(MAX_SEGMENTS + 4):
        lines = [" ".join(words[(n + i) % 8 : (n + i) % 8 + 1 + i % 3]) for i in range(6)]
        for store in (server, local):
            store.put(f"{n % 9}.txt", f"h{n}", [_piece(i, t) for i, t in enumerate(lines, 1)])
            store.flush()
    assert len(server_versions(server.config)[2]) <= MAX_SEGMENTS  # type: ignore[attr-defined]
    for query in (["ferri", "harbour"], ["tram"], ["seal", "dawn", "bu"]):
        assert ranked(server, query) == ranked(local, query) != []


def ranked(store: KeywordStore, query: list[str]) -> list[tuple[float, str, int]]:
    """Every hit, best first (ties in name order, which BM25 leaves open)."""
    return sorted((-round(h.score, 4), h.source, h.line) for h in store.search(query, 1000))


def test_keywords_on_a_server_of_another_schema_are_rebuilt_from_the_store_with_a_notice(
    tmp_path, chroma_server: ChromaServer, embed_model
) -> None:
    config = IndexConfig(data_dir=tmp_path / "a", chroma_url=chroma_server.url)
    folder = indexed_folder(tmp_path, config, embed_model, {"ferry.txt": "The ferry is red.\n"})
    ChromaKeywords.open(config).collection.modify(metadata={"qa_keywords": 999})
    said: list[str] = []
    assistant = Assistant(
        data_dir=tmp_path / "b", chroma_url=chroma_server.url, corpus=folder, notify=said.append
    )
    assert assistant.ask("What colour is the ferry?").answer == "red"
    assert any("could not be read" in line for line in said), said
    assert server_versions(config)[0] == stored_versions(config)
