"""qa: ask a folder of articles a question, get back the passages that answer it, with sources.

The public API is what this module exports:

    >>> from qa import ask, QA
    >>> answer = ask("how many troops stay in Kurdistan?")      # doctest: +SKIP
    >>> answer.answered, answer.passages[0].source              # doctest: +SKIP
    (True, 'us-military-presence-in-iraq-post-withdrawal.txt')
    >>> qa = QA(sources="my-articles", index="my-index")          # doctest: +SKIP
    >>> qa = QA("my-articles", index="qdrant://qdrant.internal:6333/news")  # doctest: +SKIP
    >>> print(qa.ask("who is Iraq's defence minister?", k=3))    # doctest: +SKIP
    >>> chat = qa.conversation()                                  # doctest: +SKIP
    >>> chat.ask("how many US troops are in Iraq?")               # doctest: +SKIP
    >>> chat.ask("and in Syria?").understood_as                   # doctest: +SKIP
    'how many US troops are in Syria?'
"""

import qa.offline  # noqa: F401 - first: sets the offline environment before any library reads it
from qa.answers import Answer, AnswerSpan, Passage
from qa.collection import DocumentInfo
from qa.config import Settings
from qa.conversation import Conversation
from qa.errors import (
    ClusterError,
    DocumentError,
    IndexStoreError,
    IndexUnavailableError,
    ModelError,
    QAError,
    QuestionError,
    SourcesError,
)
from qa.indexing import IndexReport
from qa.pipeline import QA, ask, conversation

__all__ = [
    "QA",
    "Answer",
    "AnswerSpan",
    "ClusterError",
    "Conversation",
    "DocumentError",
    "DocumentInfo",
    "IndexReport",
    "IndexStoreError",
    "IndexUnavailableError",
    "ModelError",
    "Passage",
    "QAError",
    "QuestionError",
    "Settings",
    "SourcesError",
    "ask",
    "conversation",
]
