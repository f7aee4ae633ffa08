"""Build or update an index on a Ray cluster: reading, chunking and embedding spread over a
pool of model actors (Ray Data), the changes written by this process through the same
`IndexBackend.apply` that `qa.indexing` uses.

Needs the `cluster` extra (`pip install -e ".[cluster]"`); Ray is imported only here, and only
when a build asks for it. This process (the driver) scans the sources, hashes each file and
decides, as `qa.indexing.update_index` does, what is new, changed, removed or unchanged: only
new and changed files go to the cluster. Each actor loads the model once from the packaged
weights (`Embedder`; nothing is downloaded), then reads, chunks and embeds batches of files.
Workers read the files by path, so on a cluster of several machines the sources folder must
be at the same absolute path on every node (a shared folder), and qa installed on each.
Documents come back as they are done and are applied in batches of about `APPLY_PASSAGES`
passages: a build stopped midway keeps what it applied, and the next one embeds only the rest.

Example:
    >>> from qa.indexing_ray import update_index_on_ray
    >>> print(update_index_on_ray("sources", "index", embedder))   # doctest: +SKIP
    2 documents, 8 passages (2 added, 0 changed, 0 removed, 0 unchanged); 8 passages embedded
"""

from __future__ import annotations

import logging
import math
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from qa.config import Settings
from qa.embedding import Embedder
from qa.errors import ClusterError, DocumentError, IndexStoreError, ModelError
from qa.indexing import IndexReport, previous_index
from qa.offline import OFFLINE_ENVIRONMENT
from qa.progress import Progress, Tracker
from qa.reading import load_source, prepare, skip_reason
from qa.scanning import Digest, file_digests, known_digests, plan_update, remember_digests, scan_sources
from qa.stores import Changes, IndexBackend, IndexInfo, IndexLocation, StoredDocument, locate

log = logging.getLogger("qa")

INSTALL = 'pip install -e ".[cluster]"'
# Files an actor reads, chunks and embeds per call (news articles: about 15 passages each).
FILES_PER_BATCH = 16
# Passages collected before each apply: a local index writes a whole generation per apply, so
# fewer, bigger applies cost less; a Qdrant collection takes each batch as it comes.
APPLY_PASSAGES = 20_000
# A traceback's closing line: "qa.errors.ModelError: the message".
_ERROR_LINE = re.compile(r"^([\w.]+(?:Error|Exception)): (.+)$", re.MULTILINE)


def import_ray() -> ModuleType:
    """The `ray` module with Ray Data loaded; ClusterError saying what to install when it is missing."""
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise ClusterError(f"qa index --ray needs Ray, which is not installed: {INSTALL}") from exc
    return ray


@contextmanager
def ray_session(address: str | None = None) -> Iterator[ModuleType]:
    """Ray, connected to the cluster at `address`, or to a local one started here (None).

    A session the caller already started is used as it is and left running; one started here is
    shut down at the end. Usage statistics are off and the workers run offline (qa.offline).
    """
    ray = import_ray()
    if ray.is_initialized():
        yield ray
        return
    options: dict[str, Any] = {"runtime_env": {"env_vars": dict(OFFLINE_ENVIRONMENT)}, "logging_level": logging.WARNING}
    try:
        if address:
            _check_reachable(address)
            ray.init(address=address, **options)
        else:
            ray.init(include_dashboard=False, **options)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray"
        raise ClusterError(f"cannot start or reach {where}: {exc}") from exc
    try:
        yield ray
    finally:
        ray.shutdown()


def _check_reachable(address: str) -> None:
    """ClusterError at once when nothing answers at a host:port address (Ray itself retries for minutes).

    Other forms ("auto", "ray://host:port") are left to Ray.
    """
    host, _, port = address.rpartition(":")
    if "://" in address or not port.isdigit():
        return
    try:
        socket.create_connection((host or "127.0.0.1", int(port)), timeout=5).close()
    except OSError as exc:
        raise ClusterError(f"cannot reach the Ray cluster at {address} ({exc.strerror or exc}): start its head node "
                           f"(ray start --head) or give its address (host:6379)") from exc


