"""The ONNX Runtime encoder: the model's cached export (qa.encoders.onnx_export) run without torch.

Encoding needs only onnxruntime, tokenizers (the model's tokenizer.json) and numpy: word pieces
truncated to the model's window, mean pooling over the attention mask, L2 normalisation, as the
sentence-transformers model does.

Example:
    >>> from qa.embedding import resolve_model
    >>> from qa.encoders.onnx import OnnxEncoder
    >>> OnnxEncoder(resolve_model("all-MiniLM-L6-v2"), "onnx-int8").encode(["How many troops stay?"], 32).shape
    (1, 384)
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from qa.encoders.onnx_export import cached_model, max_length, read_json

# Calls with at most this many texts (a question) run on the caller's thread; bigger calls
# spread their batches over one worker per core.
ONE_THREAD_TEXTS = 4
# A question encoded while nothing else in the process is encoding uses this many threads (a
# news question: 4.6 against 8 ms p50 on two idle cores); while a build or another question is
# encoding, one, so that concurrent work never fights over the cores.
QUESTION_THREADS = 2


def build_workers() -> int:
    """Threads a build's batches run on: one per core this process may use, or as many as
    OMP_NUM_THREADS says where it says fewer (Ray sets it to the CPUs it gives an actor, so
    that the actors of `qa index --ray` do not oversubscribe a node's cores).

    Example:
        >>> 1 <= build_workers() <= len(os.sched_getaffinity(0))
        True
    """
    cores = len(os.sched_getaffinity(0))
    limit = os.environ.get("OMP_NUM_THREADS", "")
    return max(1, min(cores, int(limit))) if limit.isdigit() else cores


def _session(model: Path, threads: int) -> Any:
    """An onnxruntime session on `threads` threads that sleep rather than spin when idle."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])


def _mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Unit-length means of each row's hidden states over its real (unpadded) tokens."""
    summed = np.einsum("bth,bt->bh", hidden, mask.astype(np.float32))
    mean = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1).astype(np.float32)
    return mean / np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12)


class OnnxEncoder:
    """The model on onnxruntime; imports no torch once its export is cached."""

    def __init__(self, path: str, variant: str, cache: Path | None = None) -> None:
        from tokenizers import Tokenizer

        self.folder, self.variant, self.cache = Path(path), variant, cache
        self.max_length = max_length(self.folder)
        self.dimension = int(read_json(self.folder / "config.json")["hidden_size"])
        self._counter = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
        self._counter.no_truncation()
        self._counter.no_padding()
        self._tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(self.max_length)
        # A session on one thread serves builds and concurrent questions: a build's batches run on
        # one worker per core, each batch on one thread (10-20% more passages/s on two cores than
        # one batch at a time on two threads), and concurrent questions each keep a core. A
        # question alone gets a second session on QUESTION_THREADS threads (`_solo`, made on first
        # need: about 35 MiB). onnxruntime sessions are thread-safe.
        self._model = cached_model(self.folder, variant, cache)
        self._session = _session(self._model, 1)
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._solo: Any = None
        self._solo_threads = min(QUESTION_THREADS, len(os.sched_getaffinity(0)))
        self._running = 0  # encode calls in progress
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def _workers(self) -> ThreadPoolExecutor:
        """One worker per core this process may use, made on first need (builds)."""
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(build_workers(), thread_name_prefix="qa-encode")
        return self._pool

    def _pick_session(self, texts: int) -> Any:
        """The session for a call of `texts` texts: the many-threaded one for a question alone."""
        with self._lock:
            self._running += 1
            if texts > ONE_THREAD_TEXTS or self._running > 1 or self._solo_threads < 2:
                return self._session
            if self._solo is None:
                self._solo = _session(self._model, self._solo_threads)
            return self._solo

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces in each text, without the special tokens the model adds."""
        return [len(e.ids) for e in self._counter.encode_batch_fast(list(texts), add_special_tokens=False)]

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        """Unit-length float32 vectors, one row per text; texts of similar length are batched together."""
        encodings = self._tokenizer.encode_batch_fast(list(texts))
        order = np.argsort([-len(e.ids) for e in encodings], kind="stable")
        batches = [order[begin : begin + batch_size] for begin in range(0, len(order), batch_size)]
        session = self._pick_session(len(texts))
        try:
            return self._run(encodings, batches, session, len(texts) <= ONE_THREAD_TEXTS or len(batches) == 1)
        finally:
            with self._lock:
                self._running -= 1

    def _run(self, encodings: list, batches: list[np.ndarray], session: Any, here: bool) -> np.ndarray:
        """Vectors of the encoded texts, batch by batch: on this thread if `here`, else on the workers."""

        def run(rows: np.ndarray) -> np.ndarray:
            ids = np.zeros((len(rows), len(encodings[rows[0]].ids)), dtype=np.int64)
            mask = np.zeros_like(ids)
            for i, row in enumerate(rows):
                pieces = encodings[row].ids
                ids[i, : len(pieces)], mask[i, : len(pieces)] = pieces, 1
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            hidden = session.run(None, {k: v for k, v in feed.items() if k in self._inputs})[0]
            return _mean_pool(hidden, mask)

        out = np.empty((len(encodings), self.dimension), dtype=np.float32)
        mapped = map(run, batches) if here else self._workers().map(run, batches)
        for rows, vectors in zip(batches, mapped):
            out[rows] = vectors
        return out
