"""Encoders: the backends that turn text into unit vectors, behind one small interface.

Three variants of the same model: "torch" (sentence-transformers on PyTorch, fp32), and
"onnx-fp32" and "onnx-int8" (ONNX Runtime; the model is exported on first use and cached,
see qa.encoders.onnx_export). `make_encoder` builds one; nothing heavy is imported before that.

Example:
    >>> from qa.embedding import resolve_model
    >>> from qa.encoders import make_encoder
    >>> encoder = make_encoder(resolve_model("all-MiniLM-L6-v2"), "onnx-fp32")
    >>> encoder.encode(["How many troops stay?"], batch_size=32).shape
    (1, 384)
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

import numpy as np

log = logging.getLogger("qa")

ENCODERS = ("torch", "onnx-fp32", "onnx-int8")


class Encoder(Protocol):
    """What the Embedder needs of a backend."""

    variant: str  # one of ENCODERS
    dimension: int
    max_length: int  # word pieces the model reads, its special tokens included

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces in each text, without the special tokens the model adds."""
        ...

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        ...


def usable_variant(path: str, variant: str, device: str = "cpu") -> str:
    """`variant`, or "torch" (with the reason logged) where ONNX cannot serve this model.

    Example:
        >>> usable_variant("/no/such/model", "onnx-int8")
        'torch'
    """
    if variant == "torch":
        return variant
    from qa.encoders.onnx_export import unsupported

    reason = "ONNX Runtime runs on the CPU only" if device != "cpu" else unsupported(path)
    if reason is None:
        return variant
    log.warning("encoder %s cannot serve %s (%s); using torch", variant, path, reason)
    return "torch"


def make_encoder(path: str, variant: str, device: str = "cpu") -> Encoder:
    """The encoder of the model in `path` (a local folder or a cached model name) for `variant`,
    which `usable_variant` has checked.

    Example:
        >>> from qa.embedding import resolve_model
        >>> make_encoder(resolve_model("all-MiniLM-L6-v2"), "onnx-int8").variant
        'onnx-int8'
    """
    if variant == "torch":
        from qa.encoders.torch import TorchEncoder

        return TorchEncoder(path, device)
    from qa.encoders.onnx import OnnxEncoder

    return OnnxEncoder(path, variant)
