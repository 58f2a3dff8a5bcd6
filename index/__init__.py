"""Writes the index: loads source files, cuts them into line-addressed chunks, embeds them
and keeps them in Chroma. `qa` reads what this package writes; nothing here knows about
answering."""

from index import offline

offline.apply()

from index.config import IndexConfig  # noqa: E402
from index.errors import (  # noqa: E402
    CollectionMissingError,
    IndexError_,
    ModelMismatchError,
    StoreUnavailableError,
)
from index.ingest import IngestReport, ingest  # noqa: E402
from index.keywords import KeywordStore  # noqa: E402
from index.loaders import SUPPORTED  # noqa: E402
from index.store import (  # noqa: E402
    ChunkStore,
    StoredChunk,
    StoredLine,
    join_pieces,
    open_store,
    writer_busy,
)

__all__ = [
    "SUPPORTED",
    "ChunkStore",
    "CollectionMissingError",
    "IndexConfig",
    "IndexError_",
    "IngestReport",
    "KeywordStore",
    "ModelMismatchError",
    "StoreUnavailableError",
    "StoredChunk",
    "StoredLine",
    "ingest",
    "join_pieces",
    "open_store",
    "writer_busy",
]
