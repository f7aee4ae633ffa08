r"""Read a source file into what the index stores: its document, its passages, the texts to embed.

Files under INLINE_READ_BYTES read in milliseconds and are read here; bigger ones are read
by `SourceReader` in a helper process with a time limit, so that one which hangs or crashes
the reader is skipped with a message instead of stalling the build. `prepare` chunks a
loaded document and gives the texts the model sees for its passages (`PassageTexts`, made
when asked for). The in-process build (`qa.indexing`) and the Ray workers
(`qa.indexing_ray`) read the same way.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     root = Path(folder)
    ...     _ = (root / "troops.txt").write_text("US troops\n\nAbout 2,500 US troops stay in Iraq.")
    ...     doc, digest = load_source(root / "troops.txt", root, max_bytes=1024)
    ...     skipped = []
    ...     missing = SourceReader(root, Settings()).read("gone.txt", root / "gone.txt", skipped)
    >>> doc.source, doc.title, digest[:12]
    ('troops.txt', 'US troops', '1c85de842e7d')
    >>> missing, skipped
    (None, ['gone.txt: cannot be read (No such file or directory); skipped'])
"""

from __future__ import annotations

import hashlib
import multiprocessing
import multiprocessing.pool
from collections.abc import Sequence
from pathlib import Path

from qa.chunking import chunk
from qa.config import Settings
from qa.documents import Document, load_document
from qa.embedding import Embedder
from qa.errors import DocumentError, ModelError
from qa.stores import StoredDocument
from qa.stores.base import embedding_text

# Files this small are read in the indexing process; bigger ones in a helper process, with a time limit.
INLINE_READ_BYTES = 1024 * 1024


class SourceReader:
    """Reads big source files in a helper process, so that one which takes longer than
    `Settings.max_read_seconds` to read (or hangs or crashes the reader) is skipped with a
    warning instead of stalling the build. Files under INLINE_READ_BYTES, which read in
    milliseconds, are read in this process (starting the helper costs about a second)."""

    def __init__(self, root: Path, settings: Settings) -> None:
        self.root, self.settings = root, settings
        self.pool: multiprocessing.pool.Pool | None = None

    def read(self, rel: str, path: Path, skipped: list[str]) -> tuple[Document, str] | None:
        """The loaded document and the hash of the very bytes parsed, or None (reported in `skipped`)."""
        limit = self.settings.max_read_seconds
        try:
            return self._read(path)
        except multiprocessing.TimeoutError:
            self.close()  # the reader is stuck on this file: a fresh one reads the next
            skipped.append(f"{rel}: took more than {limit:g} s to read; skipped (raise Settings.max_read_seconds "
                           f"to read it)")
        except (OSError, DocumentError) as exc:
            skipped.append(skip_reason(rel, exc))
        return None

    def _read(self, path: Path) -> tuple[Document, str]:
        if path.stat().st_size < INLINE_READ_BYTES:
            return load_source(path, self.root, self.settings.max_file_bytes)
        if self.pool is None:
            self.pool = multiprocessing.get_context("spawn").Pool(1)
        job = self.pool.apply_async(load_source, (path, self.root, self.settings.max_file_bytes))
        return job.get(timeout=self.settings.max_read_seconds)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.terminate()
            self.pool = None


def skip_reason(rel: str, exc: OSError | DocumentError) -> str:
    """The line a build reports for a source file it could not read or load."""
    if isinstance(exc, OSError):
        return f"{rel}: cannot be read ({exc.strerror or exc}); skipped"
    return str(exc)


def load_source(path: Path, root: Path, max_bytes: int) -> tuple[Document, str]:
    """Load one file (in a reader process or a Ray worker); returns the document and the sha256 of its bytes."""
    data = path.read_bytes()
    return load_document(path, root, max_bytes=max_bytes, data=data), hashlib.sha256(data).hexdigest()


def _fit_title(title: str, embedder: Embedder, max_tokens: int) -> str:
    """The title cut at a word boundary to at most max_tokens word pieces."""
    words = title.split()
    while words and embedder.count_tokens([" ".join(words)])[0] > max_tokens:
        words = words[:-1]
    return " ".join(words)


def prepare(doc: Document, file_digest: str, embedder: Embedder, settings: Settings) -> tuple[StoredDocument, PassageTexts]:
    """Chunk a loaded document; returns it as stored, and the texts to embed per passage."""
    if settings.max_passage_tokens + settings.max_title_tokens + 1 > embedder.max_tokens:
        raise ModelError(
            f"max_passage_tokens + max_title_tokens must stay under the model's {embedder.max_tokens} word pieces"
        )
    units, passages = chunk(doc.text, doc.content, embedder.count_tokens,
                            settings.max_passage_tokens, settings.overlap_sentences, doc.pages)
    stored = StoredDocument(
        source=doc.source, title=doc.title, date=doc.date, hash=file_digest, text=doc.text,
        units=tuple(units), passages=tuple(passages), warnings=doc.warnings, pages=doc.pages,
    )
    return stored, PassageTexts(stored, _fit_title(doc.title, embedder, settings.max_title_tokens))


class PassageTexts(Sequence[str]):
    """What the model sees for each passage of a document, made when asked for: a 50 MB
    document's 100,000 passage texts are never all held at once."""

    def __init__(self, doc: StoredDocument, title: str) -> None:
        self.doc, self.title = doc, title

    def __len__(self) -> int:
        return len(self.doc.passages)

    def __getitem__(self, i):  # type: ignore[override]
        start, end = self.doc.passage_span(i)
        return embedding_text(self.title, self.doc.text[start:end])
