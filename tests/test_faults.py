"""Faults and bad input: each ends in a clear message and an intact, answering collection.

Bad source files (undecodable, binary, empty, huge, duplicated, symlinked out, vanishing or
changing while the index is built) and a damaged, unwritable or killed index. Nothing here
is mocked: the real model embeds, files really change on disk, and a real `qa index`
process is killed with SIGKILL.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from helpers import KURDISTAN, TROMSO, TROMSO_QUESTION

from qa import QA, IndexReport, IndexStoreError, Settings
from qa.embedding import Embedder
from qa.indexing import update_index
from qa.stores.local import load_store
from qa.stores.manifest import CURRENT, current_generation
from qa.stores.segments import DOCUMENTS

SEED_SOURCES = Path(__file__).resolve().parent.parent / "sources"

SEED_FILES = ("us-military-presence-in-iraq-post-withdrawal.txt", "us-to-withdraw-most-troops-from-iraq.txt")

LIGHTHOUSE = """Lighthouse keeper retires after forty years

The keeper of the Skarvøy lighthouse, Ingrid Halvorsen, retired on Friday after 41 years of service.
She said the hardest winter was 1987, when the supply boat could not land for nine weeks.
"""


# ---------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def built_seed_index(embedder: Embedder, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of the seed articles, built once for the module."""
    index = tmp_path_factory.mktemp("seed-index") / "index"
    update(SEED_SOURCES, index, embedder)
    return index


@pytest.fixture()
def index(built_seed_index: Path, tmp_path: Path) -> Path:
    """A private copy of the seed index, in step with the `seed_dir` copy of the articles."""
    target = tmp_path / "index"
    shutil.copytree(built_seed_index, target)
    return target


def update(sources: Path, index: Path, embedder: Embedder, **settings: object) -> IndexReport:
    """One real index update, without a console progress bar."""
    return update_index(sources, index, embedder, Settings(**settings), progress=lambda *_: None)


def message_for(report: IndexReport, name: str) -> str:
    """The one skip message about `name`; it must start with the file's name."""
    found = [m for m in report.skipped if m.startswith(f"{name}:")]
    assert len(found) == 1, f"expected one message about {name} in {report.skipped}"
    return found[0]


def assert_seed_answers(sources: Path, index: Path, embedder: Embedder) -> QA:
    """Open the collection and check that the seed's Kurdistan question is still answered."""
    settings = Settings(rescan_seconds=0.0, update_wait_seconds=600.0)
    qa = QA(sources, index, settings=settings, embedder=embedder, progress=lambda *_: None)
    answer = qa.ask(KURDISTAN)
    assert answer.answered and "Kurdistan" in answer.passages[0].highlight
    return qa


def sources_in(index: Path) -> set[str]:
    return {d.source for d in load_store(index).documents}


class MeddlingEmbedder(Embedder):
    """The real embedder that, the first time the indexer calls `when`, runs `meddle`.

    `count_tokens` is first called while the first changed file is chunked, before later
    files are read; `encode` runs after every file was read, before anything is written.
    """

    def __init__(self, real: Embedder, when: str, meddle: Callable[[], None]) -> None:
        self.__dict__.update(real.__dict__)
        self._when, self._meddle = when, meddle

    def _fire(self, name: str) -> None:
        if name == self._when:
            self._when = ""
            self._meddle()

    def count_tokens(self, texts: list[str]) -> list[int]:
        self._fire("count_tokens")
        return super().count_tokens(texts)

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        self._fire("encode")
        return super().encode(texts, batch_size)


# ---------------------------------------------------------------- bad source files


