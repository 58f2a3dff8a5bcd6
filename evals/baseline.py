"""The stock llama-index pipeline, scored on the same questions in the same run: documents
from `SimpleDirectoryReader`, the default `SentenceSplitter`, a `VectorStoreIndex` over
Chroma with the same embedding model, top-k retrieval. It answers nothing; it is the
reference for retrieval recall and latency."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from evals.datasets import GoldQuestion
from evals.metrics import percentile


def _lines_of(text: str, start: int | None, end: int | None) -> range:
    if start is None or end is None:
        return range(0)
    first = text.count("\n", 0, start) + 1
    last = text.count("\n", 0, max(start, end - 1)) + 1
    return range(first, last + 1)


def evaluate_baseline(
    corpus: Path,
    questions: list[GoldQuestion],
    *,
    top_k: int = 5,
    on_progress: Callable[[int], None] | None = None,
) -> dict[str, float]:
    """Retrieval recall@1/@5 (a gold line inside the first 1 / 5 retrieved chunks) and
    retrieval latency. Chunks span many lines, so this is a generous reading of recall."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from llama_index.core import SimpleDirectoryReader, StorageContext, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.vector_stores.chroma import ChromaVectorStore

    from index.embeddings import OnnxMiniLMEmbedding

    embed = OnnxMiniLMEmbedding()
    with tempfile.TemporaryDirectory(prefix="qa-baseline-") as scratch:
        client = chromadb.PersistentClient(
            path=scratch, settings=ChromaSettings(anonymized_telemetry=False)
        )
        collection = client.create_collection(
            "baseline", configuration={"hnsw": {"space": "cosine"}}
        )
        docs = SimpleDirectoryReader(
            str(corpus), recursive=True, required_exts=[".txt", ".md"], filename_as_id=True
        ).load_data(show_progress=False)
        texts: dict[str, str] = {}
        for doc in docs:
            source = Path(doc.metadata["file_path"]).resolve().relative_to(corpus.resolve())
            doc.metadata["source"] = source.as_posix()
            texts[source.as_posix()] = doc.text
        storage = StorageContext.from_defaults(vector_store=ChromaVectorStore(collection))
        started = time.perf_counter()
        index = VectorStoreIndex.from_documents(
            docs, storage_context=storage, embed_model=embed, transformations=[SentenceSplitter()]
        )
        build_s = time.perf_counter() - started
        retriever = index.as_retriever(similarity_top_k=top_k)
        at1: list[float] = []
        at5: list[float] = []
        latencies: list[float] = []
        spans: list[int] = []
        for q in questions:
            started = time.perf_counter()
            nodes = retriever.retrieve(q.retrieval_query())
            latencies.append((time.perf_counter() - started) * 1000)
            if q.answerable:
                gold = {(c.source, n) for c in q.citations for n in c.lines}
                ranks = [
                    {
                        (n.metadata["source"], line)
                        for line in _lines_of(
                            texts[n.metadata["source"]],
                            getattr(n.node, "start_char_idx", None),
                            getattr(n.node, "end_char_idx", None),
                        )
                    }
                    for n in nodes
                ]
                spans.extend(len(r) for r in ranks)
                at1.append(1.0 if ranks and gold & ranks[0] else 0.0)
                at5.append(1.0 if any(gold & r for r in ranks[:5]) else 0.0)
            if on_progress:
                on_progress(1)
    return {
        "retrieval_recall_at_1": sum(at1) / len(at1) if at1 else 0.0,
        "retrieval_recall_at_5": sum(at5) / len(at5) if at5 else 0.0,
        "retrieval_p50_ms": percentile(latencies, 50),
        "retrieval_p95_ms": percentile(latencies, 95),
        "index_build_s": build_s,
        # How many lines one retrieved chunk covers: recall over big chunks is cheap.
        "lines_per_chunk": sum(spans) / len(spans) if spans else 0.0,
    }
