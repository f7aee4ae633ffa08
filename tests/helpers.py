"""What several test modules share: a free port, the seed corpus's standard question, and a
small article (with its question) that the seed corpus cannot answer."""

from __future__ import annotations

import socket

KURDISTAN = "how many troops stay in Kurdistan?"

TROMSO = """Zebra crossing trial begins in Tromsø

The city council of Tromsø painted 17 purple zebra crossings on Tuesday as part of a winter visibility trial.
Officials said the purple paint stays visible under snow far longer than white paint does.
"""
TROMSO_QUESTION = "How many purple zebra crossings did Tromsø paint?"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