@pytest.mark.parametrize("name, data", [
    ("cafe.txt", TROMSO.replace("Tromsø", "Troms\xf8").encode("cp1252")),
    ("cafe.md", ("# " + TROMSO).encode("cp1252")),
    ("cafe.html", f"<h1>Tromsø trial</h1><p>{TROMSO.splitlines()[2]}</p>".encode("cp1252")),
])
def test_non_utf8_text_is_decoded_with_a_warning_naming_the_file(seed_dir: Path, index: Path, embedder: Embedder,
                                                                 name: str, data: bytes) -> None:
    (seed_dir / name).write_bytes(data)
    report = update(seed_dir, index, embedder)
    assert report.added == (name,)
    assert f"{name}: not UTF-8; read as Windows-1252 (cp1252); offsets refer to the text as decoded" in report.warnings
    assert f"warning: {name}: not UTF-8; read as Windows-1252" in str(report)
    doc = next(d for d in load_store(index).documents if d.source == name)
    assert "\ufffd" not in doc.text and "Tromsø painted 17 purple zebra crossings" in doc.text
    qa = assert_seed_answers(seed_dir, index, embedder)
    assert qa.ask("How many purple zebra crossings were painted?").passages[0].source == name


def test_utf16_text_with_a_byte_order_mark_is_decoded(seed_dir: Path, index: Path, embedder: Embedder) -> None:
    (seed_dir / "notepad.txt").write_bytes(TROMSO.encode("utf-16"))
    report = update(seed_dir, index, embedder)
    assert report.added == ("notepad.txt",)
    doc = next(d for d in load_store(index).documents if d.source == "notepad.txt")
    assert "17 purple zebra crossings" in doc.text


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00\x1f\xf3\xffa"


@pytest.mark.parametrize("name, data", [
    ("photo.txt", PNG + bytes(range(256)) * 8),
    ("archive.md", gzip.compress(TROMSO.encode() * 50, mtime=0)),
    ("page.html", b"<html>" + bytes(range(256)) + b"</html>"),
])
def test_binary_files_renamed_to_text_are_skipped(seed_dir: Path, index: Path, embedder: Embedder,
                                                  name: str, data: bytes) -> None:
    (seed_dir / name).write_bytes(data)
    report = update(seed_dir, index, embedder)
    assert message_for(report, name) == f"{name}: looks like a binary file, not text; skipped"
    assert not report.changed_anything and sources_in(index) == set(SEED_FILES)
    assert_seed_answers(seed_dir, index, embedder)


@pytest.mark.parametrize("name, data, reason", [
    ("empty.txt", b"", "empty file"),
    ("blank.md", b" \n\n\t\r\n\xc2\xa0\n", "empty file"),
    ("bom-only.txt", b"\xef\xbb\xbf", "empty file"),
    ("empty.html", b"", "empty file"),
    ("scripts-only.html", b"<html><head><title>T</title></head><body><script>var x;</script></body></html>",
     "no visible text in this HTML page"),
])
def test_empty_files_are_skipped(seed_dir: Path, index: Path, embedder: Embedder, name: str, data: bytes,
                                 reason: str) -> None:
    (seed_dir / name).write_bytes(data)
    report = update(seed_dir, index, embedder)
    assert message_for(report, name) == f"{name}: {reason}; skipped"
    assert sources_in(index) == set(SEED_FILES)


def test_a_file_over_the_size_limit_is_skipped_unread(seed_dir: Path, index: Path, embedder: Embedder) -> None:
    huge = seed_dir / "huge.txt"
    limit = Settings().max_file_bytes
    with huge.open("wb") as fh:  # sparse: 50 MB + 1 byte on paper, almost nothing on disk
        fh.write(TROMSO.encode())
        fh.truncate(limit + 1)
    assert huge.stat().st_size == limit + 1
    start = time.perf_counter()
    report = update(seed_dir, index, embedder)
    assert time.perf_counter() - start < 5.0, "the file must be skipped by its size, not read"
    assert message_for(report, "huge.txt") == "huge.txt: larger than 50 MB; skipped"
    assert sources_in(index) == set(SEED_FILES)


def test_a_duplicate_file_is_skipped_naming_the_first(seed_dir: Path, index: Path, embedder: Embedder) -> None:
    original = SEED_FILES[0]
    shutil.copyfile(seed_dir / original, seed_dir / "zz-copy.txt")
    report = update(seed_dir, index, embedder)
    assert message_for(report, "zz-copy.txt") == f"zz-copy.txt: same content as {original}; skipped"
    assert report.embedded == 0 and sources_in(index) == set(SEED_FILES)

    (seed_dir / original).unlink()  # the copy takes over when the original goes
    report = update(seed_dir, index, embedder)
    assert report.added == ("zz-copy.txt",) and report.removed == (original,) and not report.skipped


