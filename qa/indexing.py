"""Keep the index in step with the sources folder, re-embedding only what changed.

`update_index` scans the sources, compares each file's content hash with the one stored
for it in the index, loads, cleans and chunks the new and changed files, embeds only their
passages (in batches, while later files are still being read), carries the vectors of
unchanged files over, and writes a new generation of the index (see qa.store). A different model or different chunking settings, or a damaged index, means a
full rebuild, with a message saying why.

Example:
    >>> from qa.indexing import update_index
    >>> report = update_index("sources", "index", embedder)   # doctest: +SKIP
    >>> print(report)                                          # doctest: +SKIP
    2 documents, 8 passages (2 added, 0 changed, 0 removed, 0 unchanged); 8 passages embedded
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from qa.chunking import chunk
from qa.config import SUPPORTED_SUFFIXES, Settings
from qa.documents import Document, load_document
from qa.embedding import Embedder
from qa.errors import DocumentError, IndexStoreError, ModelError, SourcesError
from qa.lexical import terms
from qa.store import Manifest, Store, StoredDocument, load_store, read_manifest, write_store

log = logging.getLogger("qa")

# progress(stage, done, total): stage is "indexing"; done and total count source files.
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class IndexReport:
    """What an update did: files added, changed, removed and skipped, passages embedded."""

    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    unchanged: int = 0
    skipped: tuple[str, ...] = ()  # one message per file that was not indexed
    warnings: tuple[str, ...] = ()  # indexed, but with something to say (bad bytes replaced)
    embedded: int = 0  # passages embedded by this update
    passages: int = 0  # passages in the index afterwards
    documents: int = 0  # documents in the index afterwards
    rebuilt: str | None = None  # why the whole index was rebuilt, if it was
    stale: str | None = None  # why the index could not be brought up to date, if so

    @property
    def changed_anything(self) -> bool:
        return bool(self.added or self.changed or self.removed or self.rebuilt)

    def __str__(self) -> str:
        parts = [f"{len(self.added)} added", f"{len(self.changed)} changed", f"{len(self.removed)} removed",
                 f"{self.unchanged} unchanged"]
        lines = [f"{self.documents} documents, {self.passages} passages ({', '.join(parts)}); "
                 f"{self.embedded} passages embedded"]
        if self.rebuilt:
            lines.append(f"rebuilt the whole index: {self.rebuilt}")
        for label, names in (("added", self.added), ("changed", self.changed), ("removed", self.removed)):
            lines.extend(f"  {label}: {name}" for name in names)
        lines.extend(f"  skipped: {msg}" for msg in self.skipped)
        lines.extend(f"  warning: {msg}" for msg in self.warnings)
        if self.stale:
            lines.append(f"index not updated: {self.stale}")
        return "\n".join(lines)


@dataclass
class _Scan:
    files: dict[str, Path] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


def scan_sources(root: Path, settings: Settings) -> _Scan:
    """Supported files under root by relative POSIX path; others are reported as skipped.

    Hidden files and folders are ignored; so are symlinks that lead outside the folder.
    """
    if not root.exists():
        raise SourcesError(f"sources folder {root} does not exist; create it and put .txt, .md or .html files in it")
    if not root.is_dir():
        raise SourcesError(f"sources path {root} is not a folder")
    scan = _Scan()
    real_root = root.resolve()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            target = _link_target(path) if path.is_symlink() else path
            if target is None:
                scan.skipped.append(f"{rel}: symlink loop; ignored")
            elif path.is_symlink() and not target.is_relative_to(real_root):
                scan.skipped.append(f"{rel}: symlink to a file outside the sources folder; ignored")
            elif path.suffix.lower() not in SUPPORTED_SUFFIXES:
                scan.skipped.append(f"{rel}: unsupported file type '{path.suffix or name}' (qa reads .txt, .md, .html)")
            elif not path.is_file():
                scan.skipped.append(f"{rel}: not a regular file; ignored")
            elif path.stat().st_size > settings.max_file_bytes:
                scan.skipped.append(f"{rel}: larger than {_size(settings.max_file_bytes)}; skipped")
            else:
                scan.files[rel] = path
    return scan


def _link_target(path: Path) -> Path | None:
    """Where a symlink finally leads, or None for a loop (Python < 3.13 raises RuntimeError)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return None


def _size(n: int) -> str:
    """A byte count as people read it: "50 MB", "4 KB", "900 bytes"."""
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} bytes"


def embedding_text(title: str, passage: str) -> str:
    """What the model sees for a passage: its document's title, then the passage."""
    return f"{title}\n{passage}" if title else passage


