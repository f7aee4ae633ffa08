"""The ONNX Runtime encoder: the model exported once, its graph fused, int8 if asked, run without torch.

On first use the model is exported with torch (`torch.onnx.export` of the transformer with eager
attention), its graph fused by onnxruntime's BERT optimizer and, for "onnx-int8", its weights
quantised to int8 per channel (dynamic quantisation). The file is cached under
`$QA_CACHE_DIR/onnx/` (default `~/.cache/qa/onnx/`) in a folder named by the model, the variant
and a hash of the model's files and EXPORT_VERSION, with its sha256 beside it: a damaged file
is exported again. An export is built in a temporary folder that is renamed into place, under a
lock file, so processes exporting at once or a kill -9 mid-export never leave a broken model.

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

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import warnings
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import ModelError

log = logging.getLogger("qa")

# Bumped whenever the export changes, so that models cached by an older qa are exported again.
EXPORT_VERSION = 1
MODEL_FILE = "model.onnx"
DIGEST_FILE = "model.onnx.sha256"
# Calls with at most this many texts (a question) run on the caller's thread; bigger calls
# spread their batches over one worker per core.
ONE_THREAD_TEXTS = 4
# A question encoded while nothing else in the process is encoding uses this many threads (a
# news question: 4.6 against 8 ms p50 on two idle cores); while a build or another question is
# encoding, one, so that concurrent work never fights over the cores.
QUESTION_THREADS = 2


def cache_root() -> Path:
    """Where exported models are kept: `$QA_CACHE_DIR/onnx`, by default `~/.cache/qa/onnx`.

    Example:
        >>> cache_root().name
        'onnx'
    """
    return Path(os.environ.get("QA_CACHE_DIR") or Path.home() / ".cache" / "qa").expanduser() / "onnx"


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


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def unsupported(path: str) -> str | None:
    """Why the ONNX encoder cannot serve the model in `path`, or None when it can: it serves
    local BERT-style sentence-transformers folders with a tokenizer.json and mean pooling.

    Example:
        >>> unsupported("/no/such/model")
        'not a local folder'
    """
    folder = Path(path)
    if not folder.is_dir():
        return "not a local folder"
    if not (folder / "tokenizer.json").is_file():
        return "no tokenizer.json"
    if _json(folder / "config.json").get("model_type") != "bert":
        return "not a BERT model"
    modules = _json(folder / "modules.json")
    kinds = {str(m.get("type", "")).rsplit(".", 1)[-1]: str(m.get("path", "")) for m in modules or []}
    if "Pooling" not in kinds or set(kinds) - {"Transformer", "Pooling", "Normalize"}:
        return "modules other than a transformer, pooling and normalisation"
    pooling = _json(folder / kinds["Pooling"] / "config.json")
    if {k for k, v in pooling.items() if k.startswith("pooling_mode") and v} != {"pooling_mode_mean_tokens"}:
        return "pooling other than the mean of the tokens"
    return None


def max_length(folder: Path) -> int:
    """Word pieces the model reads (special tokens included), as sentence-transformers sets it.

    Example:
        >>> from qa.embedding import resolve_model
        >>> max_length(Path(resolve_model("all-MiniLM-L6-v2")))
        256
    """
    configured = _json(folder / "sentence_bert_config.json").get("max_seq_length")
    if configured:
        return int(configured)
    limits = [_json(folder / "tokenizer_config.json").get("model_max_length"),
              _json(folder / "config.json").get("max_position_embeddings")]
    return min(int(n) for n in limits if n)


def _fingerprint(folder: Path) -> str:
    """A hash of the model's files (names, sizes, modification times) and EXPORT_VERSION."""
    digest = hashlib.sha256(f"qa onnx export {EXPORT_VERSION}\n".encode())
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            stat = path.stat()
            digest.update(f"{path.relative_to(folder).as_posix()} {stat.st_size} {stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def cache_folder(model_dir: Path, variant: str, cache: Path | None = None) -> Path:
    """The cache folder of `variant` of the model in `model_dir`.

    Example:
        >>> cache_folder(Path("/m/minilm"), "onnx-int8", Path("/c")).name
        'm-minilm-onnx-int8-543c0c8563c56b23'
    """
    slug = re.sub(r"[^A-Za-z0-9._]+", "-", "-".join(model_dir.parts[-2:])).strip("-.")
    return (cache or cache_root()) / f"{slug}-{variant}-{_fingerprint(model_dir)}"


def cached_model(model_dir: Path, variant: str, cache: Path | None = None) -> Path:
    """The exported model's file, checked against its digest; exported first when it is not
    cached or is damaged. onnxruntime loads it by path: about 95 MB less resident memory for
    fp32 than loading from bytes.

    Example:
        >>> from qa.embedding import resolve_model
        >>> cached_model(Path(resolve_model("all-MiniLM-L6-v2")), "onnx-int8").stat().st_size > 10**6
        True
    """
    target = cache_folder(model_dir, variant, cache)
    model = _verified(target)
    if model is not None:
        return model
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with _locked(target.parent / f".{target.name}.lock"):
            model = _verified(target, remove_damaged=True)  # another process may have exported it meanwhile
            if model is None:
                _export_into(model_dir, variant, target)
                model = _verified(target)
    except OSError as exc:
        raise ModelError(f"cannot write the ONNX cache in {target.parent} ({exc.strerror or exc}); "
                         f"set QA_CACHE_DIR to a writable folder, or QA_ENCODER=torch") from exc
    if model is None:
        raise ModelError(f"the ONNX export of {model_dir} in {target} cannot be read back; "
                         f"check that the folder is writable, or set QA_ENCODER=torch")
    return model


def _verified(target: Path, remove_damaged: bool = False) -> Path | None:
    """The cached model's file if it matches its digest; None if missing or damaged."""
    if not target.is_dir():
        return None
    try:
        with (target / MODEL_FILE).open("rb") as fh:
            digest = hashlib.file_digest(fh, "sha256").hexdigest()
        if digest == (target / DIGEST_FILE).read_text(encoding="ascii").strip():
            return target / MODEL_FILE
    except (OSError, ValueError):
        pass
    if remove_damaged:
        log.warning("the cached ONNX model in %s is damaged; exporting it again", target)
        _remove(target)
    return None


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `path` (created if needed): one export at a time per model."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _remove(folder: Path) -> None:
    """Delete a folder by renaming it aside first, so no one sees it half deleted."""
    aside = folder.parent / f".{folder.name}.removed-{os.getpid()}"
    with contextlib.suppress(OSError):
        os.rename(folder, aside)
        shutil.rmtree(aside, ignore_errors=True)


def _export_into(model_dir: Path, variant: str, target: Path) -> None:
    """Export into a temporary folder beside `target`, then rename it into place (lock held)."""
    for leftover in target.parent.glob(f".{target.name}.*"):
        if leftover.is_dir():  # an export or removal that was killed
            shutil.rmtree(leftover, ignore_errors=True)
    log.warning("exporting %s to ONNX (%s), once (under a minute); cached in %s", model_dir, variant, target)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        try:
            exported = export(model_dir, variant, work / "export")
        except Exception as exc:  # torch, onnx and onnxruntime raise many kinds
            raise ModelError(f"cannot export {model_dir} to ONNX ({exc}); set QA_ENCODER=torch to use PyTorch") from exc
        os.replace(exported, work / MODEL_FILE)
        shutil.rmtree(work / "export")
        with (work / MODEL_FILE).open("rb") as fh:
            (work / DIGEST_FILE).write_text(hashlib.file_digest(fh, "sha256").hexdigest() + "\n", encoding="ascii")
        for path in (work / MODEL_FILE, work / DIGEST_FILE, work):
            _fsync(path)
        os.rename(work, target)
        _fsync(target.parent)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def export(model_dir: Path, variant: str, work: Path) -> Path:
    """Export the transformer in `model_dir` to ONNX files in `work`: fused, and quantised to
    int8 for "onnx-int8". Returns the final file. Needs torch, onnx and onnxruntime.

    Example (not run as a doctest: it exports the model, about 10 s; tests/test_embedding.py
    exports both variants and checks their vectors against torch's):
        >>> from qa.embedding import resolve_model
        >>> export(Path(resolve_model("all-MiniLM-L6-v2")), "onnx-int8", Path(tempfile.mkdtemp())).name  # doctest: +SKIP
        'int8.onnx'
    """
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers import optimizer
    from transformers import AutoModel
    from transformers.utils import logging as transformers_logging

    class Hidden(torch.nn.Module):
        """The transformer's last hidden states: what mean pooling reads."""

        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                    token_type_ids: torch.Tensor) -> torch.Tensor:
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    work.mkdir(parents=True, exist_ok=True)
    transformers_logging.disable_progress_bar()
    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()
    names = ["input_ids", "attention_mask", "token_type_ids"]
    sample = torch.ones((2, 8), dtype=torch.long)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about shapes: the axes are declared dynamic
        torch.onnx.export(Hidden(model), (sample, sample, torch.zeros_like(sample)), str(work / "raw.onnx"),
                          dynamo=False, opset_version=17, input_names=names, output_names=["hidden"],
                          dynamic_axes={name: {0: "batch", 1: "tokens"} for name in [*names, "hidden"]})
    fused = optimizer.optimize_model(str(work / "raw.onnx"), model_type="bert",
                                     num_heads=model.config.num_attention_heads, hidden_size=model.config.hidden_size)
    fused.save_model_to_file(str(work / "fp32.onnx"))
    if variant != "onnx-int8":
        return work / "fp32.onnx"
    quantize_dynamic(work / "fp32.onnx", work / "int8.onnx", per_channel=True, weight_type=QuantType.QInt8,
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    return work / "int8.onnx"


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
        self.dimension = int(_json(self.folder / "config.json")["hidden_size"])
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
