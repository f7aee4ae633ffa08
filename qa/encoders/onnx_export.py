"""The ONNX export of a sentence-transformers model, made once and cached.

On first use the model is exported with torch (`torch.onnx.export` of the transformer with eager
attention), its graph fused by onnxruntime's BERT optimizer and, for "onnx-int8", its weights
quantised to int8 per channel (dynamic quantisation). The file is cached under
`$QA_CACHE_DIR/onnx/` (default `~/.cache/qa/onnx/`) in a folder named by the model, the variant
and a hash of the model's files and EXPORT_VERSION, with its sha256 beside it: a damaged file
is exported again. An export is built in a temporary folder that is renamed into place, under a
lock file, so processes exporting at once or a kill -9 mid-export never leave a broken model.

Example:
    >>> from qa.embedding import resolve_model
    >>> cached_model(Path(resolve_model("all-MiniLM-L6-v2")), "onnx-fp32").name
    'model.onnx'
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
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from qa.durable import fsync_file, sha256
from qa.errors import ModelError

log = logging.getLogger("qa")

# Bumped whenever the export changes, so that models cached by an older qa are exported again.
EXPORT_VERSION = 1
MODEL_FILE = "model.onnx"
DIGEST_FILE = "model.onnx.sha256"


def cache_root() -> Path:
    """Where exported models are kept: `$QA_CACHE_DIR/onnx`, by default `~/.cache/qa/onnx`.

    Example:
        >>> cache_root().name
        'onnx'
    """
    return Path(os.environ.get("QA_CACHE_DIR") or Path.home() / ".cache" / "qa").expanduser() / "onnx"


def read_json(path: Path) -> Any:
    """A JSON file's value; {} for one that is missing or unreadable."""
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
    if read_json(folder / "config.json").get("model_type") != "bert":
        return "not a BERT model"
    modules = read_json(folder / "modules.json")
    kinds = {str(m.get("type", "")).rsplit(".", 1)[-1]: str(m.get("path", "")) for m in modules or []}
    if "Pooling" not in kinds or set(kinds) - {"Transformer", "Pooling", "Normalize"}:
        return "modules other than a transformer, pooling and normalisation"
    pooling = read_json(folder / kinds["Pooling"] / "config.json")
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
    configured = read_json(folder / "sentence_bert_config.json").get("max_seq_length")
    if configured:
        return int(configured)
    limits = [read_json(folder / "tokenizer_config.json").get("model_max_length"),
              read_json(folder / "config.json").get("max_position_embeddings")]
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
        if sha256(target / MODEL_FILE) == (target / DIGEST_FILE).read_text(encoding="ascii").strip():
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
        (work / DIGEST_FILE).write_text(sha256(work / MODEL_FILE) + "\n", encoding="ascii")
        for path in (work / MODEL_FILE, work / DIGEST_FILE, work):
            fsync_file(path)
        os.rename(work, target)
        fsync_file(target.parent)
    finally:
        shutil.rmtree(work, ignore_errors=True)


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
