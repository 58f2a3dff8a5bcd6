"""Faults a deployed index meets: a killed ingest, a Chroma server that goes away, a damaged
or foreign data directory, two writers at once. Each ends in a clear message and an index
that is whole."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import chromadb
import pytest
from chromadb.config import Settings as ChromaSettings

from index import IndexConfig, StoreUnavailableError, ingest, open_store
from index.keywords import keywords_path
from qa import Assistant, QAError
from support.cli import run_qa, start_qa
from support.servers import ChromaServer
from tests.conftest import REPO, SEEDS

DRONES = "How many drones were shot down?"


def qa_process(*args: str, data: Path) -> subprocess.Popen[str]:
    return start_qa(*args, env={"QA_DATA_DIR": str(data)})


def evaluate_on(chroma_url: str, *, limit: int, cwd: Path) -> subprocess.CompletedProcess[str]:
    gold = str(REPO / "evals" / "gold.jsonl")
    return run_qa(
        "--chroma-url",
        chroma_url,
        "eval",
        "--corpus",
        str(SEEDS),
        "--questions",
        gold,
        "--limit",
        str(limit),
        cwd=cwd,
    )


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def big_corpus(folder: Path, lines: int = 3000) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for f in SEEDS.iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    text = "\n".join(
        f"Depot {i} stored {i * 3} crates of apples in week {i % 52}." for i in range(lines)
    )
    (folder / "zz_big.txt").write_text(text, encoding="utf-8")
    return folder


def documents_stored(data: Path) -> int:
    """How many documents the running ingest has completed: it writes a document's keywords
    only once all its vectors are stored, so the keyword file counts complete documents."""
    path = keywords_path(IndexConfig(data_dir=data, collection="qa-sources"))
    if not path.exists():
        return 0
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)) as conn:
            return int(conn.execute("SELECT count(*) FROM docs").fetchone()[0])
    except sqlite3.Error:  # not created yet, or locked for a moment
        return 0


def index_until_writing(
    corpus: Path, data: Path, grown: int, after_documents: int = 0
) -> subprocess.Popen[str]:
    """`qa index corpus` left running until `after_documents` documents are complete and its
    store has grown by `grown` bytes since then. Counting documents, not bytes, is what makes
    "the seeds stored, the big file not" hold on a fast or a slow machine."""
    proc = qa_process("index", str(corpus), data=data)
    deadline = time.monotonic() + 180
    start_size = None
    while time.monotonic() < deadline and proc.poll() is None:
        chroma = data / "chroma"
        if chroma.exists() and documents_stored(data) >= after_documents:
            size = folder_bytes(chroma)
            start_size = start_size or size
            if size > start_size + grown:
                break
        time.sleep(0.05)
    assert proc.poll() is None, "the ingest finished before it could be stopped"
    return proc


def test_kill_9_during_a_large_index_then_index_again_gives_a_clean_build(
    tmp_path, embed_model
) -> None:
    corpus = big_corpus(tmp_path / "corpus")
    killed = tmp_path / "killed"
    proc = index_until_writing(corpus, killed, grown=300_000)  # embedded chunks being written
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)

    config = IndexConfig(data_dir=killed, collection="qa-sources")
    again = ingest(config, [corpus], embed_model=embed_model, progress=False)
    clean_config = IndexConfig(data_dir=tmp_path / "clean", collection="qa-sources")
    clean = ingest(clean_config, [corpus], embed_model=embed_model, progress=False)
    assert again.chunks_total == clean.chunks_total
    assert "zz_big.txt" in again.repaired + again.new
    chunks = list(open_store(config).iter_chunks())
    assert len({(c.source, c.line, c.col_start) for c in chunks}) == len(chunks)
    a = Assistant(data_dir=killed, corpus=corpus).ask(DRONES)
    b = Assistant(data_dir=tmp_path / "clean", corpus=corpus).ask(DRONES)
    assert (a.answer, a.citations) == (b.answer, b.citations)


def test_ctrl_c_during_index_exits_130_says_what_was_kept_and_the_next_run_resumes(
    tmp_path, embed_model
) -> None:
    corpus = big_corpus(tmp_path / "corpus")
    data = tmp_path / "data"
    proc = index_until_writing(corpus, data, grown=300_000, after_documents=2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    said = [line for line in err.splitlines() if line.strip()]
    assert len(said) == 1 and said[0].startswith("interrupted: 2 document(s) stored completely")
    assert "zz_big.txt was cut short" in said[0]

    again = ingest(
        IndexConfig(data_dir=data, collection="qa-sources"),
        [corpus],
        embed_model=embed_model,
        progress=False,
    )
    assert sorted(again.unchanged) == sorted(f.name for f in SEEDS.iterdir())
    assert again.repaired == ["zz_big.txt"] and again.new == ["zz_big.txt"]
    # It goes on where it was cut: the big file's chunks stored before Ctrl-C are kept.
    assert 0 < again.chunks_embedded < 3000
    clean = ingest(
        IndexConfig(data_dir=tmp_path / "clean", collection="qa-sources"),
        [corpus],
        embed_model=embed_model,
        progress=False,
    )
    assert again.chunks_total == clean.chunks_total
    resumed = {
        (c.source, c.line, c.col_start, c.text)
        for c in open_store(IndexConfig(data_dir=data, collection="qa-sources")).iter_chunks()
    }
    assert resumed == {
        (c.source, c.line, c.col_start, c.text)
        for c in open_store(
            IndexConfig(data_dir=tmp_path / "clean", collection="qa-sources")
        ).iter_chunks()
    }


def test_a_stopped_chroma_server_is_a_clear_error_and_a_restart_recovers(tmp_path) -> None:
    server = ChromaServer(tmp_path / "srv")
    server.start()
    try:
        assistant = Assistant(corpus=SEEDS, data_dir=tmp_path / "d", chroma_url=server.url)
        assert assistant.ask(DRONES).answer == "88"
        server.stop()
        started = time.monotonic()
        with pytest.raises(QAError, match="cannot reach Chroma"):
            assistant.ask(DRONES)
        assert time.monotonic() - started < 5
        server.start_again()
        assert assistant.ask(DRONES).answer == "88"
    finally:
        server.stop()


def test_a_damaged_data_directory_names_the_fix_and_deletes_nothing(tmp_path) -> None:
    data = tmp_path / "d"
    Assistant(corpus=SEEDS, data_dir=data)
    sqlite = data / "chroma" / "chroma.sqlite3"
    sqlite.write_bytes(b"this is not a database" * 100)
    before = sorted(p.name for p in (data / "chroma").iterdir())
    with pytest.raises(QAError, match=r"qa index --rebuild"):
        Assistant(corpus=SEEDS, data_dir=data)
    assert sorted(p.name for p in (data / "chroma").iterdir()) == before
    assert sqlite.read_bytes().startswith(b"this is not a database")

    result = qa_process("index", str(SEEDS), "--rebuild", data=data)
    out, err = result.communicate(timeout=300)
    assert result.returncode == 0, err
    assert "2 new" in out
    assert list(data.glob("chroma.damaged-*")), "the damaged index was kept aside, not deleted"
    assert Assistant(corpus=SEEDS, data_dir=data).ask(DRONES).answer == "88"


def test_an_empty_database_file_is_an_error_not_a_new_index(tmp_path) -> None:
    data = tmp_path / "d"
    Assistant(corpus=SEEDS, data_dir=data)
    sqlite = data / "chroma" / "chroma.sqlite3"
    sqlite.write_bytes(b"")
    with pytest.raises(QAError, match=r"damaged \(chroma.sqlite3 is empty\).*qa index --rebuild"):
        Assistant(corpus=SEEDS, data_dir=data)
    assert sqlite.stat().st_size == 0, "nothing was built over it"
    result = run_qa("ask", DRONES, cwd=tmp_path, env={"QA_DATA_DIR": str(data)})
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error: the index at") and "empty" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.fixture()
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 6 MB filesystem of its own (tmpfs), which a test can fill and then grow."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mount)], capture_output=True
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_says_so_and_after_space_is_freed_the_next_run_completes(
    tmp_path, small_disk, embed_model
) -> None:
    corpus = big_corpus(tmp_path / "corpus")
    data = small_disk / "data"
    full = run_qa("index", str(corpus), cwd=tmp_path, env={"QA_DATA_DIR": str(data)})
    assert full.returncode == 1
    said = [line for line in full.stderr.splitlines() if line.strip()]
    assert len(said) == 1 and said[0].startswith("error: disk full while writing the index")
    assert "--rebuild" not in said[0]

    subprocess.run(["mount", "-o", "remount,size=200m", str(small_disk)], check=True)
    again = run_qa("index", str(corpus), cwd=tmp_path, env={"QA_DATA_DIR": str(data)})
    assert again.returncode == 0, again.stderr
    clean = ingest(
        IndexConfig(data_dir=tmp_path / "clean", collection="qa-sources"),
        [corpus],
        embed_model=embed_model,
        progress=False,
    )
    assert f"{clean.chunks_total} in the index" in again.stdout


@pytest.mark.parametrize(
    ("failure", "says", "never"),
    [
        ("(code: 8) attempt to write a readonly database", "cannot be written", "--rebuild"),
        (
            "Query error: Database error: (code: 13) database or disk is full",
            "disk full",
            "--rebuild",
        ),
        ("file is not a database", "qa index --rebuild", "disk full"),
    ],
)
def test_a_failing_store_names_the_fix_that_fits_its_cause(failure, says, never) -> None:
    """chromadb passes SQLite's words through; a read-only or full disk must not be told to
    rebuild (which moves the healthy index aside)."""
    from index.errors import store_failure

    message = store_failure(RuntimeError(failure), "/srv/qa/chroma", reading=False)
    assert says in message and never not in message
    assert "\n" not in message


def test_a_foreign_collection_is_not_touched(tmp_path) -> None:
    data = tmp_path / "d"
    client = chromadb.PersistentClient(
        path=str(data / "chroma"), settings=ChromaSettings(anonymized_telemetry=False)
    )
    foreign = client.create_collection("qa-sources", embedding_function=None)
    foreign.add(ids=["theirs"], embeddings=[[0.1, 0.2, 0.3]], documents=["their data"])
    del client
    with pytest.raises(StoreUnavailableError, match="not written by this tool.*--rebuild"):
        open_store(IndexConfig(data_dir=data, collection="qa-sources"))
    with pytest.raises(QAError, match="not written by this tool"):
        Assistant(corpus=SEEDS, data_dir=data)


def test_two_index_runs_at_once_leave_one_consistent_index(tmp_path) -> None:
    corpus = big_corpus(tmp_path / "corpus", lines=800)
    data = tmp_path / "d"
    first = qa_process("index", str(corpus), data=data)
    time.sleep(0.5)
    second = qa_process("index", str(corpus), data=data)
    out1, err1 = first.communicate(timeout=300)
    out2, err2 = second.communicate(timeout=300)
    assert first.returncode == 0 and second.returncode == 0, err1 + err2
    assert "Traceback" not in err1 + err2
    summaries = [out1.strip().splitlines()[-1], out2.strip().splitlines()[-1]]
    assert any("3 new" in s for s in summaries)
    assert any("0 new, 0 changed, 3 unchanged" in s for s in summaries)
    store = open_store(IndexConfig(data_dir=data, collection="qa-sources"))
    chunks = list(store.iter_chunks())
    assert len(chunks) == 60 + 800
    assert len({(c.source, c.line, c.col_start) for c in chunks}) == len(chunks)


def test_an_llm_endpoint_that_is_down_gives_the_readers_answer_in_time(seed_data_dir) -> None:
    from support.servers import free_port

    assistant = Assistant(
        corpus=SEEDS,
        data_dir=seed_data_dir,
        llm_model="openai/stub",
        llm_api_base=f"http://127.0.0.1:{free_port()}/v1",
        llm_api_key="sk-test",
        llm_timeout=2.0,
    )
    assistant.ask(DRONES)  # the first question also opens the index and loads the reader
    started = time.monotonic()
    answer = assistant.ask(DRONES)
    assert time.monotonic() - started < 2.0 + 1.0
    assert answer.mode == "reader" and answer.answer == "88"
    assert answer.notice and "the LLM failed" in answer.notice


def test_ask_chat_and_eval_work_the_same_on_a_chroma_server(tmp_path) -> None:
    from gradio_client import Client

    from tests.test_chat_page import ChatServer

    server = ChromaServer(tmp_path / "srv")
    server.start()
    try:
        env = {"QA_CHROMA_URL": server.url}
        chat = ChatServer(tmp_path / "d", extra_env=env)
        try:
            answer = Client(chat.url, verbose=False).predict(DRONES, [], api_name="/answer")
            assert answer["answer"] == "88"
        finally:
            chat.stop()
        # the server named by a global flag this time, not the environment
        result = evaluate_on(server.url, limit=6, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "| n_questions | 6.0 |" in result.stdout
        assert not (tmp_path / ".qa-data" / "chroma").exists()
        assert not [
            c
            for c in chromadb.HttpClient(host="127.0.0.1", port=server.port).list_collections()
            if c.name.startswith("eval-")
        ], "scratch collection left"
        server.stop()  # the flag, not a default, decides where eval goes: now it must fail
        down = evaluate_on(server.url, limit=2, cwd=tmp_path)
        assert down.returncode == 1 and "cannot reach Chroma" in down.stderr
    finally:
        server.stop()
