"""The index: line-addressed chunks in a real Chroma, kept in step with the files."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from llama_index.core.base.embeddings.base import BaseEmbedding

from index import IndexConfig, ModelMismatchError, ingest, open_store
from index.errors import IndexError_
from index.formats.text import split_lines
from support.cli import run_qa
from support.servers import ChromaServer, free_port
from tests.conftest import SEEDS


def nl_lines(path: Path) -> dict[int, str]:
    """What `nl -ba` shows for a file: the reference every citation must match."""
    text = subprocess.run(["nl", "-ba", str(path)], capture_output=True, text=True).stdout
    out: dict[int, str] = {}
    for row in text.split("\n"):
        if not row.strip():
            continue
        number, _, line = row.partition("\t")
        out[int(number)] = line
    return out


def test_every_chunk_is_the_line_nl_numbers(corpus: Path, index_config, embed_model) -> None:
    ingest(index_config, [corpus], embed_model=embed_model, progress=False)
    store = open_store(index_config)
    chunks = list(store.iter_chunks())
    assert chunks
    for chunk in chunks:
        assert chunk.text == nl_lines(corpus / chunk.source)[chunk.line]


def test_line_numbering_counts_a_last_line_without_newline() -> None:
    assert split_lines("a\nb") == ["a", "b"]
    assert split_lines("a\n\nc\n") == ["a", "", "c"]


def test_reindexing_an_unchanged_corpus_embeds_nothing(corpus, index_config, embed_model):
    first = ingest(index_config, [corpus], embed_model=embed_model, progress=False)
    second = ingest(index_config, [corpus], embed_model=embed_model, progress=False)
    assert first.chunks_embedded == first.chunks_total > 0
    assert second.chunks_embedded == 0
    assert second.changed == [] and second.new == []
    assert second.chunks_total == first.chunks_total
    assert "0 changed" in second.summary()


def test_editing_one_line_reembeds_only_that_file(corpus, index_config, embed_model):
    first = ingest(index_config, [corpus], embed_model=embed_model, progress=False)
    path = corpus / "002_1673a907b0920f4c.txt"
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[28] = "Another 99 were shot down."
    path.write_text("\n".join(lines), encoding="utf-8")
    second = ingest(index_config, [corpus], embed_model=embed_model, progress=False)
    assert second.changed == ["002_1673a907b0920f4c.txt"]
    assert second.unchanged == ["000_9517869daacb5b3c.txt"]
    assert second.chunks_embedded == len(nl_lines(path))
    assert second.chunks_total == first.chunks_total
    stored = {line.line: line.text for line in open_store(index_config).lines(path.name)}
    assert stored[29] == "Another 99 were shot down."


def test_a_deleted_file_leaves_the_index(corpus, index_config, embed_model):
    ingest(index_config, [corpus], embed_model=embed_model, progress=False)
    (corpus / "000_9517869daacb5b3c.txt").unlink()
    report = ingest(index_config, [corpus], embed_model=embed_model, progress=False)
    assert report.removed == ["000_9517869daacb5b3c.txt"]
    store = open_store(index_config)
    assert {c.source for c in store.iter_chunks()} == {"002_1673a907b0920f4c.txt"}


def test_no_chunk_is_ever_stored_twice(corpus, index_config, embed_model):
    for _ in range(3):
        ingest(index_config, [corpus], embed_model=embed_model, progress=False)
    ingest(
        index_config, [corpus / "000_9517869daacb5b3c.txt"], embed_model=embed_model, progress=False
    )
    chunks = list(open_store(index_config).iter_chunks())
    addresses = [(c.source, c.line, c.col_start) for c in chunks]
    assert (
        len(addresses)
        == len(set(addresses))
        == sum(len([x for x in nl_lines(p).values() if x.strip()]) for p in corpus.iterdir())
    )


class CrashingEmbedding(BaseEmbedding):
    """Stands in for a process killed mid-index: the embedding service dies after a while."""

    inner: BaseEmbedding
    calls_left: int = 1

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        if self.calls_left <= 0:
            raise RuntimeError("connection lost")
        self.calls_left -= 1
        return self.inner.get_text_embedding_batch(texts)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embeddings([text])[0]

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._get_text_embeddings([query])[0]

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)


def test_a_half_indexed_document_is_repaired_by_the_next_run(tmp_path, index_config, embed_model):
    corpus = tmp_path / "big"
    corpus.mkdir()
    (corpus / "long.txt").write_text(
        "\n".join(f"Line {i} says the value is {i * 7}." for i in range(1, 701)), encoding="utf-8"
    )
    crashing = CrashingEmbedding(
        inner=embed_model, model_name=embed_model.model_name, embed_batch_size=256
    )
    with pytest.raises(IndexError_, match="embedding failed"):
        ingest(index_config, [corpus], embed_model=crashing, progress=False)
    store = open_store(index_config)
    assert 0 < store.count() < 700  # partly written...
    assert store.manifest() == {}  # ...but not taken for complete
    report = ingest(index_config, [corpus], embed_model=embed_model, progress=False)
    assert report.repaired == ["long.txt"] and report.new == ["long.txt"]
    assert report.chunks_total == 700


def test_a_half_indexed_document_is_not_answered_from_until_it_is_complete(
    tmp_path, index_config, embed_model
):
    """What is answered from is what `documents()` lists: a file cut short is neither."""
    from qa import Assistant

    corpus = tmp_path / "cut"
    corpus.mkdir()
    (corpus / "dredger.txt").write_text(
        "\n".join(f"Dredger {i} moved {i * 13} tonnes of silt." for i in range(1, 701)),
        encoding="utf-8",
    )
    crashing = CrashingEmbedding(
        inner=embed_model, model_name=embed_model.model_name, embed_batch_size=256
    )
    with pytest.raises(IndexError_):
        ingest(index_config, [corpus], embed_model=crashing, progress=False)
    assistant = Assistant(
        data_dir=index_config.data_dir, collection=index_config.collection, corpus=corpus
    )
    assert assistant.documents() == {}
    answer = assistant.ask("How many tonnes of silt did dredger 5 move?")
    assert answer.abstained and answer.citations == []
    assert assistant.retrieve("dredger silt tonnes") == []


def test_an_emptied_index_stays_empty_and_says_so(tmp_path, corpus):
    from qa import Assistant

    own = tmp_path / "own"
    own.mkdir()
    (own / "ferry.txt").write_text("The ferry to Orlen leaves at 9:15.\n", encoding="utf-8")
    assistant = Assistant(data_dir=tmp_path / "data", corpus=own)  # a first start builds it
    assert assistant.remove("ferry.txt")
    again = Assistant(data_dir=tmp_path / "data", corpus=corpus)  # seeds are the default corpus
    assert again.documents() == {}
    answer = again.ask("How many drones were shot down?")
    assert answer.abstained
    assert answer.notice is not None and "nothing is indexed" in answer.notice


def test_a_question_during_the_first_indexing_never_builds_the_default_corpus(tmp_path, corpus):
    from index.store import writer_lock
    from qa import Assistant, QAError, Settings

    settings = Settings().with_overrides(data_dir=tmp_path / "data", corpus=corpus)
    with writer_lock(settings.index), pytest.raises(QAError, match="is writing the first index"):
        Assistant(settings)
    with pytest.raises(IndexError_, match="no index named"):
        open_store(settings.index)  # nothing was built


def test_a_long_line_is_split_without_losing_its_number(tmp_path, index_config, embed_model):
    corpus = tmp_path / "c"
    corpus.mkdir()
    long_line = " ".join(f"word{i}" for i in range(2000))
    (corpus / "doc.md").write_text(f"# Title\n{long_line}\nlast line\n", encoding="utf-8")
    ingest(index_config, [corpus], embed_model=embed_model, progress=False)
    store = open_store(index_config)
    pieces = [c for c in store.iter_chunks() if c.line == 2]
    assert len(pieces) > 1
    assert {line.line: line.text for line in store.lines("doc.md")} == {
        1: "# Title",
        2: long_line,
        3: "last line",
    }


def test_bad_inputs_are_skipped_with_a_reason_and_the_rest_indexed(
    tmp_path, index_config, embed_model
):
    corpus = tmp_path / "mixed"
    (corpus / "sub").mkdir(parents=True)
    (corpus / "good.txt").write_text("A good line.\n", encoding="utf-8")
    (corpus / "empty.txt").write_text("", encoding="utf-8")
    (corpus / "blank.md").write_text("\n   \n\n", encoding="utf-8")
    (corpus / "binary.txt").write_bytes(b"\x89PNG\r\n\x00\x00\x00data")
    (corpus / "latin1.txt").write_bytes("Café crème at 5 €\n".encode("cp1252"))
    (corpus / "image.png").write_bytes(b"\x89PNG")
    (corpus / "dangling.txt").symlink_to(corpus / "nowhere.txt")
    (corpus / "sub" / "loop").symlink_to(corpus)
    report = ingest(
        index_config, [corpus, tmp_path / "missing"], embed_model=embed_model, progress=False
    )
    reasons = {Path(s.path).name: s.reason for s in report.skipped}
    assert reasons["empty.txt"] == "empty file"
    assert reasons["blank.md"] == "empty file"
    assert "binary" in reasons["binary.txt"]
    assert "unsupported type .png" in reasons["image.png"]
    assert "broken link" in reasons["dangling.txt"]
    assert "no such file" in reasons["missing"]
    assert any("symlink loop" in s.reason for s in report.skipped)
    assert sorted(report.new) == ["good.txt", "latin1.txt"]
    assert any("cp1252" in n for n in report.notes)
    texts = {line.text for line in open_store(index_config).lines("latin1.txt")}
    assert texts == {"Café crème at 5 €"}


def test_a_one_megabyte_single_line_is_indexed(tmp_path, embed_model):
    config = IndexConfig(data_dir=tmp_path / "d", collection="big-line", chunk_size=8192)
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "huge.txt").write_text("lorem ipsum dolor sit amet " * 40000, encoding="utf-8")
    report = ingest(config, [corpus], embed_model=embed_model, progress=False)
    assert report.new == ["huge.txt"]
    assert {c.line for c in open_store(config).iter_chunks()} == {1}


def test_querying_with_another_model_is_a_clear_error(corpus, index_config, embed_model):
    ingest(index_config, [corpus], embed_model=embed_model, progress=False)
    other = index_config.model_copy(update={"embed_model": "openai/text-embedding-3-small"})
    with pytest.raises(ModelMismatchError, match="built with embedding model"):
        open_store(other)


def test_the_index_works_the_same_on_a_chroma_server(
    corpus, chroma_server: ChromaServer, tmp_path, embed_model
):
    config = IndexConfig(data_dir=tmp_path / "d", chroma_url=chroma_server.url, collection="srv")
    first = ingest(config, [corpus], embed_model=embed_model, progress=False)
    second = ingest(config, [corpus], embed_model=embed_model, progress=False)
    assert first.chunks_total == second.chunks_total == 60
    assert second.chunks_embedded == 0
    assert not (tmp_path / "d" / "chroma").exists()  # nothing was written locally


def test_an_unreachable_chroma_server_is_one_clear_line(tmp_path, corpus):
    config = IndexConfig(data_dir=tmp_path / "d", chroma_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(IndexError_, match="cannot reach Chroma"):
        ingest(config, [corpus], progress=False)


def test_cli_indexes_twice_and_reports_zero_changed(tmp_path):
    env = {"QA_DATA_DIR": str(tmp_path / "data")}
    first = run_qa("index", str(SEEDS), cwd=tmp_path, env=env)
    second = run_qa("index", str(SEEDS), cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stderr
    assert "2 new" in first.stdout and "60 in the index" in first.stdout
    assert second.returncode == 0, second.stderr
    assert "0 changed" in second.stdout and "60 in the index" in second.stdout


def test_cli_exits_nonzero_with_one_line_when_nothing_can_be_indexed(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_qa(
        "index",
        str(empty),
        str(tmp_path / "nope"),
        cwd=tmp_path,
        env={"QA_DATA_DIR": str(tmp_path / "data")},
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: nothing could be indexed")


def test_same_named_files_from_two_folders_indexed_in_separate_runs_both_stay(
    tmp_path, index_config, embed_model
):
    a, b = tmp_path / "clashA", tmp_path / "clashB"
    for folder, fact in ((a, "The ferry leaves at nine."), (b, "The tram costs two euros.")):
        folder.mkdir()
        (folder / "notes.txt").write_text(f"{fact}\n", encoding="utf-8")
    ingest(index_config, [a], embed_model=embed_model, progress=False)
    second = ingest(index_config, [b], embed_model=embed_model, progress=False)
    assert second.new == ["clashB/notes.txt"] and second.changed == []
    store = open_store(index_config)
    assert [x.text for x in store.lines("notes.txt")] == ["The ferry leaves at nine."]
    assert [x.text for x in store.lines("clashB/notes.txt")] == ["The tram costs two euros."]
    again = ingest(index_config, [a], embed_model=embed_model, progress=False)
    again_b = ingest(index_config, [b], embed_model=embed_model, progress=False)
    assert again.unchanged == ["notes.txt"] and again_b.unchanged == ["clashB/notes.txt"]
    assert again.removed == [] and again_b.removed == []
