"""The index's own configuration: a plain model, the `index` section of `qa.settings`, so
that this package never reads the environment itself."""

import re
from pathlib import Path
from typing import Any

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, field_validator

LOCAL_MINILM = "local/all-MiniLM-L6-v2-int8"
_COLLECTION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,510}[A-Za-z0-9]")


def default_data_dir() -> Path:
    """Per user (the platform's data folder, ~/.local/share/qa-over-sources on Linux), so an
    index built once answers `qa ask` from any folder."""
    return Path(platformdirs.user_data_dir("qa-over-sources", appauthor=False))


class IndexConfig(BaseModel):
    """Where the index lives and how it is built."""

    model_config = ConfigDict(extra="forbid")

    data_dir: Path = Field(default_factory=default_data_dir)
    chroma_url: str | None = None
    collection: str = "qa-sources"
    embed_model: str = LOCAL_MINILM
    embed_api_base: str | None = None
    embed_api_key: str | None = None
    chunk_size: int = Field(default=200, ge=16, le=8192)
    embed_batch_size: int = Field(default=32, ge=1, le=1024)
    # Pages read from one PDF: a 1 KB file can declare a million (`index.formats.pdf`).
    max_pdf_pages: int = Field(default=3000, ge=1, le=1_000_000)

    @field_validator("data_dir", mode="before")
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

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"
