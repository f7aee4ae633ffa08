"""Index backends behind one Protocol (`qa.stores.base.IndexBackend`), picked by an index string.

A plain path is a local folder (FAISS + BM25 segments, `qa.stores.local`); `qdrant://host:6333/name`
and `qdrant+file:PATH` are Qdrant (`qa.stores.qdrant`, needs `qdrant-client`). Adding an
engine is one sibling module (or package, as `qa.stores.qdrant`) with a `location(spec)` factory,
and its scheme in `_PREFIXES`.

Example:
    >>> from qa.stores import locate
    >>> str(locate("index"))
    'index'
"""

from __future__ import annotations

import importlib
from pathlib import Path

from qa.errors import IndexStoreError
from qa.stores.base import Changes, Filter, IndexBackend, IndexInfo, IndexLocation, PassageId, StoredDocument
from qa.stores.local import LocalLocation

# Index strings that name another engine start with its scheme ("qdrant://", "qdrant+file:");
# each engine's module has location(spec).
_PREFIXES = {"qdrant": "qa.stores.qdrant"}


def _engine(index: str | Path) -> str | None:
    """The module of the engine an index string names, or None for a local folder."""
    if isinstance(index, Path) or ":" not in index:
        return None
    scheme = index.split(":", 1)[0].split("+", 1)[0].lower()
    return _PREFIXES.get(scheme.removesuffix("s"))


def index_spec(index: str | Path) -> str | Path:
    """An index as `QA` keeps it: a Path for a local folder, the string itself for an engine's."""
    return index if _engine(index) else Path(index)


def locate(index: str | Path) -> IndexLocation:
    """The location an index string names: a local folder, or another engine's collection."""
    module_name = _engine(index)
    if module_name is None:
        return LocalLocation(index)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise IndexStoreError(f"index {index!r} needs an optional package: pip install 'qa[qdrant]' ({exc})") from exc
    return module.location(str(index))


__all__ = ["Changes", "Filter", "IndexBackend", "IndexInfo", "IndexLocation", "PassageId", "StoredDocument", "index_spec",
           "locate"]
