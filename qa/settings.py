"""The one settings object, in sections by concern: `index`, `retrieval`, `answering`, `ui`.

Read once: environment variables prefixed `QA_`, then a `.env` file if present; command-line
flags and keywords override it through `Settings.with_overrides`. Every setting keeps one
flat name (`QA_TOP_K`, `Assistant(top_k=5)`, `--data-dir`) that `FLAT` maps to its section,
so a user never has to know the nesting; code reads `settings.retrieval.top_k`.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from dotenv import dotenv_values
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from index import IndexConfig

MAX_TOP_K = 50  # lines one question may read: beyond this, reading costs more than it finds
ENV_PREFIX = "QA_"
ENV_FILE = ".env"


class RetrievalSettings(BaseModel):
    """How lines are found for a question."""

    model_config = ConfigDict(extra="forbid")

    # How lines are ranked: dense and keyword rankings fused (hybrid), or one of them alone.
    mode: Literal["hybrid", "dense", "keyword"] = "hybrid"
    top_k: int = Field(default=8, ge=1, le=MAX_TOP_K)  # lines the reader reads
    # Lines shown to an LLM. More than the reader reads: a model reads a line
    # that words the question differently as easily as one that repeats it, and with 8
    # lines the line that states the answer was not shown for 3 of the 71 answerable gold
    # questions (bench/bench_reader_ceiling.py).
    llm_top_k: int = Field(default=16, ge=1, le=MAX_TOP_K)


class AnsweringSettings(BaseModel):
    """Who reads the lines: the shipped reader, or an LLM when one is named."""

    model_config = ConfigDict(extra="forbid")

    # The reader model's folder (reader.onnx, tokenizer.json, calibration.json); None: the
    # one that ships in the package. For trying a newly trained model.
    reader_dir: Path | None = None
    # The reader's decisions, on its "prefer this span to no answer" margin. None: the value
    # fitted on SQuAD 2.0 dev articles and shipped in the model's calibration.json. Raise
    # answer_threshold to abstain more, cite_threshold to cite fewer further lines.
    answer_threshold: float | None = None
    cite_threshold: float | None = None
    # Which words the reader answers with: the best line's span ("best"), or, when no other
    # line read states that span but another line the reader trusts states a run of its
    # words ("Another 88" beside "88"), that run, citing both lines ("agreed").
    answer_span: Literal["best", "agreed"] = "best"
    # How the reader reads a follow-up that points back with a pronoun: as asked ("asked"),
    # or also with the previous short answer in the pronoun's place, keeping the reading it
    # is surer of ("resolved": "When was she elected?" after "Ida Berg"). Retrieval looks a
    # follow-up up with the turn before it either way.
    follow_up: Literal["asked", "resolved"] = "asked"
    # A further line (one that states the whole answer and shares a word with the question)
    # is cited when the reader prefers, by cite_threshold over "not in this line", its own
    # best span there, which must name the answer ("span"), or the answer's own words there
    # ("answer": "Another 88 were shot down" where its best span is another number).
    further_citations: Literal["span", "answer"] = "span"
    llm_model: str | None = None
    llm_api_base: str | None = None
    llm_api_key: str | None = None
    llm_timeout: float = Field(default=30.0, gt=0)
    # How an LLM's citations are checked: "words" (the line words the answer, is about the
    # question and is not an instruction to a model) or "read" (that, and the reader asked
    # the same question on the line prefers the claimed answer). "read" rejects every
    # reworded injection line measured, but keeps only 64 % of right citations (95 % is the
    # bar; docs/benchmarks.md), so it is not the default yet.
    claim_check: Literal["words", "read"] = "words"


class UISettings(BaseModel):
    """The chat page."""

    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=7860, ge=0, le=65535)
    auth: str | None = None  # "user:password", required to bind a non-loopback address
    upload_max_mb: int = Field(default=5, ge=1, le=50)  # per uploaded file
    # Questions the page answers at once; the rest wait in order. Answering is CPU-bound: on
    # 2 cores more than a few only slows every reply (docs/benchmarks.md).
    answers_at_once: int = Field(default=4, ge=1, le=64)


SECTIONS: dict[str, type[BaseModel]] = {
    "index": IndexConfig,
    "retrieval": RetrievalSettings,
    "answering": AnsweringSettings,
    "ui": UISettings,
}
_TOP_LEVEL = ("corpus", "debug", "log_level")
# Flat names that differ from their field's: `QA_RETRIEVAL=dense` has always named the mode.
_RENAMED = {("retrieval", "mode"): "retrieval"}
# Each flat setting name -> (section, field); top-level settings map to (None, name).
FLAT: dict[str, tuple[str | None, str]] = {
    **{name: (None, name) for name in _TOP_LEVEL},
    **{
        _RENAMED.get((section, field), field): (section, field)
        for section, model in SECTIONS.items()
        for field in model.model_fields
    },
}
_FLAT_NAME = {where: name for name, where in FLAT.items()}


def fold(values: Mapping[str, Any]) -> dict[str, Any]:
    """Flat names into sections: {"top_k": 5} -> {"retrieval": {"top_k": 5}}. A whole
    section may be given too (`retrieval=RetrievalSettings(...)`); flat names given beside it
    win over its fields. An unknown name is refused: a misspelt keyword must not be ignored."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        if name in SECTIONS and isinstance(value, BaseModel | dict):
            whole = value.model_dump() if isinstance(value, BaseModel) else dict(value)
            out[name] = {**whole, **out.get(name, {})}
            continue
        if name not in FLAT:
            raise TypeError(f"unknown setting {name!r}")
        section, field = FLAT[name]
        if section is None:
            out[field] = value
        else:
            out.setdefault(section, {})[field] = value
    return out


