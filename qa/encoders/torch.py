"""The PyTorch encoder: the model as sentence-transformers loads it, in fp32.

Example:
    >>> from qa.embedding import resolve_model
    >>> from qa.encoders.torch import TorchEncoder
    >>> TorchEncoder(resolve_model("all-MiniLM-L6-v2")).encode(["How many troops stay?"], 32).shape
    (1, 384)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from qa.errors import ModelError


class TorchEncoder:
    """A SentenceTransformer (torch is imported when one is made)."""

    variant = "torch"

    def __init__(self, path: str, device: str = "cpu") -> None:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # the weight-loading bar is noise to a user
        self.model = SentenceTransformer(path, device=device)
        dimension = self.model.get_embedding_dimension()
        if not dimension:
            raise ModelError(f"model {path!r} does not say its embedding dimension")
        self.dimension = int(dimension)
        self.max_length = int(self.model.max_seq_length)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces in each text, without the special tokens the model adds."""
        encoded = self.model.tokenizer(list(texts), add_special_tokens=False, truncation=False, verbose=False)
        return [len(ids) for ids in encoded["input_ids"]]

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        return self.model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True,
                                 convert_to_numpy=True)
