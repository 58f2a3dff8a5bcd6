"""`qa ask` as a user runs it: a new process, plain text or one JSON object, one-line errors."""

from __future__ import annotations

import json
import subprocess

from support.cli import run_qa
from support.servers import free_port
from tests.conftest import CITATION_FIELDS, SEEDS

DRONES = "How many drones were shot down?"


def test_ask_prints_the_reply_and_the_cited_lines(tmp_path, seed_data_dir) -> None:
    result = run_qa("ask", DRONES, cwd=tmp_path, env={"QA_DATA_DIR": str(seed_data_dir)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("88")
    assert "002_1673a907b0920f4c.txt:29" in result.stdout
    assert "Another 88 were shot down." in result.stdout


def test_ask_json_prints_exactly_one_object_with_the_contract_fields(tmp_path, seed_data_dir):
    result = run_qa("ask", DRONES, "--json", cwd=tmp_path, env={"QA_DATA_DIR": str(seed_data_dir)})
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {"answer", "text", "abstained", "citations", "mode", "confidence", "timings"} <= set(
        data
    )
    assert data["answer"] == "88" and data["abstained"] is False and data["mode"] == "reader"
    assert 0 <= data["confidence"] <= 1
    for c in data["citations"]:
        assert set(c) == CITATION_FIELDS
        assert c["quote"][c["span_start"] : c["span_end"]] == "88"


def test_an_index_built_once_answers_from_any_folder(tmp_path) -> None:
    home = {"XDG_DATA_HOME": str(tmp_path / "home")}
    (tmp_path / "here").mkdir()
    (tmp_path / "elsewhere").mkdir()
    built = run_qa("index", str(SEEDS), "--quiet", cwd=tmp_path / "here", env=home)
    assert built.returncode == 0, built.stderr
    result = run_qa("ask", DRONES, cwd=tmp_path / "elsewhere", env=home)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("88")
    assert list((tmp_path / "here").iterdir()) == list((tmp_path / "elsewhere").iterdir()) == []


def test_asking_with_no_index_and_no_corpus_here_says_how_to_build_one(tmp_path) -> None:
    result = run_qa("ask", DRONES, cwd=tmp_path, env={"XDG_DATA_HOME": str(tmp_path / "h")})
    assert result.returncode == 1
    assert result.stderr.startswith("error: no index yet in ")
    assert "build one with `qa index FOLDER`" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["h"]


def test_an_abstention_exits_zero(tmp_path, seed_data_dir) -> None:
    result = run_qa(
        "ask",
        "What is the capital of Australia?",
        "--json",
        cwd=tmp_path,
        env={"QA_DATA_DIR": str(seed_data_dir)},
    )
    assert result.returncode == 0
    data = json.loads(result.stdout)
    assert data["abstained"] is True and data["citations"] == []


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_an_empty_question_is_a_one_line_error(tmp_path, seed_data_dir) -> None:
    result = run_qa("ask", "   ", cwd=tmp_path, env={"QA_DATA_DIR": str(seed_data_dir)})
    assert one_line_error(result) == "error: the question is empty"


def test_an_unreachable_chroma_is_a_one_line_error(tmp_path) -> None:
    result = run_qa(
        "ask", DRONES, cwd=tmp_path, env={"QA_CHROMA_URL": f"http://127.0.0.1:{free_port()}"}
    )
    assert "cannot reach Chroma" in one_line_error(result)


def test_ask_builds_the_index_on_first_use(tmp_path) -> None:
    result = run_qa(
        "ask",
        DRONES,
        "--json",
        cwd=tmp_path,
        env={"QA_DATA_DIR": str(tmp_path / "d"), "QA_CORPUS": str(SEEDS)},
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["answer"] == "88"


def test_a_quiet_run_logs_nothing_and_verbose_logs_each_step(tmp_path, seed_data_dir) -> None:
    env = {"QA_DATA_DIR": str(seed_data_dir)}
    quiet = run_qa("ask", "How many drones were shot down?", cwd=tmp_path, env=env)
    verbose = run_qa("--verbose", "ask", "How many drones were shot down?", cwd=tmp_path, env=env)
    assert " INFO " not in quiet.stderr
    assert "INFO qa.assistant: answered by reader" in verbose.stderr, verbose.stderr
    assert "INFO qa.reader.model: reader model loaded" in verbose.stderr
    assert quiet.stdout == verbose.stdout  # logging goes to stderr only


def test_the_log_level_is_a_setting(tmp_path, seed_data_dir) -> None:
    env = {"QA_DATA_DIR": str(seed_data_dir), "QA_LOG_LEVEL": "INFO"}
    result = run_qa("ask", "How many drones were shot down?", cwd=tmp_path, env=env)
    assert "INFO qa.assistant: answered by reader" in result.stderr
    bad = run_qa("ask", "x", cwd=tmp_path, env={**env, "QA_LOG_LEVEL": "LOUD"})
    assert bad.returncode == 1 and "invalid log_level" in bad.stderr


def test_ask_continue_answers_a_follow_up_as_the_api_does_with_history(tmp_path, seed_copy) -> None:
    from qa import Assistant, Turn

    data = seed_copy
    env = {"QA_DATA_DIR": str(data)}
    first = "Which village did Moscow claim to have captured?"
    follow = "In which region is it?"
    one = json.loads(run_qa("ask", first, "--json", cwd=tmp_path, env=env).stdout)
    two = json.loads(run_qa("ask", "-c", follow, "--json", cwd=tmp_path, env=env).stdout)
    api = Assistant(data_dir=data).ask(follow, history=[Turn(question=first, answer=one["answer"])])
    assert two["answer"] == api.answer and two["citations"] == [
        c.model_dump() for c in api.citations
    ]
    kept = json.loads((data / "last-conversation.json").read_text())["turns"]
    assert [t["question"] for t in kept] == [first, follow]
    run_qa("ask", follow, cwd=tmp_path, env=env)  # no -c: a new conversation
    kept = json.loads((data / "last-conversation.json").read_text())["turns"]
    assert [t["question"] for t in kept] == [follow]


def test_an_index_from_before_the_keyword_file_is_upgraded_with_a_note(tmp_path, seed_copy) -> None:
    for old in seed_copy.glob("*.keywords.sqlite3*"):
        old.unlink()
    result = run_qa("ask", DRONES, cwd=tmp_path, env={"QA_DATA_DIR": str(seed_copy)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("88")
    notes = [line for line in result.stderr.splitlines() if line.startswith("note:")]
    assert notes == [
        "note: bringing the keyword index up to date: 2 document(s) to add, 0 to remove"
    ]
