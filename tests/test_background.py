"""Indexing in the background: questions answered from the index on disk while an update runs,
a build killed with kill -9 resumed without embedding again what it had done, progress shown.

Real model, real index on disk, a real process killed mid-build.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qa import QA, Settings
from qa.checkpoint import CHECKPOINT, Checkpoint
from qa.embedding import Embedder
from qa.indexing import update_index
from qa.progress import IndexProgress
from qa.stores.local import Store

ROOT = Path(__file__).resolve().parent.parent
SEED_QUESTION = "how many troops stay in Kurdistan?"


def write_articles(folder: Path, count: int, seed: int = 7) -> None:
    """`count` distinct articles of a few paragraphs, made from the words of eval/articles."""
    words = " ".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "eval" / "articles").iterdir())).split()
    rng = random.Random(seed)
    for n in range(count):
        paragraphs = [" ".join(rng.choice(words) for _ in range(70)).capitalize() + "." for _ in range(4)]
        (folder / f"filler-{n:04d}.txt").write_text(f"Filler report {n}\n\n" + "\n\n".join(paragraphs), encoding="utf-8")


BUILD = """
import sys
from qa import QA, Settings
QA(sys.argv[1], sys.argv[2], settings=Settings(stream_passages=16),
   progress=lambda p: print(p.passages_done, p.passages_total, flush=True))
"""


@pytest.mark.slow
def test_a_build_killed_mid_way_resumes_and_the_old_index_answers_meanwhile(seed_dir: Path, tmp_path: Path,
                                                                           embedder: Embedder) -> None:
    index = tmp_path / "index"
    seed_passages = QA(seed_dir, index, embedder=embedder).status().passages  # the index users have been asking
    write_articles(seed_dir, 120)
    build = subprocess.Popen([sys.executable, "-c", BUILD, str(seed_dir), str(index)], stdout=subprocess.PIPE,
                             text=True, cwd=ROOT)
    assert build.stdout is not None
    for line in build.stdout:
        done, total = map(int, line.split())
        if done >= total / 2 and done > 0:
            break
    os.kill(build.pid, signal.SIGKILL)
    build.wait()
    saved = len(Checkpoint(index, embedder.label, embedder.dimension))
    assert saved >= 16, "the killed build saved what it had embedded"

    started = time.monotonic()
    qa = QA(seed_dir, index, embedder=embedder, wait=False)
    answer = qa.ask(SEED_QUESTION)
    assert qa.indexing and time.monotonic() - started < 30, "the old index answers while the build resumes"
    assert answer.answered and "Kurdistan" in answer.passages[0].text
    assert qa.wait(300)
    report = qa.last_report
    assert report is not None and report.resumed == saved, report
    assert report.embedded + report.resumed == report.passages - seed_passages, "only what was not done was embedded"
    assert report.added and len(report.added) == 120 and not (index / CHECKPOINT).exists()
    assert "kept from an interrupted build" in str(report)


@pytest.mark.slow
def test_questions_are_answered_while_an_update_runs(seed_dir: Path, tmp_path: Path, embedder: Embedder) -> None:
    index = tmp_path / "index"
    seen: list[IndexProgress] = []
    QA(seed_dir, index, embedder=embedder)
    write_articles(seed_dir, 40)
    qa = QA(seed_dir, index, embedder=embedder, wait=False, settings=Settings(stream_passages=8, rescan_seconds=0.0))
    answer = qa.ask(SEED_QUESTION)
    status = qa.status()
    assert answer.answered and status.indexing and str(status).startswith("Indexing")
    assert qa.wait(300)
    qa.update(progress=seen.append)  # nothing left to do: no progress to report
    assert not seen and "42 articles" in str(qa.status()) and "up to date" in str(qa.status())
    assert any(p.source.startswith("filler-") for p in qa.ask("Filler report 3", k=5).passages)


def test_progress_counts_passages_with_rate_and_time_left(seed_dir: Path, tmp_path: Path, embedder: Embedder) -> None:
    seen: list[IndexProgress] = []
    write_articles(seed_dir, 12)
    qa = QA(seed_dir, tmp_path / "index", embedder=embedder, settings=Settings(stream_passages=8), progress=seen.append)
    last = seen[-1]
    assert last.exact and last.files_done == last.files_total == 14
    assert last.passages_done == last.passages_total == qa.last_report.passages
    assert [p.passages_done for p in seen] == sorted(p.passages_done for p in seen)
    during = [p for p in seen if 0 < p.passages_done < last.passages_total]
    assert during and all(p.rate > 0 and p.seconds_left is not None for p in during)
    assert any(p.current and p.current.startswith("filler-") for p in seen)
    assert "passages/s" in str(during[-1]) and "left" in str(during[-1])


def test_a_big_files_passage_total_is_exact_while_it_is_embedded(tmp_path: Path, embedder: Embedder) -> None:
    sources = tmp_path / "sources"
    sources.mkdir()
    write_articles(sources, 30)
    body = "\n\n".join(f.read_text(encoding="utf-8") for f in sorted(sources.iterdir()))
    for f in sources.iterdir():
        f.unlink()
    (sources / "one-big-file.txt").write_text(body, encoding="utf-8")
    seen: list[IndexProgress] = []
    qa = QA(sources, tmp_path / "index", embedder=embedder, settings=Settings(stream_passages=8), progress=seen.append)
    embedding = [p for p in seen if p.passages_done > 0]
    assert embedding and {p.passages_total for p in embedding} == {qa.last_report.passages}
    assert all(p.exact for p in embedding)


def test_a_removed_article_goes_to_the_trash_and_stops_answering(seed_dir: Path, tmp_path: Path,
                                                               embedder: Embedder) -> None:
    qa = QA(seed_dir, tmp_path / "index", embedder=embedder)
    source = "us-military-presence-in-iraq-post-withdrawal.txt"
    moved = qa.remove(source)
    assert moved == seed_dir / ".trash" / source and moved.is_file() and not (seed_dir / source).exists()
    assert all(p.source != source for p in qa.ask(SEED_QUESTION, k=10).passages)
    assert source not in {d.source for d in qa.documents()}
    assert qa.wait(120) and source not in {d.source for d in qa.documents()}
    assert qa.last_report is not None and qa.last_report.removed == (source,)
    with pytest.raises(Exception, match="no article"):
        qa.remove(source)


def test_a_file_too_slow_to_read_is_skipped_and_what_was_done_answers_first(seed_dir: Path, tmp_path: Path,
                                                                           embedder: Embedder) -> None:
    with (seed_dir / "big.txt").open("w", encoding="utf-8") as fh:
        for n in range(20_000):
            fh.write(f"Paragraph {n} says the council met on Tuesday and voted on the budget again.\n\n")
    write_articles(seed_dir, 2)
    committed: list[Store] = []
    report = update_index(seed_dir, tmp_path / "index", embedder, Settings(max_read_seconds=0.5), lambda p: None,
                          on_commit=committed.append)
    assert "big.txt: took more than 0.5 s to read; skipped" in "\n".join(report.skipped)
    small = {"filler-0000.txt", "filler-0001.txt", *(p.name for p in ROOT.joinpath("sources").iterdir())}
    assert set(report.added) == small == {d.source for d in committed[-1].documents}
    first = {d.source for d in committed[0].documents}
    assert len(committed) == 2 and first == small, "the small files were written before the big one"
