"""The index follows the sources folder: only changed files are embedded; damage is rebuilt."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest
from helpers import TROMSO, TROMSO_QUESTION

from qa import QA, Settings
from qa.embedding import Embedder
from qa.indexing import update_index
from qa.stores.local import load_store
from qa.stores.manifest import CURRENT, MANIFEST, current_generation
from qa.stores.segments import DENSE, DOCUMENTS, TERMS


class CountingEmbedder(Embedder):
    """The real embedder, counting the passages it embeds."""

    def __init__(self, real: Embedder) -> None:
        self.__dict__.update(real.__dict__)
        self.encoded = 0

    def encode(self, texts, batch_size=32):
        self.encoded += len(texts)
        return super().encode(texts, batch_size)


@pytest.fixture()
def counting(embedder: Embedder) -> CountingEmbedder:
    return CountingEmbedder(embedder)


def _passages_per_source(index: Path) -> dict[str, int]:
    return {d.source: len(d.passages) for d in load_store(index).documents}


def test_only_changed_files_are_embedded(seed_dir: Path, tmp_path: Path, counting: CountingEmbedder) -> None:
    index = tmp_path / "index"
    first = update_index(seed_dir, index, counting)
    total = sum(_passages_per_source(index).values())
    assert counting.encoded == first.embedded == total > 0
    assert len(first.added) == 2

    counting.encoded = 0
    again = update_index(seed_dir, index, counting)
    assert counting.encoded == 0 and not again.changed_anything and again.unchanged == 2

    (seed_dir / "new.txt").write_text(TROMSO, encoding="utf-8")
    added = update_index(seed_dir, index, counting)
    assert added.added == ("new.txt",)
    assert counting.encoded == _passages_per_source(index)["new.txt"]

    counting.encoded = 0
    target = seed_dir / "us-to-withdraw-most-troops-from-iraq.txt"
    target.write_text(target.read_text(encoding="utf-8") + "\nA final sentence was added to the article.\n", encoding="utf-8")
    changed = update_index(seed_dir, index, counting)
    assert changed.changed == ("us-to-withdraw-most-troops-from-iraq.txt",)
    assert counting.encoded == _passages_per_source(index)["us-to-withdraw-most-troops-from-iraq.txt"]

    counting.encoded = 0
    (seed_dir / "new.txt").unlink()
    removed = update_index(seed_dir, index, counting)
    assert removed.removed == ("new.txt",) and counting.encoded == 0
    assert "new.txt" not in _passages_per_source(index)


def test_touching_a_file_without_changing_it_embeds_nothing(seed_dir: Path, tmp_path: Path, counting: CountingEmbedder) -> None:
    update_index(seed_dir, tmp_path / "index", counting)
    counting.encoded = 0
    os.utime(seed_dir / "us-to-withdraw-most-troops-from-iraq.txt")
    report = update_index(seed_dir, tmp_path / "index", counting)
    assert counting.encoded == 0 and not report.changed_anything


def test_a_question_notices_new_files(seed_dir: Path, make_qa) -> None:
    qa: QA = make_qa(seed_dir)
    assert not qa.ask(TROMSO_QUESTION).answered
    (seed_dir / "tromso.txt").write_text(TROMSO, encoding="utf-8")
    answer = qa.ask(TROMSO_QUESTION)
    assert answer.answered and answer.passages[0].source == "tromso.txt"
    assert "17 purple zebra crossings" in answer.passages[0].highlight
    (seed_dir / "tromso.txt").unlink()
    assert all(p.source != "tromso.txt" for p in qa.ask("purple zebra crossings Tromsø").passages)


@pytest.mark.parametrize("damage", ["truncate-dense", "corrupt-documents", "delete-bm25", "garbage-manifest", "bad-pointer"])
def test_damaged_index_is_detected_and_rebuilt(seed_dir: Path, tmp_path: Path, embedder: Embedder, damage: str,
                                               caplog: pytest.LogCaptureFixture) -> None:
    index = tmp_path / "index"
    update_index(seed_dir, index, embedder)
    gen = current_generation(index)
    assert gen is not None
    segment = index / load_store(index).segments[0].name
    if damage == "truncate-dense":
        data = (segment / DENSE).read_bytes()
        (segment / DENSE).write_bytes(data[: len(data) // 2])
    elif damage == "corrupt-documents":
        raw = bytearray((segment / DOCUMENTS).read_bytes())
        raw[100:110] = b"XXXXXXXXXX"
        (segment / DOCUMENTS).write_bytes(bytes(raw))
    elif damage == "delete-bm25":
        for f in (segment / TERMS).iterdir():
            f.unlink()
            break
    elif damage == "garbage-manifest":
        (gen / MANIFEST).write_text("{not json", encoding="utf-8")
    else:
        (index / CURRENT).write_text("gen-999999\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="qa"):
        qa = QA(seed_dir, index, embedder=embedder)
    assert qa.last_report.rebuilt and "could not be used" in qa.last_report.rebuilt
    assert any("rebuilding" in r.message for r in caplog.records)
    answer = qa.ask("how many troops stay in Kurdistan?")
    assert answer.answered and "Kurdistan" in answer.passages[0].highlight
    load_store(index)  # and the rebuilt index verifies


def test_changed_settings_rebuild_with_a_reason(seed_dir: Path, tmp_path: Path, embedder: Embedder) -> None:
    index = tmp_path / "index"
    QA(seed_dir, index, embedder=embedder)
    qa = QA(seed_dir, index, settings=Settings(max_passage_tokens=100), embedder=embedder)
    assert "chunking settings changed" in (qa.last_report.rebuilt or "")
    manifest = json.loads((current_generation(index) / MANIFEST).read_text())
    assert manifest["chunking"]["max_passage_tokens"] == 100
    assert manifest["model"] == embedder.name and manifest["dimension"] == 384
    assert {d.source for d in load_store(index).documents} == {p.name for p in seed_dir.iterdir()}


def test_a_manifest_from_another_model_means_a_rebuild(seed_dir: Path, tmp_path: Path, embedder: Embedder) -> None:
    index = tmp_path / "index"
    update_index(seed_dir, index, embedder)
    path = current_generation(index) / MANIFEST
    manifest = json.loads(path.read_text())
    manifest["model"], manifest["dimension"] = "some-other-model", 768
    path.write_text(json.dumps(manifest))
    report = update_index(seed_dir, index, embedder)
    assert "some-other-model" in (report.rebuilt or "")
    assert load_store(index).manifest.model == embedder.name


def test_failed_write_leaves_the_previous_index_usable(seed_dir: Path, tmp_path: Path, embedder: Embedder,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    index = tmp_path / "index"
    update_index(seed_dir, index, embedder)
    before = current_generation(index)
    (seed_dir / "tromso.txt").write_text(TROMSO, encoding="utf-8")

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("killed mid-write")

    monkeypatch.setattr("qa.stores.segments.fsync_tree", crash)
    with pytest.raises(KeyboardInterrupt):
        update_index(seed_dir, index, embedder)
    monkeypatch.undo()
    assert current_generation(index) == before
    assert "tromso.txt" not in {d.source for d in load_store(index).documents}
    assert update_index(seed_dir, index, embedder).added == ("tromso.txt",)