def _fit_title(title: str, embedder: Embedder, max_tokens: int) -> str:
    """The title cut at a word boundary to at most max_tokens word pieces."""
    words = title.split()
    while words and embedder.count_tokens([" ".join(words)])[0] > max_tokens:
        words = words[:-1]
    return " ".join(words)


def prepare(doc: Document, file_digest: str, embedder: Embedder, settings: Settings) -> tuple[StoredDocument, list[str]]:
    """Chunk a loaded document; returns it as stored, and the texts to embed per passage."""
    if settings.max_passage_tokens + settings.max_title_tokens + 1 > embedder.max_tokens:
        raise ModelError(
            f"max_passage_tokens + max_title_tokens must stay under the model's {embedder.max_tokens} word pieces"
        )
    units, passages = chunk(doc.text, doc.content, embedder.count_tokens,
                            settings.max_passage_tokens, settings.overlap_sentences)
    stored = StoredDocument(
        source=doc.source, title=doc.title, date=doc.date, hash=file_digest, text=doc.text,
        units=tuple(units), passages=tuple(passages), warnings=doc.warnings,
    )
    title = _fit_title(doc.title, embedder, settings.max_title_tokens)
    texts = [embedding_text(title, doc.text[s:e]) for s, e in map(stored.passage_span, range(len(passages)))]
    return stored, texts


