"""The one settings object. Read once (environment variables prefixed `QA_`, then a `.env`
file if present); command-line flags override it through `Settings.with_overrides`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from index import IndexConfig
from index.config import LOCAL_MINILM


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QA_", env_file=".env", extra="ignore")

    # the corpus and the index
    corpus: Path = Path("seeds")
    data_dir: Path = Path(".qa-data")
    chroma_url: str | None = None
    collection: str = "qa-sources"
    embed_model: str = LOCAL_MINILM
    embed_api_base: str | None = None
    embed_api_key: str | None = None
    chunk_size: int = Field(default=200, ge=16, le=8192)

    # answering
    top_k: int = Field(default=8, ge=1, le=50)
    llm_model: str | None = None
    llm_api_base: str | None = None
    llm_api_key: str | None = None
    llm_timeout: float = Field(default=30.0, gt=0)

    # the chat page
    host: str = "127.0.0.1"
    port: int = Field(default=7860, ge=0, le=65535)
    auth: str | None = None  # "user:password", required to bind a non-loopback address

    debug: bool = False

    def with_overrides(self, **overrides: Any) -> Settings:
        """Flags win over the environment; a flag left unset (None) changes nothing."""
        given = {k: v for k, v in overrides.items() if v is not None}
        return self.model_copy(update=given) if given else self

    def index_config(self) -> IndexConfig:
        return IndexConfig(
            data_dir=self.data_dir,
            chroma_url=self.chroma_url,
            collection=self.collection,
            embed_model=self.embed_model,
            embed_api_base=self.embed_api_base,
            embed_api_key=self.embed_api_key,
            chunk_size=self.chunk_size,
        )
