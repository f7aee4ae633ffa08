"""Where a Qdrant index is, and talking to it: index strings parsed into a `QdrantLocation`.

Index strings:
    qdrant://HOST[:PORT]/COLLECTION    a server over http (port 6333 unless given)
    qdrants://HOST[:PORT]/COLLECTION   the same over https
    qdrant+file:PATH                   local mode in a folder (collection "qa"), one process at a time
The API key for a server comes from the environment variable QDRANT_API_KEY. On a cluster,
`?shards=N&replicas=M&write_consistency=W` after the collection sets the shard_number,
replication_factor and write_consistency_factor qa creates both collections with (the
server's defaults otherwise); they take effect when qa (re)creates the collections.

A location shares one client per place (local mode allows one per folder in a process),
turns the client's failures into errors that say what to check, reads the index's
description and opens the backend (`qa.stores.qdrant.backend`) on it.

Example:
    >>> from qa.stores.qdrant.connection import location
    >>> where = location("qdrant://[::1]:6334/news?replicas=2")
    >>> where.host, where.port, where.replicas, where.documents_collection
    ('[::1]', 6334, 2, 'news_documents')
    >>> location("qdrant://qdrant.example.org/news?shards=6&replicas=2").collection_options()
    {'shard_number': 6, 'replication_factor': 2}
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.errors import IndexStoreError, IndexUnavailableError
from qa.stores.base import IndexBackend, IndexInfo, folder_lock
from qa.stores.qdrant.backend import QdrantBackend
from qa.stores.qdrant.client import ApiException, QdrantClient, UnexpectedResponse, httpx
from qa.stores.qdrant.points import FORMAT, INFO_ID

SCHEMES = ("qdrant://", "qdrants://", "qdrant+file:")
DEFAULT_PORT = 6333
LOCAL_COLLECTION = "qa"
TIMEOUT_S = 30

_COLLECTION_NAME = re.compile(r"[A-Za-z0-9_-]{1,200}")
_SERVER = re.compile(r"(?P<host>\[[0-9A-Fa-f:.]+\]|[^:/\[\]\s]+)(?::(?P<port>[^/]*))?/(?P<collection>.*)")
# Index string options of a server's collection -> create_collection's arguments.
_OPTIONS = {"shards": "shard_number", "replicas": "replication_factor", "write_consistency": "write_consistency_factor"}


def handles(spec: str) -> bool:
    """Whether `spec` names a Qdrant index (by its scheme; a malformed one still raises in `location`)."""
    return spec.strip().lower().startswith(SCHEMES)


def location(spec: str) -> QdrantLocation:
    """The Qdrant location an index string names; IndexStoreError saying what is wrong when it is malformed."""
    text = spec.strip()
    lowered = text.lower()
    if lowered.startswith("qdrant+file:"):
        raw = text[len("qdrant+file:"):]
        raw = raw[2:] if raw.startswith("//") else raw  # qdrant+file:///abs/path
        if not raw.strip():
            raise IndexStoreError(f"{spec!r} names no folder: write qdrant+file:PATH, e.g. qdrant+file:./index")
        return QdrantLocation(path=Path(raw).expanduser().resolve(), collection=LOCAL_COLLECTION)
    for scheme, https in (("qdrant://", False), ("qdrants://", True)):
        if lowered.startswith(scheme):
            return _server_location(spec, text[len(scheme):], https)
    raise IndexStoreError(f"{spec!r} is not a Qdrant index: write qdrant://HOST[:PORT]/COLLECTION, "
                          "qdrants://HOST[:PORT]/COLLECTION or qdrant+file:PATH")


def _server_location(spec: str, rest: str, https: bool) -> QdrantLocation:
    """Parse the HOST[:PORT]/COLLECTION[?OPTIONS] part of a server's index string (an IPv6 host in brackets)."""
    usage = "write qdrant://HOST[:PORT]/COLLECTION (qdrants:// for https)"
    rest, _, query = rest.partition("?")
    parts = _SERVER.fullmatch(rest)
    if parts is None:
        raise IndexStoreError(f"{spec!r} is not a Qdrant address: {usage}")
    host, port_text, collection = parts["host"], parts["port"], parts["collection"]
    if not _COLLECTION_NAME.fullmatch(collection):
        raise IndexStoreError(f"{spec!r}: the collection name {collection!r} may only hold letters, digits, '_' and '-'; {usage}")
    if port_text is not None and not (port_text.isdigit() and 0 < int(port_text) < 65536):
        raise IndexStoreError(f"{spec!r}: the port {port_text!r} is not a number from 1 to 65535; {usage}")
    return QdrantLocation(host=host, port=int(port_text) if port_text else DEFAULT_PORT, https=https, collection=collection,
                          **_options(spec, query))


