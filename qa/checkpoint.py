"""Vectors a build has made but not yet written into an index generation, kept on disk.

Every batch of passage vectors is appended (and flushed) to `index/checkpoint.bin` as soon as
it is embedded, keyed by a hash of the exact text the model saw. A build killed at any
point (kill -9, power cut) loses at most the batch in flight: the next build finds the
others here and embeds only what is missing. Once a generation is written the checkpoint
is cleared. A torn last record is ignored; a checkpoint made with another model is dropped.

File layout: one JSON header line (model, dimension), then fixed-size records of a 16-byte
key and `dimension` float32 values.

Example:
    >>> import tempfile, numpy as np
    >>> folder = tempfile.mkdtemp()
    >>> saved = Checkpoint(folder, "all-MiniLM-L6-v2", 2)
    >>> saved.add(["some passage"], np.array([[0.6, 0.8]], dtype=np.float32))
    >>> Checkpoint(folder, "all-MiniLM-L6-v2", 2).get("some passage")
    array([0.6, 0.8], dtype=float32)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

log = logging.getLogger("qa")

CHECKPOINT = "checkpoint.bin"
KEY_BYTES = 16


def text_key(text: str) -> bytes:
    """The key of a passage's embedded text."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=KEY_BYTES).digest()


class Checkpoint:
    """The vectors of an unfinished build, by text key; appended to as batches are embedded.

    Only the index's writer (who holds its lock) opens one.
    """

    def __init__(self, index_dir: str | Path, model: str, dimension: int) -> None:
        self.path = Path(index_dir) / CHECKPOINT
        self.header = (json.dumps({"model": model, "dimension": dimension}) + "\n").encode()
        self.dimension = dimension
        self.rows: dict[bytes, int] = {}
        self.vectors = np.zeros((0, dimension), dtype=np.float32)
        self._load()

    @property
    def record_bytes(self) -> int:
        return KEY_BYTES + 4 * self.dimension

    def _load(self) -> None:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return
        except OSError as exc:
            log.warning("checkpoint %s cannot be read (%s); embedding everything again", self.path, exc)
            return
        if not data.startswith(self.header):
            log.info("checkpoint %s was made with another model; dropped", self.path)
            self.path.unlink(missing_ok=True)
            return
        body = data[len(self.header):]
        count = len(body) // self.record_bytes  # a torn last record (killed mid-write) is left out
        records = np.frombuffer(body[: count * self.record_bytes], dtype=np.uint8).reshape(count, self.record_bytes)
        self.vectors = records[:, KEY_BYTES:].copy().view(np.float32).reshape(count, self.dimension)
        self.rows = {records[i, :KEY_BYTES].tobytes(): i for i in range(count)}

    def __len__(self) -> int:
        return len(self.rows)

    def get(self, text: str) -> np.ndarray | None:
        """The saved vector of `text`, or None."""
        row = self.rows.get(text_key(text))
        return None if row is None else self.vectors[row]

    def add(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Append vectors to the file and flush them to disk (a write error is logged: a
        checkpoint only saves time, it never stops a build)."""
        keys = [text_key(t) for t in texts]
        records = np.zeros((len(keys), self.record_bytes), dtype=np.uint8)
        records[:, :KEY_BYTES] = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), KEY_BYTES)
        records[:, KEY_BYTES:] = np.ascontiguousarray(vectors, dtype=np.float32).view(np.uint8).reshape(len(keys), -1)
        try:
            fresh = not self.path.exists() or self.path.stat().st_size < len(self.header)
            with self.path.open("r+b" if not fresh else "wb") as fh:
                if fresh:
                    fh.write(self.header)
                else:
                    # Drop a torn record a killed writer left, so records stay aligned.
                    fh.truncate(len(self.header) + self._stored_records(fh) * self.record_bytes)
                fh.seek(0, os.SEEK_END)
                fh.write(records.tobytes())
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            log.warning("cannot save embedded passages to %s (%s); a killed build will redo them", self.path, exc)

    def _stored_records(self, fh) -> int:
        fh.seek(0, os.SEEK_END)
        return (fh.tell() - len(self.header)) // self.record_bytes

    def clear(self) -> None:
        """Forget the checkpoint (its vectors are in the index now)."""
        self.rows, self.vectors = {}, np.zeros((0, self.dimension), dtype=np.float32)
        self.path.unlink(missing_ok=True)
