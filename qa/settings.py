"""The one settings object. Read once (environment variables prefixed `QA_`, then a `.env`
file if present); command-line flags override it through `Settings.with_overrides`."""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from index import IndexConfig

MAX_TOP_K = 50  # lines one question may read: beyond this, reading costs more than it finds
_COLLECTION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,510}[A-Za-z0-9]")


class Settings(BaseSettings, IndexConfig):
    """Every setting, by concern: the index's own (`IndexConfig`, inherited, so they are
    defined once: data_dir, chroma_url, collection, embed_model, embed_api_base,
    embed_api_key, chunk_size, embed_batch_size), then the corpus, retrieval and
    answering, the LLM, the page, and logging."""

    model_config = SettingsConfigDict(env_prefix="QA_", env_file=".env", extra="ignore")

    # the corpus indexed when there is no index yet
    corpus: Path = Path("seeds")

    # retrieval and answering
    # How lines are ranked: dense and keyword rankings fused (hybrid), or one of them alone.
    retrieval: Literal["hybrid", "dense", "keyword"] = "hybrid"
    top_k: int = Field(default=8, ge=1, le=MAX_TOP_K)  # lines the reader reads
    # Lines shown to an LLM. More than the reader reads: a model reads a line
    # that words the question differently as easily as one that repeats it, and with 8
    # lines the line that states the answer was not shown for 3 of the 71 answerable gold
    # questions (bench/bench_reader_ceiling.py).
    llm_top_k: int = Field(default=16, ge=1, le=MAX_TOP_K)
    # The reader model's folder (reader.onnx, tokenizer.json, calibration.json); None: the
    # one that ships in the package. For trying a newly trained model.
    reader_dir: Path | None = None
    llm_model: str | None = None
    llm_api_base: str | None = None
    llm_api_key: str | None = None
    llm_timeout: float = Field(default=30.0, gt=0)

    # the chat page
    host: str = "127.0.0.1"
    port: int = Field(default=7860, ge=0, le=65535)
    auth: str | None = None  # "user:password", required to bind a non-loopback address
    upload_max_mb: int = Field(default=5, ge=1, le=50)  # per uploaded file
    # Questions the page answers at once; the rest wait in order. Answering is CPU-bound: on
    # 2 cores more than a few only slows every reply (docs/benchmarks.md).
    answers_at_once: int = Field(default=4, ge=1, le=64)

    debug: bool = False
    # What the product logs to stderr (standard `logging`; one logger per module): WARNING
    # says only what went wrong behind a one-line message, INFO what each step did, DEBUG
    # more. `qa --verbose` is INFO.
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"

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

    @field_validator("data_dir", "corpus", mode="before")
    @classmethod
    def _not_empty(cls, value: Any) -> Any:
        """An empty value (`QA_DATA_DIR=`) would mean the current folder: the index and its
        lock would land wherever the command happens to run."""
        if isinstance(value, str) and not value.strip():
            raise ValueError("is empty: name a folder, or unset it for the default")
        return value

    @field_validator("collection")
    @classmethod
    def _chroma_collection_name(cls, name: str) -> str:
        """Chroma's own rule, checked here so that a bad name is reported as a bad name and
        not as a damaged index."""
        if not _COLLECTION_NAME.fullmatch(name):
            raise ValueError(
                "use 3-512 letters, digits, '.', '_' or '-', starting and ending with a "
                "letter or digit"
            )
        return name

    def with_overrides(self, **overrides: Any) -> Settings:
        """Flags win over the environment; a flag left unset (None) changes nothing. A flag is
        checked like the setting it overrides."""
        given = {k: v for k, v in overrides.items() if v is not None}
        if not given:
            return self
        return self.model_validate({**self.model_dump(), **given})

    def index_config(self) -> IndexConfig:
        """The index's part of the settings, for `index` (which never reads settings)."""
        return IndexConfig(**self.model_dump(include=set(IndexConfig.model_fields)))