@contextlib.contextmanager
def _writer_lock(index_dir: Path) -> Iterator[bool]:
    """Hold the index's writer lock (one update at a time); yields False if it can't be taken."""
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(index_dir / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        yield False
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield True
    finally:
        os.close(fd)


def _previous(index_dir: Path, embedder: Embedder, settings: Settings, loaded: Store | None) -> tuple[Store | None, str | None]:
    """The index to update from, or None with the reason for a full rebuild.

    `loaded` is reused instead of reading the index again when it is the generation in use.
    """
    try:
        manifest = read_manifest(index_dir)
        if manifest is None:
            return None, None
        # The dimension is only compared once the model is loaded anyway: loading it just to
        # confirm an up-to-date index would cost seconds.
        if manifest.model != embedder.name or (embedder.loaded and manifest.dimension != embedder.dimension):
            return None, f"the index was built with model {manifest.model!r} ({manifest.dimension}-d), now {embedder.name!r} ({embedder.dimension}-d)"
        if manifest.chunking != settings.chunking():
            return None, f"chunking settings changed from {manifest.chunking} to {settings.chunking()}"
        if loaded is not None and loaded.manifest == manifest:
            return loaded, None
        return load_store(index_dir), None
    except IndexStoreError as exc:
        return None, f"the index could not be used: {exc}"


def update_index(
    sources: str | Path,
    index: str | Path,
    embedder: Embedder,
    settings: Settings | None = None,
    progress: Progress | None = None,
) -> IndexReport:
    """Bring the index in line with the sources folder; returns what changed."""
    return sync(sources, index, embedder, settings, progress)[0]


def sync(
    sources: str | Path,
    index: str | Path,
    embedder: Embedder,
    settings: Settings | None = None,
    progress: Progress | None = None,
    loaded: Store | None = None,
) -> tuple[IndexReport, Store]:
    """Like update_index, and also returns the up-to-date store (reusing `loaded` if current)."""
    settings = settings or Settings()
    root, index_dir = Path(sources), Path(index)
    scan = scan_sources(root, settings)
    with _writer_lock(index_dir) as writable:
        previous, rebuilt = _previous(index_dir, embedder, settings, loaded)
        if rebuilt:
            log.warning("rebuilding the index: %s", rebuilt)
        report = _update(root, index_dir, scan, previous, rebuilt, writable, embedder, settings, progress)
        if report.stale and previous is None:
            raise IndexStoreError(f"{report.stale.split(';')[0]}, and the index there cannot be used "
                                  f"({rebuilt or 'there is none yet'}); make the folder writable or pick another with --index")
        if previous is not None and not (report.changed_anything and report.stale is None):
            return report, previous
        return report, load_store(index_dir)


class _Embedding:
    """Embeds passages in batches while documents are still being read (streaming), so a big
    update never holds every passage text waiting for the model; keeps vectors per document."""

    def __init__(self, embedder: Embedder, settings: Settings, enabled: bool) -> None:
        self.embedder, self.settings, self.enabled = embedder, settings, enabled
        self.pending: list[tuple[str, list[str]]] = []
        self.vectors: dict[str, np.ndarray] = {}
        self.embedded = 0

    def add(self, rel: str, texts: list[str]) -> None:
        if not self.enabled:
            return
        self.pending.append((rel, texts))
        if sum(len(t) for _, t in self.pending) >= self.settings.stream_passages:
            self.flush()

    def flush(self) -> None:
        texts = [t for _, batch in self.pending for t in batch]
        if texts:
            vectors = self.embedder.encode(texts, self.settings.batch_size)
            cursor = 0
            for rel, batch in self.pending:
                self.vectors[rel] = vectors[cursor : cursor + len(batch)]
                cursor += len(batch)
            self.embedded += len(texts)
        self.pending = []


def _update(root: Path, index_dir: Path, scan: _Scan, previous: Store | None, rebuilt: str | None,
            writable: bool, embedder: Embedder, settings: Settings, progress: Progress | None) -> IndexReport:
    old = {d.source: d for d in previous.documents} if previous else {}
    skipped, warnings = list(scan.skipped), []
    kept: dict[str, StoredDocument] = {}
    fresh: dict[str, StoredDocument] = {}
    seen_hashes: dict[str, str] = {}
    can_write = writable and os.access(index_dir, os.W_OK)
    embedding = _Embedding(embedder, settings, enabled=can_write)
    bar = _bar(progress, "indexing", len(scan.files))
    # Files already indexed go first, so a new copy of one is the duplicate, not the original.
    for rel, path in sorted(scan.files.items(), key=lambda item: item[0] not in old):
        bar(1)
        try:
            data = path.read_bytes()
        except OSError as exc:
            skipped.append(f"{rel}: cannot be read ({exc.strerror or exc}); skipped")
            continue
        digest = hashlib.sha256(data).hexdigest()
        if digest in seen_hashes:
            skipped.append(f"{rel}: same content as {seen_hashes[digest]}; skipped")
            continue
        if rel in old and old[rel].hash == digest:
            kept[rel] = old[rel]
            seen_hashes[digest] = rel
            continue
        try:
            doc = load_document(path, root, max_bytes=settings.max_file_bytes, data=data)
        except DocumentError as exc:
            skipped.append(str(exc))
            continue
        seen_hashes[digest] = rel
        warnings.extend(doc.warnings)
        fresh[rel], texts = prepare(doc, digest, embedder, settings)
        embedding.add(rel, texts)
    embedding.flush()
    bar(None)
    for message in skipped:
        log.warning("skipped %s", message)
    order = sorted({**kept, **fresh})
    documents = [kept[r] if r in kept else fresh[r] for r in order]
    report = IndexReport(
        added=tuple(sorted(r for r in fresh if r not in old)), changed=tuple(sorted(r for r in fresh if r in old)),
        removed=tuple(sorted(set(old) - set(kept) - set(fresh))), unchanged=len(kept), skipped=tuple(skipped),
        warnings=tuple(warnings), passages=sum(len(d.passages) for d in documents), documents=len(documents),
        rebuilt=rebuilt, embedded=embedding.embedded)
    if not report.changed_anything and previous is not None:
        return report
    if not can_write:
        stale = f"the index folder {index_dir} is not writable; answers come from the index as it was"
        log.warning(stale)
        return replace(report, stale=stale)
    vectors = _assemble_vectors(order, kept, previous, embedding.vectors, embedder.dimension)
    # BM25 sees each passage with its document's title, as the embedder does.
    passage_terms = [terms(embedding_text(d.title, d.text[s:e])) for d in documents
                     for s, e in map(d.passage_span, range(len(d.passages)))]
    manifest = Manifest(model=embedder.name, dimension=embedder.dimension, chunking=settings.chunking(),
                        sources={d.source: d.hash for d in documents}, passages=report.passages)
    write_store(index_dir, manifest, documents, vectors, passage_terms)
    return report


def _assemble_vectors(order: list[str], kept: dict[str, StoredDocument], previous: Store | None,
                      fresh: dict[str, np.ndarray], dimension: int) -> np.ndarray:
    """Vectors in document order: carried over for kept documents, new ones for the rest."""
    blocks = []
    for rel in order:
        if rel in kept:
            assert previous is not None
            blocks.append(previous.document_vectors(previous.by_source[rel]))
        else:
            blocks.append(fresh[rel])
    return np.concatenate(blocks).astype(np.float32) if blocks else np.zeros((0, dimension), np.float32)


def _bar(progress: Progress | None, stage: str, total: int) -> Callable[[int | None], None]:
    """A step function (files done; None at the end) that feeds `progress` or, without one,
    a tqdm bar with an ETA, shown only when the work takes more than a second."""
    if progress is not None:
        done = [0]

        def step(n: int | None) -> None:
            if n is not None:
                done[0] += n
                progress(stage, done[0], total)

        return step
    bar = tqdm(total=total, desc=stage, unit=" files", delay=1.0, leave=False)
    return lambda n: bar.close() if n is None else bar.update(n)