def setting_name(loc: tuple[int | str, ...]) -> str:
    """The flat name a user typed for a validation error's location: ("index", "data_dir")
    -> "data_dir", so a message names `--data-dir`/`QA_DATA_DIR`, not the nesting."""
    if len(loc) >= 2 and isinstance(loc[0], str) and isinstance(loc[1], str):
        flat = _FLAT_NAME.get((loc[0], loc[1]))
        if flat is not None:
            return flat
    return ".".join(str(part) for part in loc) or "setting"


class _FlatSource(PydanticBaseSettingsSource):
    """`QA_<FLAT NAME>` variables (case-insensitive), folded into sections.

    pydantic-settings' own env source maps variables to nested fields only through a
    delimiter (`QA_RETRIEVAL__TOP_K`); the flat names predate the sections and stay the
    public ones, so this small source maps them instead."""

    def __init__(self, settings_cls: type[BaseSettings], variables: Mapping[str, str | None]):
        super().__init__(settings_cls)
        self._values: dict[str, str] = {}
        for key, value in variables.items():
            name = key.lower().removeprefix(ENV_PREFIX.lower())
            if key.upper().startswith(ENV_PREFIX) and name in FLAT and value is not None:
                self._values[name] = value

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ returns every value at once

    def __call__(self) -> dict[str, Any]:
        return fold(self._values)


class _FoldedInit(PydanticBaseSettingsSource):
    """Keywords given to `Settings(...)`, flat names folded into sections like the env's, so
    that a keyword wins over the environment field by field."""

    def __init__(self, settings_cls: type[BaseSettings], init: InitSettingsSource):
        super().__init__(settings_cls)
        self._init = init

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        return fold(self._init())


class Settings(BaseSettings):
    """Every setting: the corpus, the four sections, and logging."""

    model_config = SettingsConfigDict(extra="forbid")

    # the corpus indexed when there is no index yet
    corpus: Path = Path("seeds")
    index: IndexConfig = Field(default_factory=IndexConfig)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    answering: AnsweringSettings = Field(default_factory=AnsweringSettings)
    ui: UISettings = Field(default_factory=UISettings)

    debug: bool = False
    # What the product logs to stderr (standard `logging`; one logger per module): WARNING
    # says only what went wrong behind a one-line message, INFO what each step did, DEBUG
    # more. `qa --verbose` is INFO.
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keywords, then the environment, then `.env` (in the folder the command runs in)."""
        assert isinstance(init_settings, InitSettingsSource)
        dotenv = dotenv_values(ENV_FILE) if Path(ENV_FILE).is_file() else {}
        return (
            _FoldedInit(settings_cls, init_settings),
            _FlatSource(settings_cls, os.environ),
            _FlatSource(settings_cls, dotenv),
        )

    @field_validator("corpus", mode="before")
    @classmethod
    def _not_empty(cls, value: Any) -> Any:
        """An empty value (`QA_CORPUS=`) would mean the current folder."""
        if isinstance(value, str) and not value.strip():
            raise ValueError("is empty: name a folder, or unset it for the default")
        return value

    def configure_logging(self) -> None:
        """Send the product's own log records to stderr at `log_level`. Libraries' loggers
        are left as they are (some set themselves to DEBUG and would flood stderr)."""
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        for name in ("qa", "index", "ui", "evals"):
            logger = logging.getLogger(name)
            logger.handlers = [handler]
            logger.setLevel(self.log_level)
            logger.propagate = False

    def with_overrides(self, **overrides: Any) -> Settings:
        """Flags and keywords (flat names) win over the environment; one left unset (None)
        changes nothing. Each is checked like the setting it overrides."""
        given = fold({k: v for k, v in overrides.items() if v is not None})
        if not given:
            return self
        merged = self.model_dump()
        for key, value in given.items():
            if key in SECTIONS:
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
        return self.model_validate(merged)