class IndexWorker:
    """A Ray Data actor: loads the model once, then reads, chunks and embeds batches of files.

    Each call takes a batch of source paths (column "source", relative to `root`) and returns one
    row per file: the document as stored (JSON), its passage vectors (float32 bytes, row-major),
    and their width, or why it was skipped.
    """

    def __init__(self, root: str, model: str, encoder: str, settings: Settings) -> None:
        self.root, self.settings = Path(root), settings
        self.embedder = Embedder(model, encoder=encoder)
        if self.embedder.variant != encoder:
            raise ModelError(f"a Ray worker cannot run encoder {encoder!r} (it would use {self.embedder.variant!r}); "
                             f"install the same qa on every node")
        self.embedder.load()

    def __call__(self, batch: Any) -> Any:
        import pyarrow as pa

        sources: list[str] = batch["source"].to_pylist()
        documents, skipped, texts, counts = [], [], [], []
        for rel in sources:
            try:
                doc, digest = load_source(self.root / rel, self.root, self.settings.max_file_bytes)
            except (OSError, DocumentError) as exc:
                documents.append(None)
                skipped.append(skip_reason(rel, exc))
                counts.append(0)
                continue
            stored, passage_texts = prepare(doc, digest, self.embedder, self.settings)
            documents.append(stored.to_json())
            skipped.append(None)
            texts.extend(passage_texts)
            counts.append(len(passage_texts))
        vectors = self.embedder.encode(texts, self.settings.batch_size)
        ends = np.cumsum(counts)
        blobs = [vectors[end - n : end].tobytes() if doc is not None else None
                 for doc, n, end in zip(documents, counts, ends)]
        return pa.table({"source": pa.array(sources, pa.string()), "document": pa.array(documents, pa.large_string()),
                         "vectors": pa.array(blobs, pa.large_binary()), "skipped": pa.array(skipped, pa.string()),
                         "dimension": pa.array([vectors.shape[1]] * len(sources), pa.int32())})


@dataclass
class _Writer:
    """Applies documents as they come back, in batches of about `apply_passages` passages, to the
    index the update started from (or a new one, made when the first batch is applied)."""

    location: IndexLocation
    current: IndexBackend | None
    embedder: Embedder
    settings: Settings
    apply_passages: int = APPLY_PASSAGES
    upserts: list[tuple[StoredDocument, np.ndarray]] = field(default_factory=list)
    removes: set[str] = field(default_factory=set)
    pending_passages: int = 0

    def add(self, doc: StoredDocument, vectors: np.ndarray) -> None:
        self.upserts.append((doc, vectors))
        self.pending_passages += len(vectors)
        if self.pending_passages >= self.apply_passages:
            self.flush()

    def flush(self) -> None:
        """Apply what is pending; a new index is written even when nothing is (as qa.indexing does)."""
        if self.current is not None and not self.upserts and not self.removes:
            return
        if self.current is None:
            # The vectors' width, so the driver loads the model only when no vectors came back.
            dimension = self.upserts[0][1].shape[1] if self.upserts else self.embedder.dimension
            info = IndexInfo(self.embedder.name, dimension, self.embedder.variant, self.settings.chunking())
            self.current = self.location.create(info)
        self.current = self.current.apply(Changes(self.upserts, frozenset(self.removes)))
        self.upserts, self.removes, self.pending_passages = [], set(), 0


