"""The cited page of a PDF: which sources have one, how a citation names its passage, and the
page drawn with the passage marked (kept as PNG files, the most recent only).

Example:
    >>> has_page_view("report.PDF"), Cited.parse(Cited("a.pdf", (10, 90), (40, 60)).token()).sentence
    (True, (40, 60))
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

from qa.answers import Passage
from qa.errors import QAError
from qa.readers import pdf

# The last this many cited pages drawn are kept (as PNG files) for when they are shown again.
PAGE_CACHE = 32


def has_page_view(source: str) -> bool:
    """Whether "open" on a passage of `source` also shows its page drawn: a PDF.

    Example:
        >>> has_page_view("report.PDF"), has_page_view("notes.docx")
        (True, False)
    """
    return Path(source).suffix.lower() == ".pdf"


@dataclass(frozen=True)
class Cited:
    """A cited passage as its "open" button names it: the source and the document offsets of the
    passage and of its answering sentence (`token()` and `parse()` write and read that name).

    Example:
        >>> Cited.parse(Cited("a|b.pdf", (10, 90), (40, 60)).token())
        Cited(source='a|b.pdf', passage=(10, 90), sentence=(40, 60))
    """

    source: str
    passage: tuple[int, int]
    sentence: tuple[int, int]

    @classmethod
    def of(cls, p: Passage) -> Cited:
        return cls(p.source, (p.start, p.end), (p.highlight_start, p.highlight_end))

    def token(self) -> str:
        return f"{self.passage[0]}|{self.passage[1]}|{self.sentence[0]}|{self.sentence[1]}|{self.source}"

    @classmethod
    def parse(cls, token: str) -> Cited:
        """The passage a token names; QAError for anything else."""
        *numbers, source = (token or "").split("|", 4)
        if len(numbers) != 4 or not all(n.isdigit() for n in numbers) or not source:
            raise QAError("that citation cannot be opened")
        a, b, c, d = map(int, numbers)
        return cls(source, (a, b), (c, d))


class PageImages:
    """Pages of PDFs drawn on demand with a cited passage marked, kept as PNG files in `folder`: the
    `keep` most recently shown stay, keyed by the file (path, size, time changed), page and passage."""

    def __init__(self, folder: Path, keep: int = PAGE_CACHE) -> None:
        self.folder, self.keep = folder, keep
        self._lock = threading.Lock()  # one drawing at a time (PDFium draws one at a time anyway)

    def draw(self, path: Path, page: int, cited: Cited) -> Path:
        """The PNG of page `page` of the PDF at `path`: the passage in yellow, its answering sentence in orange.
        Raises DocumentError for a page or PDF that cannot be drawn, OSError for a file that cannot be read."""
        stat = path.stat()
        key = repr((str(path), stat.st_size, stat.st_mtime_ns, page, cited.passage, cited.sentence))
        target = self.folder / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.png"
        with self._lock:
            if target.exists():
                target.touch()  # recently shown: kept longer
                return target
            png = pdf.render_page(path.read_bytes(), page, [cited.passage], strong=[cited.sentence])
            part = target.with_suffix(".part")
            part.write_bytes(png)
            part.replace(target)
            for old in sorted(self.folder.glob("*.png"), key=lambda f: f.stat().st_mtime_ns)[:-self.keep]:
                old.unlink()
        return target
