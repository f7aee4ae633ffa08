"""qdrant-client, an optional dependency (pip install 'qa[qdrant]'), imported in this one place.

Without it every name here is None: index strings still parse and a local index still works,
and the first call that needs the engine says what to install (`QdrantLocation.session`).

Example:
    >>> from qa.stores.qdrant.client import QdrantClient, models
    >>> (QdrantClient is None) == (models is None)
    True
"""

try:
    import httpx
    from qdrant_client import QdrantClient, models
    from qdrant_client.http.exceptions import ApiException, UnexpectedResponse
except ImportError:  # an optional dependency: index strings still parse without it
    QdrantClient = models = httpx = None  # type: ignore[assignment,misc]
    ApiException = UnexpectedResponse = None  # type: ignore[assignment,misc]

__all__ = ["ApiException", "QdrantClient", "UnexpectedResponse", "httpx", "models"]