def update_index_on_ray(
    sources: str | Path,
    index: str | Path,
    embedder: Embedder,
    settings: Settings | None = None,
    progress: Progress | None = None,
    *,
    address: str | None = None,
    actors: int | None = None,
    apply_passages: int = APPLY_PASSAGES,
) -> IndexReport:
    """Bring the index in line with the sources folder, embedding on Ray; returns what changed.

    `index` is a folder or another engine's index string (qa.stores.locate). `address` names a
    running Ray cluster (None: start a local Ray here, unless this process already has one).
    `actors` is how many model actors to run (default: one per CPU of the cluster);
    `apply_passages`, how many passages are written per apply. When nothing changed, Ray is not
    started at all.
    """
    import_ray()  # before anything is touched: the error says what to install
    settings = settings or Settings()
    root, location = Path(sources).absolute(), locate(index)
    scan = scan_sources(root, settings)
    with location.lock() as writable:
        if not (writable and location.writable()):
            raise IndexStoreError(f"the index {location} is not writable; make it writable or pick another with --index")
        previous, rebuilt = previous_index(location, embedder, settings, None)
        if rebuilt:
            log.warning("rebuilding the index: %s", rebuilt)
        old = {d.source: d for d in previous.documents} if previous else {}
        skipped: list[str] = list(scan.skipped)
        digests = file_digests(scan, skipped, known_digests(location.work_dir()))
        kept, todo = plan_update(digests, old, frozenset(), skipped)
        writer = _Writer(location, previous, embedder, settings, apply_passages,
                         removes=set(old) - set(kept) - set(todo))
        fresh: dict[str, int] = {}
        hashes: dict[str, str] = {}
        warnings: list[str] = []
        if todo:
            with ray_session(address) as ray:
                for doc, vectors in _embed_on_ray(ray, root, todo, embedder, settings, actors, digests, progress, skipped):
                    fresh[doc.source], hashes[doc.source] = len(vectors), doc.hash
                    warnings.extend(doc.warnings)
                    writer.add(doc, vectors)
        writer.removes |= set(old) - set(kept) - set(fresh)  # changed files that can no longer be read
        writer.flush()
        remember_digests(location.work_dir(),
                         {r: d for r, d in digests.items() if r in kept or hashes.get(r) == d.sha256})
    for message in skipped:
        log.warning("skipped %s", message)
    return IndexReport(
        added=tuple(sorted(r for r in fresh if r not in old)), changed=tuple(sorted(r for r in fresh if r in old)),
        removed=tuple(sorted(set(old) - set(kept) - set(fresh))), unchanged=len(kept), skipped=tuple(skipped),
        warnings=tuple(warnings), passages=sum(len(d.passages) for d in kept.values()) + sum(fresh.values()),
        documents=len(kept) + len(fresh), rebuilt=rebuilt, embedded=sum(fresh.values()))


def _embed_on_ray(ray: ModuleType, root: Path, todo: list[str], embedder: Embedder, settings: Settings,
                  actors: int | None, digests: dict[str, Digest], progress: Progress | None,
                  skipped: list[str]) -> Iterator[tuple[StoredDocument, np.ndarray]]:
    """Each readable file of `todo`, read, chunked and embedded by the actor pool, as it is done;
    files that cannot be read are reported in `skipped`."""
    logging.getLogger("ray.data").setLevel(logging.ERROR)  # qa's own bar reports progress
    ray.data.DataContext.get_current().enable_progress_bars = False
    batches = math.ceil(len(todo) / FILES_PER_BATCH)
    pool = min(actors or max(1, int(ray.cluster_resources().get("CPU", 1))), batches)
    files = ray.data.from_items([{"source": rel} for rel in sorted(todo)], override_num_blocks=batches)
    done = files.map_batches(
        IndexWorker, batch_size=FILES_PER_BATCH, batch_format="pyarrow", num_cpus=1,
        compute=ray.data.ActorPoolStrategy(size=pool),
        fn_constructor_kwargs={"root": str(root), "model": embedder.name, "encoder": embedder.variant,
                               "settings": settings})
    tracker = Tracker(progress, len(todo), sum(digests[r].size for r in todo))
    try:
        for batch in done.iter_batches(batch_size=None, batch_format="pyarrow"):
            for row in batch.to_pylist():
                tracker.files_done += 1
                tracker.files_read += 1
                tracker.bytes_read += digests[row["source"]].size
                if row["skipped"] is not None:
                    skipped.append(row["skipped"])
                    continue
                doc = StoredDocument.from_json(row["document"])
                vectors = np.frombuffer(row["vectors"], dtype=np.float32).reshape(-1, row["dimension"])
                tracker.chunked += len(vectors)
                tracker.done += len(vectors)
                yield doc, vectors
            tracker.report()
    except ray.exceptions.RayError as exc:
        raise ClusterError(f"the build on Ray failed: {worker_error(str(exc))}") from exc
    finally:
        tracker.close()


def worker_error(text: str) -> str:
    r"""The error a worker raised, out of the text of the Ray error around it (which keeps the
    worker's traceback as text, not the exception itself); else the text's first line.

    Example:
        >>> worker_error("ray::MapWorker(...)\nqa.errors.ModelError: bad settings\nray.exceptions.UserCodeException: UDF failed")
        'ModelError: bad settings'
    """
    for name, message in _ERROR_LINE.findall(text):
        if not name.startswith("ray."):
            return f"{name.rsplit('.', 1)[-1]}: {message}"
    return text.splitlines()[0] if text else "no reason given"
