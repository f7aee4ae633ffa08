"""Exceptions raised at qa's edges, each with a message that tells the user what to do."""

from __future__ import annotations


class QAError(Exception):
    """Base class for every error qa raises on purpose; the CLI prints its message in one line."""


class SourcesError(QAError):
    """The sources folder is missing, empty or unusable."""


class DocumentError(QAError):
    """One source file cannot be loaded (unsupported type, unreadable, not text)."""


class IndexStoreError(QAError):
    """The index on disk is missing, damaged or cannot be written."""


class IndexUnavailableError(IndexStoreError):
    """The index cannot be reached right now (a server down or refusing, a folder another
    process holds): nothing is rebuilt; the user fixes the cause and tries again."""


class ModelError(QAError):
    """The embedding model cannot be loaded or does not fit the index."""


class ClusterError(QAError):
    """A build on a Ray cluster cannot run: Ray is not installed, or the cluster cannot be reached."""


class QuestionError(QAError, ValueError):
    """The question or its options cannot be used (empty question, bad k, unknown source, bad date).

    Also a `ValueError`, so callers that catch bad arguments that way catch it too.
    """
