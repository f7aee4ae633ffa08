"""Start the browser chat: `python app.py` prints the local URL.

The page serves at once from the index on disk (if any) while the index is brought up to
date in the background; the page's status line and the log show how far it has got.

Options: --sources picks the folder of articles, --index the index (a folder, or an index
string such as qdrant://HOST:6333/COLLECTION or qdrant+file:PATH), --port (or
GRADIO_SERVER_PORT) the port, --host the address to listen on (default 127.0.0.1: this machine
only). QA_AUTH=user:password turns on a login.

Example:
    $ python app.py --sources sources --index index --port 7860
"""

from __future__ import annotations

import argparse  # noqa: E402
import logging  # noqa: E402
import os
import socket
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from typing import TYPE_CHECKING  # noqa: E402

import qa.offline  # noqa: F401 - sets the offline environment before anything reads it

if TYPE_CHECKING:
    from qa.pipeline import QA


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line options.

    Example:
        >>> parse_args(["--port", "7861"]).port
        7861
    """
    from qa.config import Settings
    from qa.readers import supported_types

    defaults = Settings()
    parser = argparse.ArgumentParser(description="Ask a folder of articles questions in the browser.")
    parser.add_argument("--sources", default=defaults.sources,
                        help=f"folder of {supported_types(' and ')} documents (default: %(default)s)")
    parser.add_argument("--index", default=defaults.index,
                        help="folder that holds the index, or an index string: qdrant://HOST:6333/COLLECTION, "
                             "qdrants://... (https), qdrant+file:PATH (default: %(default)s)")
    port = os.environ.get("GRADIO_SERVER_PORT")
    parser.add_argument("--port", type=int, default=int(port) if port else 7860,
                        help="port (default: $GRADIO_SERVER_PORT or 7860)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s, this machine only)")
    return parser.parse_args(argv)


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """The login from a QA_AUTH value ("user:password"), or None for no login.

    Example:
        >>> parse_auth("ana:s3cret"), parse_auth("")
        (('ana', 's3cret'), None)
    """
    if not value:
        return None
    user, colon, password = value.partition(":")
    if not (colon and user and password):
        raise SystemExit("app.py: QA_AUTH must be user:password")
    return user, password


def port_problem(host: str, port: int) -> str | None:
    """Why the page cannot listen on host:port (taken, or not an address here), or None when it can.

    Checked before the model loads, so a busy port costs a second, not a traceback after the wait.

    Example:
        >>> port_problem("127.0.0.1", 0) is None
        True
    """
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            taken = exc.errno == 98  # EADDRINUSE
            why = "is in use (another app?)" if taken else f"cannot be used ({exc.strerror or exc})"
            return f"port {port} on {host} {why}: pass --port with a free one, or set GRADIO_SERVER_PORT"
    return None


def announce_when_indexed(qa: QA) -> None:
    """Print the status line once the update started with the app is done."""
    qa.wait()
    print(f"qa: {qa.status()}", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Open the collection (indexing in the background), warm the model, build the page and serve it until interrupted.

    Example:
        >>> main(["--sources", "sources", "--index", "index", "--port", "7861"])   # doctest: +SKIP
    """
    args = parse_args(argv)
    auth = parse_auth(os.environ.get("QA_AUTH"))
    problem = port_problem(args.host, args.port)
    if problem:
        print(f"app.py: error: {problem}", file=sys.stderr)
        return 2
    logging.basicConfig(format="qa: %(message)s", level=logging.WARNING)
    logging.getLogger("qa").setLevel(logging.INFO)  # indexing progress, articles removed, questions refused
    started = time.monotonic()
    from qa.errors import QAError
    from qa.pipeline import QA
    from qa.web import build_app, launch_options, warm_up

    try:
        qa = QA(args.sources, args.index, wait=False)
    except QAError as exc:
        print(f"app.py: error: {exc}", file=sys.stderr)
        return 2
    warm_up(qa)
    app = build_app(qa)
    print(f"qa: {args.sources}: {qa.status()}; ready in {time.monotonic() - started:.1f} s", flush=True)
    if qa.indexing:
        threading.Thread(target=announce_when_indexed, args=(qa,), daemon=True).start()
    try:
        app.launch(**launch_options(host=args.host, port=args.port, auth=auth))
    except OSError as exc:  # the port was taken while the model loaded
        print(f"app.py: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
