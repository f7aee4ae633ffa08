"""The generation files of a local index: its manifest, the CURRENT pointer, and switching between them.

Layout of the index folder:

    index/
      CURRENT            name of the generation in use, e.g. "gen-000003"
      gen-000003/
        manifest.json    model, encoder, dimension, chunking settings, and the segments in use:
                         each one's files with their checksums, and the documents deleted
                         from it since it was written (a small file: nothing per document)
      seg-000001/        immutable segments (qa.stores.segments): documents, vectors, terms
      seg-000004/

A new generation is written into a temporary folder, renamed into place and only then made
current by renaming a new CURRENT over the old one: a crash at any point leaves the previous
generation in use. Kept apart from the backend (`qa.stores.local`) so that what is on disk,
and the order it is written in, is read in one place.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> from qa.stores.manifest import Manifest, read_manifest, switch_generation
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     switch_generation(Path(tmp), Manifest("all-MiniLM-L6-v2", 384, {"max_words": 120}, passages=0))
    ...     print((Path(tmp) / "CURRENT").read_text().strip(), read_manifest(Path(tmp)).dimension)
    gen-000001 384
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from qa.durable import fsync_file
from qa.errors import IndexStoreError
from qa.stores.base import IndexInfo

FORMAT_VERSION = 2
CURRENT = "CURRENT"
MANIFEST = "manifest.json"
_SEGMENT = re.compile(r"^\.?seg-(\d+)")


@dataclass(frozen=True)
class Manifest:
    """What an index was built from and with; a mismatch with the settings means a rebuild."""

    model: str
    dimension: int
    chunking: dict[str, int]
    passages: int  # live passages
    # Each segment in use: {"name", "files": {path: sha256}, "deleted": [sources]}.
    segments: list[dict] = field(default_factory=list)
    format: int = FORMAT_VERSION
    encoder: str = "torch"  # the backend that embedded it (qa.encoders)

    @property
    def info(self) -> IndexInfo:
        return IndexInfo(self.model, self.dimension, self.encoder, self.chunking)


_MANIFEST_FIELDS = {f.name for f in fields(Manifest)}


def next_segment(folder: Path) -> str:
    """The name of the next segment to write in an index folder (after every one there, finished or not)."""
    numbers = [int(m.group(1)) for p in folder.iterdir() if (m := _SEGMENT.match(p.name))]
    return f"seg-{max(numbers, default=0) + 1:06d}"


def current_generation(index_dir: Path) -> Path | None:
    """The folder of the generation in use, or None when there is no index yet."""
    pointer = index_dir / CURRENT
    if not pointer.is_file():
        return None
    name = pointer.read_text(encoding="utf-8").strip()
    folder = index_dir / name
    if not name.startswith("gen-") or not folder.is_dir():
        raise IndexStoreError(f"{pointer} names a missing generation {name!r}; run `qa index` to rebuild")
    return folder


def current_generation_safe(index_dir: Path) -> Path | None:
    """Like current_generation, but a broken pointer counts as no index (a rebuild follows)."""
    try:
        return current_generation(index_dir)
    except (IndexStoreError, OSError):
        gens = sorted(index_dir.glob("gen-*"))
        return gens[-1] if gens else None


def read_manifest(index_dir: Path) -> Manifest | None:
    """The manifest of the generation in use (None when there is no index)."""
    folder = current_generation(index_dir)
    return None if folder is None else read_generation(folder)


def read_generation(folder: Path) -> Manifest:
    """The manifest of one generation's folder; IndexStoreError when it is damaged or of another format."""
    try:
        raw = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexStoreError(f"index manifest in {folder} is damaged ({exc}); run `qa index` to rebuild") from exc
    if not isinstance(raw, dict) or raw.get("format") != FORMAT_VERSION:
        found = raw.get("format") if isinstance(raw, dict) else None
        raise IndexStoreError(f"index in {folder} has format {found}, this qa reads {FORMAT_VERSION}; it is rebuilt")
    try:  # fields an older or newer qa wrote and this one does not know are left aside
        return Manifest(**{k: v for k, v in raw.items() if k in _MANIFEST_FIELDS})
    except TypeError as exc:
        raise IndexStoreError(f"index manifest in {folder} is damaged ({exc}); run `qa index` to rebuild") from exc


def switch_generation(folder: Path, manifest: Manifest) -> None:
    """Write `manifest` as the next generation and make it current (atomically), then delete
    what no longer belongs to the index."""
    current = current_generation_safe(folder)
    name = f"gen-{int(current.name.split('-')[1]) + 1 if current else 1:06d}"
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=folder))
    try:
        (tmp / MANIFEST).write_text(json.dumps(asdict(manifest), indent=1), encoding="utf-8")
        fsync_file(tmp / MANIFEST)
        target = folder / name
        if target.exists():
            shutil.rmtree(target)
        os.rename(tmp, target)
        tmp = None
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    pointer_tmp = folder / f".{CURRENT}.tmp"
    pointer_tmp.write_text(name + "\n", encoding="utf-8")
    fsync_file(pointer_tmp)
    os.replace(pointer_tmp, folder / CURRENT)
    fsync_file(folder)  # the renames themselves survive a power cut
    _remove_unused(folder, name, {e["name"] for e in manifest.segments})


def _remove_unused(index_dir: Path, keep: str, segments: set[str]) -> None:
    """Delete superseded generations, segments no generation in use lists, and leftovers of
    interrupted writes."""
    for path in index_dir.iterdir():
        name = path.name
        stale_gen = name != keep and (name.startswith("gen-") or name.startswith(".gen-"))
        stale_seg = _SEGMENT.match(name) is not None and name not in segments
        if path.is_dir() and (stale_gen or stale_seg):
            shutil.rmtree(path, ignore_errors=True)
