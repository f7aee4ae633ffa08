"""The encoders: ONNX vectors match PyTorch's, tokens are counted alike, questions need no torch,
the export is cached and survives damage and kill -9, and a change of encoder re-embeds the index."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from qa import QA, ModelError, Settings
from qa.embedding import Embedder, resolve_model
from qa.encoders import usable_variant
from qa.encoders.onnx import OnnxEncoder
from qa.encoders.onnx_export import DIGEST_FILE, MODEL_FILE, cache_folder, cache_root
from qa.stores.local import load_store

ROOT = Path(__file__).resolve().parent.parent
MODEL_DIR = Path(resolve_model("all-MiniLM-L6-v2"))
QUESTIONS = ["how many troops stay in Kurdistan?", "Who is Iraq's defense minister?", "and in Syria?",
             "When will the coalition troops leave Iraq?", "What is Operation Inherent Resolve?"]


def _sentences() -> list[str]:
    """A few dozen real sentences from the seed articles, a whole article (past the model's
    window: truncated) and the questions."""
    texts = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "sources").glob("*.txt"))]
    sentences = [s.strip() for t in texts for s in re.split(r"(?<=[.?!])\s+", t) if len(s.strip()) > 20]
    return sentences[:40] + texts[:1] + QUESTIONS + ["Zürich’s café — naïve façade, 2,500 troops; 北京"]


@pytest.fixture(scope="session")
def torch_embedder() -> Embedder:
    return Embedder(encoder="torch")


@pytest.fixture(scope="session")
def torch_vectors(torch_embedder: Embedder) -> np.ndarray:
    return torch_embedder.encode(_sentences())


@pytest.mark.slow
@pytest.mark.parametrize(("variant", "least", "mean"), [("onnx-fp32", 0.9999, 0.9999), ("onnx-int8", 0.98, 0.99)])
def test_onnx_vectors_match_torch(variant: str, least: float, mean: float, torch_vectors: np.ndarray) -> None:
    onnx = Embedder(encoder=variant)
    vectors = onnx.encode(_sentences(), batch_size=8)
    assert vectors.dtype == np.float32 and vectors.shape == torch_vectors.shape
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosines = (vectors * torch_vectors).sum(axis=1)
    assert cosines.min() >= least and cosines.mean() >= mean, (cosines.min(), cosines.mean())
    # A question alone (one thread) gets the vector it gets in a batch (every core); int8 only
    # nearly, as dynamic quantisation scales activations by the range of the whole batch.
    alone = onnx.encode(QUESTIONS[:1])[0]
    assert float(alone @ vectors[_sentences().index(QUESTIONS[0])]) >= least


@pytest.mark.slow
def test_word_pieces_are_counted_and_cut_as_the_model_does(torch_embedder: Embedder) -> None:
    onnx = Embedder(encoder="onnx-int8")
    texts = [*_sentences(), "", "word " * 700]
    assert onnx.count_tokens(texts) == torch_embedder.count_tokens(texts)
    assert onnx.max_tokens == torch_embedder.max_tokens == 254 and onnx.dimension == torch_embedder.dimension
    st = torch_embedder.model.model
    expected = st.tokenize(texts)
    ours = onnx.model._tokenizer.encode_batch(texts)
    for row, encoding in enumerate(ours):
        width = int(expected["attention_mask"][row].sum())
        assert encoding.ids == expected["input_ids"][row][:width].tolist()


@pytest.mark.slow
def test_a_question_on_an_onnx_index_imports_no_torch(seed_dir: Path, tmp_path: Path) -> None:
    QA(seed_dir, tmp_path / "index", embedder=Embedder(encoder="onnx-int8"))
    script = ("import sys, json; from qa import QA; "
              f"a = QA({str(seed_dir)!r}, {str(tmp_path / 'index')!r}).ask('how many troops stay in Kurdistan?'); "
              "print(json.dumps([a.answered, sorted(m for m in ('torch', 'transformers', 'sentence_transformers') "
              "if m in sys.modules)]))")
    env = {**os.environ, "QA_ENCODER": "onnx-int8"}
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", script], capture_output=True, text=True,
                         env=env, timeout=120, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [True, []]
    imported = {line.split("|")[-1].strip() for line in out.stderr.splitlines() if line.startswith("import time:")}
    assert "onnxruntime" in imported and not {"torch", "sentence_transformers"} & imported


def test_changing_the_encoder_re_embeds_with_a_message(seed_dir: Path, tmp_path: Path, caplog) -> None:
    index = tmp_path / "index"
    QA(seed_dir, index, embedder=Embedder(encoder="onnx-int8"))
    assert load_store(index).manifest.encoder == "onnx-int8"
    caplog.set_level(logging.WARNING, logger="qa")
    qa = QA(seed_dir, index, embedder=Embedder(encoder="onnx-fp32"))
    assert "encoder 'onnx-int8', now 'onnx-fp32'" in (qa.last_report.rebuilt or "")
    assert any("rebuilding" in r.message for r in caplog.records)
    assert load_store(index).manifest.encoder == "onnx-fp32"
    assert qa.ask("how many troops stay in Kurdistan?").answered
    assert QA(seed_dir, index, embedder=Embedder(encoder="onnx-fp32")).last_report.rebuilt is None


def test_an_index_from_before_encoders_counts_as_torch(seed_dir: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    QA(seed_dir, index, embedder=Embedder(encoder="onnx-int8"))
    manifest_path = next(index.glob("gen-*")) / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    del manifest["encoder"]
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    assert load_store(index).manifest.encoder == "torch"
    qa = QA(seed_dir, index, embedder=Embedder(encoder="onnx-int8"))
    assert "encoder 'torch', now 'onnx-int8'" in (qa.last_report.rebuilt or "")


@pytest.mark.slow
def test_an_index_built_with_torch_is_re_embedded_for_onnx(seed_dir: Path, tmp_path: Path,
                                                          torch_embedder: Embedder) -> None:
    index = tmp_path / "index"
    QA(seed_dir, index, embedder=torch_embedder)
    assert load_store(index).manifest.encoder == "torch"
    qa = QA(seed_dir, index, embedder=Embedder(encoder="onnx-int8"))
    assert "encoder 'torch', now 'onnx-int8'" in (qa.last_report.rebuilt or "")
    assert load_store(index).manifest.encoder == "onnx-int8"


def test_the_encoder_comes_from_the_environment_and_is_checked(monkeypatch) -> None:
    monkeypatch.setenv("QA_ENCODER", "onnx-fp32")
    assert Embedder().encoder == Settings().encoder == "onnx-fp32"
    assert Embedder(encoder="torch").variant == "torch"
    # A resumed build reuses only vectors its own encoder made (qa.checkpoint keys on the label).
    assert Embedder(encoder="torch").label == "all-MiniLM-L6-v2 (torch)" != Embedder(encoder="onnx-int8").label
    with pytest.raises(ModelError, match="torch, onnx-fp32, onnx-int8"):
        Embedder(encoder="onnx-int4")


def test_a_model_onnx_cannot_serve_runs_on_torch(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    shutil.copytree(MODEL_DIR, folder, ignore=shutil.ignore_patterns("tokenizer.json", "*.safetensors"))
    assert usable_variant(str(folder), "onnx-int8") == "torch"
    assert usable_variant(str(MODEL_DIR), "onnx-int8") == "onnx-int8"
    assert usable_variant(str(MODEL_DIR), "onnx-int8", device="cuda") == "torch"


def test_a_cached_export_is_reused(tmp_path: Path, caplog) -> None:
    Embedder(encoder="onnx-int8").load()  # cached in the shared cache (exported there at most once)
    cached = cache_folder(MODEL_DIR, "onnx-int8", cache_root())
    copy = tmp_path / "cache"
    shutil.copytree(cached, cache_folder(MODEL_DIR, "onnx-int8", copy))
    before = (cache_folder(MODEL_DIR, "onnx-int8", copy) / MODEL_FILE).stat().st_mtime_ns
    caplog.set_level(logging.INFO, logger="qa")
    started = time.perf_counter()
    encoder = OnnxEncoder(str(MODEL_DIR), "onnx-int8", cache=copy)
    assert time.perf_counter() - started < 10
    assert not any("exporting" in r.message for r in caplog.records)
    assert (cache_folder(MODEL_DIR, "onnx-int8", copy) / MODEL_FILE).stat().st_mtime_ns == before
    assert encoder.encode(QUESTIONS, batch_size=32).shape == (len(QUESTIONS), 384)


@pytest.mark.slow
def test_a_killed_export_leaves_nothing_and_a_damaged_one_is_exported_again(tmp_path: Path, caplog) -> None:
    cache = tmp_path / "cache"
    target = cache_folder(MODEL_DIR, "onnx-int8", cache)
    script = ("import logging, sys; logging.basicConfig(level=logging.INFO); "
              "from pathlib import Path; from qa.encoders.onnx import OnnxEncoder; "
              f"OnnxEncoder({str(MODEL_DIR)!r}, 'onnx-int8', cache=Path({str(cache)!r}))")
    exporting = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE, text=True)
    assert exporting.stderr is not None
    for line in exporting.stderr:  # killed once the export is under way
        if "exporting" in line:
            time.sleep(3)
            break
    exporting.send_signal(signal.SIGKILL)
    exporting.wait()
    assert not target.exists() and any(cache.glob(f".{target.name}.*"))

    caplog.set_level(logging.INFO, logger="qa")
    OnnxEncoder(str(MODEL_DIR), "onnx-int8", cache=cache)
    assert target.is_dir() and not [p for p in cache.glob(f".{target.name}.*") if p.is_dir()]
    assert sum("exporting" in r.message for r in caplog.records) == 1

    model = target / MODEL_FILE
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte in the weights
    model.write_bytes(bytes(data))
    caplog.clear()
    encoder = OnnxEncoder(str(MODEL_DIR), "onnx-int8", cache=cache)
    assert any("damaged" in r.message for r in caplog.records)
    assert any("exporting" in r.message for r in caplog.records)
    assert (target / DIGEST_FILE).is_file() and model.read_bytes() != bytes(data)
    assert encoder.encode(QUESTIONS[:1], batch_size=32).shape == (1, 384)