def test_an_indexed_file_keeps_its_place_when_a_copy_appears(seed_dir: Path, index: Path, embedder: Embedder) -> None:
    original = SEED_FILES[1]
    shutil.copyfile(seed_dir / original, seed_dir / "aa-copy.txt")
    report = update(seed_dir, index, embedder)
    assert message_for(report, "aa-copy.txt") == f"aa-copy.txt: same content as {original}; skipped"
    assert not report.changed_anything and sources_in(index) == set(SEED_FILES)


def test_symlinks_that_leave_the_sources_folder_are_ignored(seed_dir: Path, index: Path, tmp_path: Path,
                                                           embedder: Embedder) -> None:
    outside = tmp_path / "outside"
    (outside / "folder").mkdir(parents=True)
    (outside / "secret.txt").write_text(TROMSO, encoding="utf-8")
    (outside / "folder" / "inner.txt").write_text(LIGHTHOUSE, encoding="utf-8")
    (seed_dir / "secret.txt").symlink_to(outside / "secret.txt")
    (seed_dir / "dangling.txt").symlink_to(outside / "gone.txt")
    (seed_dir / "folder").symlink_to(outside / "folder", target_is_directory=True)
    report = update(seed_dir, index, embedder)
    for name in ("secret.txt", "dangling.txt"):
        assert message_for(report, name) == f"{name}: symlink to a file outside the sources folder; ignored"
    assert not report.changed_anything and sources_in(index) == set(SEED_FILES)
    qa = assert_seed_answers(seed_dir, index, embedder)
    assert not qa.ask(TROMSO_QUESTION).answered


def test_a_symlink_loop_is_skipped_with_a_message(seed_dir: Path, index: Path, embedder: Embedder) -> None:
    (seed_dir / "loop.txt").symlink_to(seed_dir / "loop.txt")
    report = update(seed_dir, index, embedder)
    assert "loop" in message_for(report, "loop.txt")
    assert sources_in(index) == set(SEED_FILES)


def test_a_file_that_vanishes_before_it_is_read_is_skipped(seed_dir: Path, index: Path, embedder: Embedder) -> None:
    (seed_dir / "a-first.txt").write_text(TROMSO, encoding="utf-8")
    doomed = seed_dir / "zz-vanishes.txt"
    doomed.write_text(LIGHTHOUSE, encoding="utf-8")
    report = update(seed_dir, index, MeddlingEmbedder(embedder, "count_tokens", doomed.unlink))
    expected = "zz-vanishes.txt: cannot be read (No such file or directory); skipped"
    assert message_for(report, "zz-vanishes.txt") == expected
    assert report.added == ("a-first.txt",)
    assert sources_in(index) == {*SEED_FILES, "a-first.txt"}
    assert not update(seed_dir, index, embedder).changed_anything


def test_a_file_that_vanishes_while_embedding_is_dropped_next_time(seed_dir: Path, index: Path,
                                                                  embedder: Embedder) -> None:
    doomed = seed_dir / "lighthouse.txt"
    doomed.write_text(LIGHTHOUSE, encoding="utf-8")
    report = update(seed_dir, index, MeddlingEmbedder(embedder, "encode", doomed.unlink))
    assert report.added == ("lighthouse.txt",)  # it was read whole before it went
    assert "lighthouse.txt" in sources_in(index)
    assert update(seed_dir, index, embedder).removed == ("lighthouse.txt",)
    assert_seed_answers(seed_dir, index, embedder)


def test_a_file_that_changes_while_embedding_is_indexed_as_read_then_updated(seed_dir: Path, index: Path,
                                                                            embedder: Embedder) -> None:
    news = seed_dir / "news.txt"
    news.write_text(LIGHTHOUSE, encoding="utf-8")
    rewrite = MeddlingEmbedder(embedder, "encode", lambda: news.write_text(TROMSO, encoding="utf-8"))
    first = update(seed_dir, index, rewrite)
    assert first.added == ("news.txt",)
    stored = next(d for d in load_store(index).documents if d.source == "news.txt")
    assert stored.text == LIGHTHOUSE and stored.hash == hashlib.sha256(LIGHTHOUSE.encode()).hexdigest()

    assert update(seed_dir, index, embedder).changed == ("news.txt",)
    qa = assert_seed_answers(seed_dir, index, embedder)
    best = qa.ask(TROMSO_QUESTION).passages[0]
    assert best.source == "news.txt" and news.read_text(encoding="utf-8")[best.start : best.end] == best.text


