"""The index's own configuration: a plain model, filled in by `qa.settings`, so that this
package never reads the environment itself."""

from pathlib import Path

import platformdirs
from pydantic import BaseModel, Field

LOCAL_MINILM = "local/all-MiniLM-L6-v2-int8"


def default_data_dir() -> Path:
    """Per user (the platform's data folder, ~/.local/share/qa-over-sources on Linux), so an
    index built once answers `qa ask` from any folder."""
    return Path(platformdirs.user_data_dir("qa-over-sources", appauthor=False))


class IndexConfig(BaseModel):
    """Where the index lives and how it is built."""

    data_dir: Path = Field(default_factory=default_data_dir)
    chroma_url: str | None = None
    collection: str = "qa-sources"
    embed_model: str = LOCAL_MINILM
    embed_api_base: str | None = None
    embed_api_key: str | None = None
    chunk_size: int = Field(default=200, ge=16, le=8192)
    embed_batch_size: int = Field(default=32, ge=1, le=1024)

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"
