"""Shared fixtures. The product must work offline: pytest-socket (configured in
pyproject.toml) lets tests connect only to loopback, so any attempt to reach another
address fails the test that made it."""

from __future__ import annotations

import inspect
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from index import offline

offline.apply()
# The default data folder is per user: a test run gets its own, never the real one.
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="qa-tests-data-home-")

from index import IndexConfig  # noqa: E402
from index.embeddings import OnnxMiniLMEmbedding  # noqa: E402
from support.openai_stub import ScriptedLLMServer  # noqa: E402
from support.servers import ChromaServer  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
# The fields of a citation in the answer contract (the API, --json, the page's /answer).
CITATION_FIELDS = {"source", "page", "line_start", "line_end", "quote", "span_start", "span_end"}
SEEDS = REPO / "seeds"
ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture(scope="session")
def embed_model() -> OnnxMiniLMEmbedding:
    """One loaded model for the whole run: loading it is the slow part of a small ingest."""
    return OnnxMiniLMEmbedding()


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    """A private copy of the seed documents that a test may edit."""
    folder = tmp_path / "corpus"
    shutil.copytree(SEEDS, folder)
    return folder


@pytest.fixture()
def index_config(tmp_path: Path) -> IndexConfig:
    return IndexConfig(data_dir=tmp_path / "data", collection="test-sources")


@pytest.fixture()
def chroma_server(tmp_path: Path) -> Iterator[ChromaServer]:
    server = ChromaServer(tmp_path / "chroma-server")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def seed_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of seeds/, built once for every test that only reads it."""
    from qa import Assistant

    data = tmp_path_factory.mktemp("seed-index")
    Assistant(corpus=SEEDS, data_dir=data)
    return data


@pytest.fixture()
def seed_copy(tmp_path: Path, seed_data_dir: Path) -> Path:
    """A private copy of the seed index (vectors and keyword file) that a test may change:
    copying the folder costs milliseconds where indexing the seeds again costs seconds."""
    data = tmp_path / "seed-copy"
    copy_index(seed_data_dir, data)
    return data


def copy_index(source: Path, target: Path) -> None:
    """Copy an index folder in another process. Copying it in this one would open and close
    the SQLite files that this process's connections hold, and closing a file drops all of a
    process's POSIX locks on it: another process may then take those connections for gone,
    checkpoint and delete the write-ahead log under them ("disk I/O error")."""
    subprocess.run(["cp", "-r", str(source), str(target)], check=True)


@pytest.fixture(scope="session")
def assistant(seed_data_dir: Path):  # type: ignore[no-untyped-def]
    """The assistant, answering with the reader, over seeds/ (no LLM configured)."""
    from qa import Assistant

    return Assistant(corpus=SEEDS, data_dir=seed_data_dir, llm_model=None)


@pytest.fixture()
def llm_server() -> Iterator[ScriptedLLMServer]:
    """A scripted OpenAI-compatible endpoint on loopback."""
    with ScriptedLLMServer() as server:
        yield server


def with_llm(corpus: Path, data_dir: Path, llm_server: ScriptedLLMServer, **settings: Any):  # type: ignore[no-untyped-def]
    """An assistant over `corpus` with the scripted endpoint as its LLM (2 s budget unless
    `settings` say otherwise)."""
    from qa import Assistant

    return Assistant(
        corpus=corpus,
        data_dir=data_dir,
        llm_model="openai/stub",
        llm_api_base=llm_server.url,
        llm_api_key="sk-test",
        **{"llm_timeout": 2.0, **settings},
    )


@pytest.fixture()
def llm_assistant(seed_data_dir: Path, llm_server: ScriptedLLMServer):  # type: ignore[no-untyped-def]
    """The assistant over seeds/ with the scripted endpoint as its LLM."""
    return with_llm(SEEDS, seed_data_dir, llm_server)


# -- markers -----------------------------------------------------------------------------
# Set by what a test does rather than by hand, so that no test can forget its marker:
# `browser` drives Chromium, `e2e` runs the `qa` command or a server process, `slow` is a
# whole evaluation or a fault injected into a long run. `make test-fast` runs the rest.
SERVER_FIXTURES = {"chat", "client", "notes", "shelf", "pdf_report", "chroma_server", "llm"}
SLOW_MODULES = {"test_eval_script", "test_faults", "test_training"}
RUNS_A_PROCESS = (
    "run_qa(",
    "start_qa(",
    "ChatServer(",
    "subprocess.",
    "run_module(",
    "index_until_writing(",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        function = getattr(item, "function", None)
        source = inspect.getsource(function) if function else ""
        if "browser_page(" in source:
            item.add_marker(pytest.mark.browser)
        uses = set(getattr(item, "fixturenames", ()))
        if any(s in source for s in RUNS_A_PROCESS) or uses & SERVER_FIXTURES:
            item.add_marker(pytest.mark.e2e)
        if item.module is not None and item.module.__name__.rsplit(".", 1)[-1] in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
