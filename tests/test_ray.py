"""`qa index --ray`: a build on a local Ray gives the index an in-process build gives, and an
update embeds only what changed; without Ray installed, one line says what to install."""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from qa.embedding import Embedder
from qa.indexing import update_index
from qa.indexing_ray import update_index_on_ray
from qa.stores import locate
from qa.stores.local import load_store

pytestmark = pytest.mark.slow  # a local Ray cluster, or a subprocess

ROOT = Path(__file__).resolve().parent.parent
SEED_SOURCES = ROOT / "sources"

WORDS = " ".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "eval" / "articles").iterdir())).split()


def write_articles(folder: Path, count: int, seed: int = 3) -> None:
    """`count` articles of shuffled real words, about 12 passages each."""
    rng = random.Random(seed)
    for n in range(count):
        paragraphs = [" ".join(" ".join(rng.choice(WORDS) for _ in range(rng.randint(12, 28))).capitalize() + "."
                               for _ in range(4)) for _ in range(10)]
        text = f"Generated report {n}\n\n" + "\n\n".join(paragraphs) + "\n"
        (folder / f"generated-{n:02d}.txt").write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    import ray

    ray.init(num_cpus=2, include_dashboard=False, logging_level="warning")
    yield
    ray.shutdown()


def assert_same_index(expected: Path, actual: Path) -> None:
    """The same documents and passages, and vectors equal to float32 rounding."""
    a, b = load_store(expected), load_store(actual)
    assert list(a.documents) == list(b.documents)
    ids = [d.passage_id(i) for d in a.documents for i in range(len(d.passages))]
    assert np.allclose(a.vectors(ids), b.vectors(ids), atol=1e-5)
    assert a.info == b.info


def test_a_ray_build_and_update_match_the_in_process_ones(local_ray: None, embedder: Embedder, tmp_path: Path) -> None:
    sources = tmp_path / "sources"
    shutil.copytree(SEED_SOURCES, sources)
    write_articles(sources, 22)
    here, there = tmp_path / "in-process", tmp_path / "on-ray"

    built = update_index(sources, here, embedder)
    on_ray = update_index_on_ray(sources, there, embedder)
    assert 150 <= on_ray.passages <= 300
    assert str(on_ray) == str(built)
    assert_same_index(here, there)

    (sources / "generated-00.txt").unlink()
    changed = sources / "generated-01.txt"
    changed.write_text(changed.read_text(encoding="utf-8") + "\nOne more sentence closes the report.\n", encoding="utf-8")
    write_articles(sources, 1, seed=4)  # a new generated-00.txt
    (sources / "generated-00.txt").rename(sources / "added.txt")
    (sources / "broken.pdf").write_bytes(b"not a pdf")

    updated = update_index(sources, here, embedder)
    on_ray = update_index_on_ray(sources, there, embedder)
    assert on_ray.added == ("added.txt",) and on_ray.changed == ("generated-01.txt",)
    assert on_ray.removed == ("generated-00.txt",) and on_ray.unchanged == 22
    assert on_ray.embedded == sum(len(d.passages) for d in load_store(there).documents
                                  if d.source in {"added.txt", "generated-01.txt"})
    assert any(s.startswith("broken.pdf") for s in on_ray.skipped)
    assert str(on_ray) == str(updated)
    assert_same_index(here, there)

    again = update_index_on_ray(sources, there, embedder)
    assert not again.changed_anything and again.embedded == 0


def test_a_ray_build_writes_to_qdrant_in_batches(local_ray: None, embedder: Embedder, tmp_path: Path) -> None:
    pytest.importorskip("qdrant_client")
    update_index(SEED_SOURCES, tmp_path / "local", embedder)
    index = f"qdrant+file:{tmp_path / 'qdrant'}"
    report = update_index_on_ray(SEED_SOURCES, index, embedder, apply_passages=3)  # an apply per document
    assert report.documents == 2 and report.embedded == report.passages > 3
    expected, actual = load_store(tmp_path / "local"), locate(index).open()
    assert sorted(actual.documents, key=lambda d: d.source) == list(expected.documents)
    ids = [d.passage_id(i) for d in expected.documents for i in range(len(d.passages))]
    assert np.allclose(expected.vectors(ids), actual.vectors(ids), atol=1e-5)


def test_without_ray_the_error_says_what_to_install(tmp_path: Path) -> None:
    # Ray blocked from import: the condition of an install without the `cluster` extra.
    code = ("import sys; sys.modules['ray'] = None\n"
            "from qa.cli import main\n"
            f"sys.exit(main(['index', '--ray', '--sources', {str(SEED_SOURCES)!r}, '--index', {str(tmp_path / 'index')!r}]))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert run.stderr.strip() == 'qa: error: qa index --ray needs Ray, which is not installed: pip install -e ".[cluster]"'
    assert not (tmp_path / "index").exists()
