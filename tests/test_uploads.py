"""save_upload: a safe name in the sources folder, real validation, nothing written on refusal."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from pdfs import Report, add_paragraph
from PIL import Image

from qa import DocumentError, Settings
from qa.uploads import MAX_DOCUMENT_UPLOAD_BYTES, MAX_UPLOAD_BYTES, UPLOAD_LIMITS, safe_name, save_upload

ARTICLE = b"Zebra crossings in Tromso\n\nThe city of Tromso painted 17 purple zebra crossings in May.\n"


def listing(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


@pytest.mark.parametrize(("name", "expected"), [
    ("../../etc/passwd.txt", "passwd.txt"),
    ("/abs/path.txt", "path.txt"),
    ("..\\x.txt", "x.txt"),
    ("C:\\Users\\ana\\report.md", "report.md"),
    (".hidden.txt", "hidden.txt"),
    ("a\x00b\n.txt", "ab.txt"),
    ("<script>.html", "script_.html"),
    ("Zürich notes.txt", "Zürich notes.txt"),
])
def test_only_a_clean_basename_is_kept(name: str, expected: str) -> None:
    assert safe_name(name) == expected


@pytest.mark.parametrize("name", ["../../etc/passwd.txt", "/abs/path.txt", "..\\x.txt", "sub/dir/../../../up.txt"])
def test_traversal_names_land_in_the_sources_folder(tmp_path: Path, name: str) -> None:
    sources = tmp_path / "sources"
    sources.mkdir()
    saved = save_upload(sources, name, ARTICLE)
    assert saved.parent == sources and saved.read_bytes() == ARTICLE
    assert listing(tmp_path) == {"sources", f"sources/{saved.name}"}


@pytest.mark.parametrize(("name", "data", "message"), [
    ("photo.png", b"\x89PNG\r\n\x1a\n binary", "unsupported file type '.png'"),
    ("notes", b"plain words", "unsupported file type (no extension)"),
    ("empty.txt", b"", "empty"),
    ("blank.md", b"  \n\n\t ", "empty"),
    ("binary.txt", b"GIF89a\x00\x00\x01\x02" * 10, "binary"),
    ("nothing.html", b"<html><body><script>x()</script></body></html>", "no visible text"),
])
def test_unusable_files_are_refused_and_nothing_is_written(seed_dir: Path, name: str, data: bytes, message: str) -> None:
    before = listing(seed_dir)
    with pytest.raises(DocumentError, match="nothing was added") as refused:
        save_upload(seed_dir, name, data)
    assert message in str(refused.value)
    assert listing(seed_dir) == before


def photo_pdf(megabytes: float) -> bytes:
    """A one-page PDF of a sentence and a picture of noise (which does not compress): about `megabytes` MB."""
    side = int((megabytes * 1024 * 1024 / 3) ** 0.5)
    noise = Image.frombytes("RGB", (side, side), random.Random(3).randbytes(side * side * 3))
    pdf = Report()
    pdf.add_page()
    add_paragraph(pdf, "The survey photographed the whole north quay wall from the water in May.")
    pdf.image(noise, w=120)
    return bytes(pdf.output())


def test_each_type_has_its_upload_limit(seed_dir: Path) -> None:
    assert UPLOAD_LIMITS[".txt"] == UPLOAD_LIMITS[".html"] == MAX_UPLOAD_BYTES == 5 * 1024 * 1024
    assert UPLOAD_LIMITS[".pdf"] == UPLOAD_LIMITS[".docx"] == MAX_DOCUMENT_UPLOAD_BYTES == 50 * 1024 * 1024
    assert max(UPLOAD_LIMITS.values()) <= Settings().max_file_bytes, "the indexer reads every upload it was given"
    before = listing(seed_dir)
    with pytest.raises(DocumentError, match=r"^big\.txt: .* MB is over the .* upload limit for \.txt files"):
        save_upload(seed_dir, "big.txt", b"word " * 300, limits={".txt": 1000})
    with pytest.raises(DocumentError, match=r"^huge\.md: 5\.0 MB is over the 5 MB upload limit for \.md files"):
        save_upload(seed_dir, "huge.md", b"a" * (MAX_UPLOAD_BYTES + 1))
    with pytest.raises(DocumentError, match=r"^huge\.pdf: 50\.0 MB is over the 50 MB upload limit for \.pdf files"):
        save_upload(seed_dir, "huge.pdf", b"%PDF-1.7\n" + b"0" * MAX_DOCUMENT_UPLOAD_BYTES)
    assert listing(seed_dir) == before
    photos = photo_pdf(6)
    assert len(photos) > MAX_UPLOAD_BYTES
    saved = save_upload(seed_dir, "quay-photos.pdf", photos)
    assert saved.read_bytes() == photos, "a PDF may be larger than an article"


def test_same_content_as_an_existing_article_is_refused(seed_dir: Path) -> None:
    existing = seed_dir / "us-to-withdraw-most-troops-from-iraq.txt"
    before = listing(seed_dir)
    with pytest.raises(DocumentError, match="same content as us-to-withdraw-most-troops-from-iraq.txt"):
        save_upload(seed_dir, "copy.txt", existing.read_bytes())
    assert listing(seed_dir) == before


def test_a_taken_name_gets_a_new_name_and_nothing_is_overwritten(seed_dir: Path) -> None:
    taken = seed_dir / "us-to-withdraw-most-troops-from-iraq.txt"
    original = taken.read_bytes()
    first = save_upload(seed_dir, taken.name, ARTICLE)
    second = save_upload(seed_dir, taken.name, ARTICLE.replace(b"17", b"18"))
    assert first.name == "us-to-withdraw-most-troops-from-iraq-2.txt"
    assert second.name == "us-to-withdraw-most-troops-from-iraq-3.txt"
    assert taken.read_bytes() == original
    assert first.read_bytes() == ARTICLE


def test_a_saved_upload_is_indexed_and_answers(seed_dir: Path, make_qa) -> None:
    qa = make_qa(seed_dir)
    saved = save_upload(seed_dir, "../tromso.txt", ARTICLE)
    answer = qa.ask("How many purple zebra crossings did Tromso paint?")
    assert answer.answered and answer.passages[0].source == saved.name == "tromso.txt"
    assert "17 purple zebra crossings" in answer.passages[0].highlight


def test_the_sources_folder_must_exist(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="does not exist"):
        save_upload(tmp_path / "missing", "a.txt", ARTICLE)
