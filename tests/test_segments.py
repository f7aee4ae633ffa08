"""Updates that cost what changed (qa.stores.local, qa.stores.merging): new segments, deletions marked, merges.

An update writes only its files' passages (a new segment) and marks what it removed or
replaced as deleted; answers must be the same as from an index built from scratch, before
and after a merge, and a writer killed mid-merge must leave the previous index answering.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from qa import QA, Settings
from qa.embedding import Embedder
from qa.stores.local import load_store
from qa.stores.manifest import current_generation
from qa.stores.merging import MAX_SEGMENTS, merge_due
from tests.helpers import KURDISTAN, TROMSO, TROMSO_QUESTION

QUESTIONS = (KURDISTAN, TROMSO_QUESTION, "Who is Iraq's defense minister?", "When will the troops leave?",
             "What is the best recipe for sourdough bread?")


def answers(qa: QA) -> list[tuple]:
    out = []
    for question in QUESTIONS:
        a = qa.ask(question, k=5)
        out.append((a.answered, [(p.source, p.start, p.end, p.score, p.highlight_start, p.also_in) for p in a.passages]))
    return out


def open_qa(sources: Path, index: Path, embedder: Embedder) -> QA:
    return QA(sources, index, settings=Settings(rescan_seconds=0.0, update_wait_seconds=600.0), embedder=embedder)


def harbours(folder: Path, count: int) -> None:
    """`count` short made-up harbour reports, so that one changed file is a small part of the collection."""
    for i in range(count):
        lines = [f"The harbour of Port Vell{i:02d} handled {100 + 7 * i + j} ships in week {j + 1}." for j in range(8)]
        (folder / f"harbour-{i:02d}.txt").write_text(f"Harbour report {i}\n\n" + "\n".join(lines) + "\n", encoding="utf-8")


def test_an_update_writes_only_what_changed_and_answers_as_a_fresh_build(seed_dir: Path, tmp_path: Path,
                                                                         embedder: Embedder) -> None:
    index = tmp_path / "index"
    harbours(seed_dir, 12)
    open_qa(seed_dir, index, embedder)
    first = load_store(index).segments[0].name
    changed = seed_dir / "harbour-03.txt"
    (seed_dir / "tromso.txt").write_text(TROMSO, encoding="utf-8")
    changed.write_text(changed.read_text(encoding="utf-8") + "\nThe embassy said 40 staff remain.\n", encoding="utf-8")
    qa = open_qa(seed_dir, index, embedder)
    store = load_store(index)
    assert store.segments[0].name == first, "the first segment is kept as it was, not rewritten"
    assert len(store.segments) == 2 and store.deleted[0] == {changed.name}
    assert (len(store.segments[1].documents), len(store)) == (2, sum(len(d.passages) for d in store.documents))
    fresh = open_qa(seed_dir, tmp_path / "fresh", embedder)
    assert len(load_store(tmp_path / "fresh").segments) == 1
    before = answers(qa)
    assert before == answers(fresh)
    merged = load_store(index).merge()
    assert len(merged.segments) == 1 and not merged.deleted[0] and len(merged) == len(store)
    assert sorted(p.name for p in index.iterdir() if p.name.startswith("seg-")) == [merged.segments[0].name]
    assert answers(open_qa(seed_dir, index, embedder)) == before


def test_a_deleted_file_goes_from_every_search_at_once(seed_dir: Path, tmp_path: Path, embedder: Embedder) -> None:
    (seed_dir / "tromso.txt").write_text(TROMSO, encoding="utf-8")
    qa = open_qa(seed_dir, tmp_path / "index", embedder)
    assert qa.ask(TROMSO_QUESTION).passages[0].source == "tromso.txt"
    (seed_dir / "tromso.txt").unlink()
    assert all(p.source != "tromso.txt" for p in qa.ask(TROMSO_QUESTION, k=10).passages)
    store = load_store(tmp_path / "index")
    assert store.deleted[0] == {"tromso.txt"} and store.document("tromso.txt") is None


@pytest.mark.parametrize(("sizes", "dead", "due"), [
    ([1000], [0], None),
    ([1000, 20, 30], [0, 0, 0], None),
    ([1000, 400, 200], [0, 0, 0], [0, 1, 2]),  # the small ones outgrew half the biggest: one segment again
    ([1000, 10], [400, 0], [0, 1]),  # a quarter of the biggest is deleted
    ([1000] + [10] * MAX_SEGMENTS, [0] * (MAX_SEGMENTS + 1), list(range(1, MAX_SEGMENTS // 2 + 3))),  # down to half the limit
])
def test_the_merge_policy(sizes: list[int], dead: list[int], due: list[int] | None) -> None:
    assert merge_due(sizes, dead) == due


MERGER = """
import sys, time
from pathlib import Path
import qa.stores.local as local, qa.stores.manifest as manifest, qa.stores.segments as segments
point = sys.argv[2]
def stall(*args):
    print("stalled", flush=True)
    time.sleep(600)
if point == "segment":  # the merged segment written, not yet renamed into place
    segments.fsync_tree = stall
else:  # the new generation written, CURRENT not yet switched
    original = manifest.fsync_file
    manifest.fsync_file = lambda path: stall() if path.name == ".CURRENT.tmp" else original(path)
local.load_store(sys.argv[1]).merge()
"""


@pytest.mark.parametrize("point", ["segment", "generation"])
def test_a_merge_killed_midway_leaves_the_index_answering(point: str, seed_dir: Path, tmp_path: Path,
                                                          embedder: Embedder) -> None:
    index = tmp_path / "index"
    open_qa(seed_dir, index, embedder)
    (seed_dir / "tromso.txt").write_text(TROMSO, encoding="utf-8")
    qa = open_qa(seed_dir, index, embedder)
    before, generation = answers(qa), current_generation(index)
    root = Path(__file__).resolve().parent.parent
    child = subprocess.Popen([sys.executable, "-c", MERGER, str(index), point], cwd=root, stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": str(root)})
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "stalled"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    assert current_generation(index) == generation
    assert len(load_store(index).segments) == 2
    again = open_qa(seed_dir, index, embedder)
    assert answers(again) == before
    time.sleep(0.01)
    (seed_dir / "more.txt").write_text("Harbour news\n\nThe harbour of Vell handled 431 ships in May.\n", encoding="utf-8")
    assert again.ask("How many ships did the harbour of Vell handle?").passages[0].source == "more.txt"
    assert not [p for p in index.iterdir() if p.name.startswith((".seg-", ".gen-"))], "leftovers are cleared"
    np.testing.assert_equal(len(load_store(index)), sum(len(d.passages) for d in load_store(index).documents))