def test_a_file_that_grows_past_the_limit_before_it_is_read_is_skipped(seed_dir: Path, index: Path,
                                                                      embedder: Embedder) -> None:
    (seed_dir / "a-first.txt").write_text(TROMSO, encoding="utf-8")
    growing = seed_dir / "zz-grows.txt"
    growing.write_text(LIGHTHOUSE, encoding="utf-8")
    limit = 4096

    def grow() -> None:
        with growing.open("r+b") as fh:
            fh.truncate(limit + 1)

    report = update(seed_dir, index, MeddlingEmbedder(embedder, "count_tokens", grow), max_file_bytes=limit)
    assert message_for(report, "zz-grows.txt") == f"zz-grows.txt: larger than {limit} bytes; skipped"
    assert sources_in(index) == {*SEED_FILES, "a-first.txt"}


@contextlib.contextmanager
def rewritten_in_a_loop(path: Path, versions: list[str]) -> Iterator[None]:
    """A thread rewriting `path` in place, version after version, for as long as the block runs
    (the file exists before the block starts)."""
    path.write_text(versions[0], encoding="utf-8")
    stop = threading.Event()

    def flip() -> None:
        n = 0
        while not stop.is_set():
            path.write_text(versions[n % len(versions)], encoding="utf-8")
            n += 1

    thread = threading.Thread(target=flip, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def test_a_file_rewritten_during_indexing_is_never_stored_torn(seed_dir: Path, index: Path, embedder: Embedder) -> None:
    """Whatever moment a read lands on, the stored text is exactly the bytes its hash names."""
    flipping = seed_dir / "flipping.txt"
    with rewritten_in_a_loop(flipping, [TROMSO, LIGHTHOUSE * 3]):
        for _ in range(6):
            report = update(seed_dir, index, embedder)
            skipped = [m for m in report.skipped if m.startswith("flipping.txt:")]
            store = load_store(index)
            if skipped:
                assert skipped[0] in {"flipping.txt: changed while it was being read; it will be indexed next time",
                                      "flipping.txt: empty file; skipped"}
            doc = store.document("flipping.txt")
            assert skipped or doc is not None, "each build stores the file whole or says why not"
            if doc is not None:
                assert hashlib.sha256(doc.text.encode()).hexdigest() == doc.hash
    flipping.write_text(TROMSO, encoding="utf-8")
    update(seed_dir, index, embedder)
    qa = assert_seed_answers(seed_dir, index, embedder)
    assert qa.ask(TROMSO_QUESTION).passages[0].source == "flipping.txt"


# ---------------------------------------------------------------- the index


def test_a_missing_passage_store_is_reported_and_rebuilt(seed_dir: Path, index: Path, embedder: Embedder) -> None:
    assert current_generation(index) is not None
    (index / load_store(index).segments[0].name / DOCUMENTS).unlink()
    with pytest.raises(IndexStoreError, match=f"missing {DOCUMENTS}"):
        load_store(index)
    qa = assert_seed_answers(seed_dir, index, embedder)
    assert qa.last_report.rebuilt and DOCUMENTS in qa.last_report.rebuilt
    assert sources_in(index) == set(SEED_FILES)


@contextlib.contextmanager
def unwritable(folder: Path) -> Iterator[None]:
    """Make `folder` refuse new entries for this process, by a mechanism that binds root too.

    chmod is enough for an ordinary user; root ignores permission bits (CAP_DAC_OVERRIDE),
    so as root the folder is made immutable (chattr +i, which needs CAP_LINUX_IMMUTABLE
    and an ext2/3/4, xfs or btrfs folder). The test is skipped only if neither works.
    """
    if os.geteuid() != 0:
        folder.chmod(0o555)
        undo = ["chmod", "755", str(folder)]
    else:
        chattr = shutil.which("chattr")
        made = subprocess.run([chattr, "+i", str(folder)], capture_output=True, text=True) if chattr else None
        if made is None or made.returncode != 0:
            why = made.stderr.strip() if made else "no chattr command"
            pytest.skip(f"running as root, where chmod does not stop writes, and chattr +i is unavailable ({why})")
        undo = ["chattr", "-i", str(folder)]
    try:
        assert not os.access(folder, os.W_OK)
        with pytest.raises(PermissionError):
            (folder / "probe").touch()
        yield
    finally:
        subprocess.run(undo, check=True)


def test_an_unwritable_index_folder_keeps_answering_from_the_index_as_it_was(seed_dir: Path, index: Path,
                                                                             embedder: Embedder) -> None:
    before = current_generation(index)
    (seed_dir / "tromso.txt").write_text(TROMSO, encoding="utf-8")
    with unwritable(index):
        qa = assert_seed_answers(seed_dir, index, embedder)
        assert qa.last_report.stale and "not writable" in qa.last_report.stale
        assert f"index not updated: the index folder {index} is not writable" in str(qa.last_report)
        assert current_generation(index) == before and "tromso.txt" not in sources_in(index)
        assert all(p.source != "tromso.txt" for p in qa.ask(TROMSO_QUESTION).passages)
    assert update(seed_dir, index, embedder).added == ("tromso.txt",)
    assert_seed_answers(seed_dir, index, embedder)


def test_an_open_collection_catches_up_once_the_index_folder_is_writable_again(seed_dir: Path, index: Path,
                                                                               embedder: Embedder) -> None:
    (seed_dir / "tromso.txt").write_text(TROMSO, encoding="utf-8")
    with unwritable(index):
        qa = assert_seed_answers(seed_dir, index, embedder)
        assert qa.last_report.stale
    answer = qa.ask(TROMSO_QUESTION)
    assert answer.answered and answer.passages[0].source == "tromso.txt"


def write_articles(folder: Path, count: int) -> None:
    """`count` made-up harbour reports, each a few passages long with one fact of its own."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        port = f"Port Vell{i:03d}"
        lines = [f"Harbour report for {port}", ""]
        lines += [f"The harbour of {port} handled {100 + 7 * i + j} container ships in week {j + 1}, "
                  f"the harbour master said, after dredging work on quay {j % 5 + 1} was finished in time."
                  for j in range(14)]
        lines.append(f"The new crane at {port} is named after the engineer Alma Ruud{i}.")
        (folder / f"harbour-{i:03d}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_killed_index_update_leaves_the_previous_index_answering(seed_dir: Path, index: Path, tmp_path: Path,
                                                                   embedder: Embedder) -> None:
    before = current_generation(index)
    write_articles(seed_dir, 16)
    (seed_dir / "zz-empty.txt").write_bytes(b"")  # its "skipped" line marks the end of reading
    command = [sys.executable, "-m", "qa.cli", "index", "--sources", str(seed_dir), "--index", str(index)]
    child = subprocess.Popen(command, cwd=tmp_path, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        assert child.stderr is not None
        lines = []
        for line in child.stderr:  # embedding starts right after the skipped files are logged
            lines.append(line)
            if "skipped zz-empty.txt" in line:
                break
        assert lines and "skipped zz-empty.txt" in lines[-1], "".join(lines)
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL
    assert current_generation(index) == before
    assert not list(index.glob(".gen-*")), "killed while embedding, before the new generation was written"
    assert (index / CURRENT).read_text(encoding="utf-8").strip() == before.name

    seed_only = tmp_path / "seed-only"
    shutil.copytree(SEED_SOURCES, seed_only)
    untouched = assert_seed_answers(seed_only, index, embedder)
    assert not untouched.last_report.changed_anything and untouched.last_report.unchanged == 2

    report = update(seed_dir, index, embedder)
    assert len(report.added) == 16 and report.unchanged == 2 and not report.rebuilt
    qa = assert_seed_answers(seed_dir, index, embedder)
    answer = qa.ask("Which engineer is the new crane at Port Vell007 named after?")
    assert answer.passages[0].source == "harbour-007.txt" and "Alma Ruud7" in answer.passages[0].highlight