def _options(spec: str, query: str) -> dict[str, int]:
    """The collection options of an index string's query (`shards=3&replicas=2`), each a whole number from 1."""
    options: dict[str, int] = {}
    for name, value in urllib.parse.parse_qsl(query, keep_blank_values=True):
        if name not in _OPTIONS:
            raise IndexStoreError(f"{spec!r}: unknown option {name!r}; the options are {', '.join(_OPTIONS)}")
        if not (value.isdigit() and int(value) > 0):
            raise IndexStoreError(f"{spec!r}: {name} must be a whole number from 1, not {value!r}")
        options[name] = int(value)
    return options


# Local mode lets one client hold a folder per process: clients are shared per place, with a
# lock around local ones (QdrantLocal is not meant for several threads at once).
_clients: dict[str, tuple[QdrantClient, contextlib.AbstractContextManager]] = {}
_clients_lock = threading.Lock()


@atexit.register
def _close_clients() -> None:
    """Close the shared clients before the interpreter tears down the modules a local client's close needs."""
    with _clients_lock:
        clients = [client for client, _ in _clients.values()]
        _clients.clear()
    for client in clients:
        client.close()


@dataclass(frozen=True)
class QdrantLocation:
    """A Qdrant collection: on a server (host, port, https) or in a local-mode folder (path)."""

    collection: str
    host: str | None = None
    port: int = DEFAULT_PORT
    https: bool = False
    path: Path | None = None
    shards: int | None = None
    replicas: int | None = None
    write_consistency: int | None = None

    def __str__(self) -> str:
        if self.path is not None:
            return f"qdrant+file:{self.path}"
        query = "&".join(f"{name}={getattr(self, name)}" for name in _OPTIONS if getattr(self, name) is not None)
        address = f"{'qdrants' if self.https else 'qdrant'}://{self.host}:{self.port}/{self.collection}"
        return f"{address}?{query}" if query else address

    def collection_options(self) -> dict[str, int]:
        """create_collection's sharding arguments the index string set (local mode ignores them)."""
        return {argument: getattr(self, name) for name, argument in _OPTIONS.items() if getattr(self, name) is not None}

    @property
    def documents_collection(self) -> str:
        return f"{self.collection}_documents"

    @property
    def _key(self) -> str:
        return f"file:{self.path}" if self.path is not None else f"{'https' if self.https else 'http'}://{self.host}:{self.port}"

    def _client(self) -> tuple[QdrantClient, contextlib.AbstractContextManager]:
        """The shared client of this place and the guard to hold while using it."""
        if QdrantClient is None:
            raise IndexStoreError(f"{self}: qdrant-client is not installed (pip install qdrant-client)")
        with _clients_lock:
            if self._key not in _clients:
                with self._talking():
                    _clients[self._key] = self._connect()
            return _clients[self._key]

    def _connect(self) -> tuple[QdrantClient, contextlib.AbstractContextManager]:
        if self.path is not None:
            client = QdrantClient(path=str(self.path), force_disable_check_same_thread=True)
            return client, threading.RLock()
        client = QdrantClient(host=self.host, port=self.port, https=self.https, api_key=os.environ.get("QDRANT_API_KEY") or None,
                              timeout=TIMEOUT_S, check_compatibility=False)
        return client, contextlib.nullcontext()

    def close(self) -> None:
        """Let go of this place's client (local mode: the folder's lock, so another process may open it)."""
        with _clients_lock:
            client, _ = _clients.pop(self._key, (None, None))
        if client is not None:
            client.close()

    @contextlib.contextmanager
    def _talking(self) -> Iterator[None]:
        """Turn the client's errors into IndexStoreError saying what to check."""
        try:
            yield
        except IndexStoreError:
            raise
        except Exception as exc:  # every client failure (connection, refusal, local lock) becomes one message
            raise IndexUnavailableError(self._explain(exc)) from exc

    def _explain(self, exc: Exception) -> str:
        """What went wrong and what to check (only reached with qdrant-client installed)."""
        if self.path is not None:
            if isinstance(exc, RuntimeError) and "already accessed" in str(exc):
                return (f"{self} is open in another process; Qdrant's local mode allows one at a time: "
                        "stop the other one, or use a Qdrant server")
            return f"{self} cannot be used: {exc}"
        if isinstance(exc, UnexpectedResponse) and exc.status_code in (401, 403):
            return f"the Qdrant server at {self} refused access ({exc.status_code}): check QDRANT_API_KEY"
        if isinstance(exc, ApiException | httpx.HTTPError | OSError):
            return (f"cannot use the Qdrant server at {self}: {exc}. Check that it runs, the host and port "
                    f"({'https' if self.https else 'http'}), the network, and QDRANT_API_KEY")
        return f"the Qdrant server at {self} failed: {exc}"

    @contextlib.contextmanager
    def session(self) -> Iterator[QdrantClient]:
        """The client, guarded and with its errors translated."""
        client, guard = self._client()
        with guard, self._talking():
            yield client

    def _exists(self) -> bool:
        if self.path is not None and not (self.path / "meta.json").is_file():
            return False  # don't let a client make the folder just to look
        with self.session() as client:
            return client.collection_exists(self.documents_collection) and client.collection_exists(self.collection)

    def metadata(self) -> dict[str, Any] | None:
        """The metadata point's payload; None when there is no index; IndexStoreError when it is unreadable."""
        if not self._exists():
            return None
        with self.session() as client:
            found = client.retrieve(self.documents_collection, [INFO_ID], with_payload=True)
        if not found or not found[0].payload or found[0].payload.get("format") != FORMAT:
            raise IndexStoreError(f"{self} holds no qa index description (not made by this qa, or its build "
                                  "stopped first): rebuild it")
        return dict(found[0].payload)

    def info(self) -> IndexInfo | None:
        meta = self.metadata()
        return None if meta is None else _info(meta, self)

    def open(self, loaded: IndexBackend | None = None) -> QdrantBackend:
        meta = self.metadata()
        if meta is None:
            raise IndexStoreError(f"there is no index at {self} yet: build one first")
        if isinstance(loaded, QdrantBackend) and loaded.location == self and loaded.generation == meta["generation"]:
            return loaded
        backend = QdrantBackend(self, _info(meta, self), meta.get("average_length"), meta["generation"])
        backend.reload()
        return backend

    def create(self, info: IndexInfo) -> QdrantBackend:
        return QdrantBackend(self, info, None, None, fresh=True)

    @contextlib.contextmanager
    def lock(self) -> Iterator[bool]:
        """The writer lock: a file lock in a local folder. A server serialises each write itself but does
        not keep two qa writers on one collection apart, so there this always yields True."""
        if self.path is None:
            yield True
            return
        with folder_lock(self.path, "qa-writer.lock") as locked:
            yield locked

    def writable(self) -> bool:
        """A local folder: whether it can be written. A server: True (whether the API key may write shows on the first write)."""
        if self.path is None:
            return True
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError:
            return False
        return os.access(self.path, os.W_OK)

    def work_dir(self) -> Path | None:
        return self.path


def _info(meta: dict[str, Any], where: QdrantLocation) -> IndexInfo:
    try:
        return IndexInfo(model=str(meta["model"]), dimension=int(meta["dimension"]), encoder=str(meta["encoder"]),
                         chunking={str(k): int(v) for k, v in dict(meta["chunking"]).items()})
    except (KeyError, TypeError, ValueError) as exc:
        raise IndexStoreError(f"{where} has a damaged index description ({exc!r}): rebuild it") from exc
