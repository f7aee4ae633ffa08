"""Files written so that a crash never leaves half of one: checksums to find a damaged file,
and fsync so that what a rename published is on disk before anyone relies on it.

Used by the index segments and manifests (qa.stores) and the cached ONNX export (qa.encoders).

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = Path(folder) / "a.txt"
    ...     _ = path.write_text("troops")
    ...     fsync_tree(Path(folder))
    ...     sha256(path)[:12]
    '45c1fef36e87'
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def sha256(path: Path) -> str:
    """The hex sha256 of a file's bytes, read in chunks."""
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def fsync_file(path: Path) -> None:
    """Flush a file (or a folder: the names in it) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(folder: Path) -> None:
    """Flush every file under `folder`, then the folder itself."""
    for path in folder.rglob("*"):
        if path.is_file():
            fsync_file(path)
    fsync_file(folder)
