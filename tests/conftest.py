"""Shared fixtures: the real model (loaded once per session) and real indexes on disk."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from qa import QA, Settings
from qa.embedding import Embedder

ROOT = Path(__file__).resolve().parent.parent
SEED_SOURCES = ROOT / "sources"
# Docstring examples that load PyTorch (7 s): in the whole suite, not the fast tier.
SLOW_DOCTESTS = {"qa.encoders.torch"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if isinstance(item, pytest.DoctestItem) and item.name in SLOW_DOCTESTS:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return Embedder()


@pytest.fixture()
def seed_dir(tmp_path: Path) -> Path:
    """A private copy of the seed articles, so tests can add, change and delete files."""
    target = tmp_path / "sources"
    shutil.copytree(SEED_SOURCES, target)
    return target


@pytest.fixture()
def make_qa(embedder: Embedder, tmp_path: Path):
    """Open a QA over a folder with a fresh index folder in tmp_path; rescans on every ask."""

    def make(sources: Path, index: Path | None = None, **settings) -> QA:
        config = Settings(rescan_seconds=0.0, update_wait_seconds=600.0, **settings)
        return QA(sources, index or tmp_path / "index", settings=config, embedder=embedder)

    return make


@pytest.fixture(scope="session")
def seed_qa(embedder: Embedder, tmp_path_factory: pytest.TempPathFactory) -> QA:
    """One QA over an untouched copy of the seed articles, shared by read-only tests."""
    base = tmp_path_factory.mktemp("seed")
    shutil.copytree(SEED_SOURCES, base / "sources")
    return QA(base / "sources", base / "index", embedder=embedder)
