"""The settings object: sections by concern, filled from flat `QA_` names, a `.env` file and
keywords, each checked like the setting it sets."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from qa import Assistant, Settings
from qa.settings import setting_name
from tests.conftest import SEEDS

DRONES = "How many drones were shot down?"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No QA_ variable or .env of the machine running the tests leaks into these."""
    import os

    for name in [n for n in os.environ if n.upper().startswith("QA_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_flat_env_names_fill_their_sections(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_DATA_DIR", "/srv/qa")
    monkeypatch.setenv("QA_RETRIEVAL", "dense")
    monkeypatch.setenv("QA_TOP_K", "5")
    monkeypatch.setenv("QA_CITE_THRESHOLD", "2.5")
    monkeypatch.setenv("qa_upload_max_mb", "9")  # names are case-insensitive
    settings = Settings()
    assert settings.index.data_dir == Path("/srv/qa")
    assert (settings.retrieval.mode, settings.retrieval.top_k) == ("dense", 5)
    assert settings.answering.cite_threshold == 2.5
    assert settings.ui.upload_max_mb == 9


def test_every_setting_has_its_documented_default() -> None:
    settings = Settings()
    assert settings.retrieval.top_k == 8 and settings.retrieval.llm_top_k == 16
    assert settings.index.embed_batch_size == 32 and settings.index.chunk_size == 200
    assert settings.ui.upload_max_mb == 5 and settings.ui.answers_at_once == 4
    assert settings.answering.answer_threshold is None  # the shipped calibration's value


def test_a_keyword_wins_over_the_environment_field_by_field(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("QA_TOP_K", "5")
    monkeypatch.setenv("QA_RETRIEVAL", "keyword")
    settings = Settings(top_k=3)
    assert settings.retrieval.top_k == 3
    assert settings.retrieval.mode == "keyword"  # the rest of the section still from the env


def test_the_environment_wins_over_a_dotenv_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text("QA_PORT=9000\nQA_COLLECTION=from-file\n", encoding="utf-8")
    monkeypatch.setenv("QA_PORT", "9100")
    settings = Settings()
    assert settings.ui.port == 9100
    assert settings.index.collection == "from-file"


def test_an_override_left_unset_changes_nothing() -> None:
    settings = Settings(top_k=4)
    assert settings.with_overrides(top_k=None, port=None) is settings
    assert settings.with_overrides(port=8000).retrieval.top_k == 4


def test_an_unknown_setting_name_is_refused_not_ignored() -> None:
    with pytest.raises(TypeError, match="unknown setting 'tok_k'"):
        Settings(tok_k=3)
    with pytest.raises(TypeError, match="unknown setting 'tok_k'"):
        Settings().with_overrides(tok_k=3)


def test_a_bad_value_is_reported_under_the_name_a_user_typed() -> None:
    with pytest.raises(ValidationError) as caught:
        Settings().with_overrides(port=70000)
    assert setting_name(caught.value.errors()[0]["loc"]) == "port"
    with pytest.raises(ValidationError) as caught:
        Settings(retrieval="sparse")
    assert setting_name(caught.value.errors()[0]["loc"]) == "retrieval"


def test_a_raised_answer_threshold_makes_the_reader_abstain(seed_data_dir: Path) -> None:
    strict = Assistant(corpus=SEEDS, data_dir=seed_data_dir, answer_threshold=1e6)
    answer = strict.ask(DRONES)
    assert answer.abstained and not answer.citations


def test_a_raised_cite_threshold_cites_only_the_line_answered_from(seed_data_dir: Path) -> None:
    sparing = Assistant(corpus=SEEDS, data_dir=seed_data_dir, cite_threshold=1e6)
    answer = sparing.ask(DRONES)
    assert answer.answer == "88"
    assert len(answer.citations) == 1
