"""The app's API (/ask, /ask_json, /status) through gradio_client against a real server, with its login."""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import logging  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from gradio_client import Client  # noqa: E402
from gradio_client.exceptions import AuthenticationError  # noqa: E402
from helpers import KURDISTAN, free_port  # noqa: E402

from qa import QA  # noqa: E402
from qa.readers import supported_types  # noqa: E402
from qa.uploads import MAX_DOCUMENT_UPLOAD_BYTES, MAX_UPLOAD_BYTES, UPLOAD_LIMITS  # noqa: E402
from qa.web import build_app, launch_options  # noqa: E402
from qa.web.collection import render_collection  # noqa: E402
from qa.web.render import NO_ANSWER  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def served(embedder, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[QA, str]]:
    """The real app over a copy of the seed articles, served on a free local port, with a login."""
    base = tmp_path_factory.mktemp("app")
    shutil.copytree(ROOT / "sources", base / "sources")
    qa = QA(base / "sources", base / "index", embedder=embedder)
    app = build_app(qa)
    options = launch_options(port=free_port(), auth=("ana", "s3cret"))
    app.launch(prevent_thread_lock=True, quiet=True, **options)
    try:
        yield qa, f"http://127.0.0.1:{options['server_port']}/"
    finally:
        app.close()


@pytest.fixture(scope="module")
def client(served: tuple[QA, str]) -> Client:
    return Client(served[1], auth=("ana", "s3cret"), verbose=False)


def test_ask_returns_the_cited_answer_as_markdown(client: Client) -> None:
    text = client.predict(KURDISTAN, api_name="/ask")
    assert isinstance(text, str)
    first = text.split("\n\n[2]")[0]
    assert first.startswith("[1] **") and "us-" in first and ".txt" in first
    assert "Kurdistan" in first and "**" in first.split("\n", 1)[1], "the answering sentence is in bold"
    assert "Also reported by" in text


def test_ask_json_gives_offsets_that_map_back_into_the_files(client: Client, served: tuple[QA, str]) -> None:
    qa, _ = served
    data = client.predict(KURDISTAN, k=3, api_name="/ask_json")
    assert data["question"] == KURDISTAN and data["answered"] is True
    assert 1 <= len(data["passages"]) <= 3
    for p in data["passages"]:
        file_text = (qa.sources / p["source"]).read_text(encoding="utf-8")
        assert file_text[p["start"]:p["end"]] == p["text"]
        assert file_text[p["highlight_start"]:p["highlight_end"]] == p["highlight"]
        assert {"title", "date", "score", "also_in"} <= set(p)


def test_api_filters_and_abstention(client: Client) -> None:
    only = "us-to-withdraw-most-troops-from-iraq.txt"
    data = client.predict(KURDISTAN, sources=[only], api_name="/ask_json")
    assert {p["source"] for p in data["passages"]} == {only}
    dated = client.predict(KURDISTAN, since="2024-09-01", until="2024-09-30", include_undated=False, api_name="/ask_json")
    assert {p["source"] for p in dated["passages"]} == {"us-military-presence-in-iraq-post-withdrawal.txt"}
    assert dated["undated_excluded"] == 1
    with_undated = client.predict(KURDISTAN, since="2024-09-01", until="2024-09-30", api_name="/ask_json")
    assert with_undated["undated_included"] == 1 and only in {p["source"] for p in with_undated["passages"]}
    text = client.predict("What is a good recipe for banana bread?", api_name="/ask")
    assert text.startswith(f"**{NO_ANSWER}**")


def test_api_reads_a_follow_up_against_its_history(client: Client) -> None:
    data = client.predict("and in Syria?", history=["how many US troops are in Iraq?"], api_name="/ask_json")
    assert data["understood_as"] == "how many US troops are in Syria?"
    assert "900" in data["passages"][0]["highlight"]
    text = client.predict("and in Syria?", history=["how many US troops are in Iraq?"], api_name="/ask")
    assert text.startswith("*Read as “how many US troops are in Syria?”")


def test_api_errors_carry_the_message(client: Client) -> None:
    with pytest.raises(Exception, match="question is empty"):
        client.predict("   ", api_name="/ask")
    with pytest.raises(Exception, match="YYYY-MM-DD"):
        client.predict(KURDISTAN, since="last week", api_name="/ask_json")


def test_status_says_what_the_index_holds(client: Client) -> None:
    assert re.fullmatch(r"2 articles, \d+ passages; up to date", client.predict(api_name="/status"))


def test_a_refused_question_logs_one_line_not_a_traceback(client: Client, caplog: pytest.LogCaptureFixture,
                                                           capfd: pytest.CaptureFixture[str]) -> None:
    with caplog.at_level(logging.WARNING, logger="qa"), pytest.raises(Exception, match="question is empty"):
        client.predict("   ", api_name="/ask")
    refused = [r for r in caplog.records if r.getMessage().startswith("question not answered: the question is empty")]
    assert len(refused) == 1 and refused[0].levelno == logging.WARNING and refused[0].exc_info is None
    assert "Traceback" not in capfd.readouterr().err


def test_upload_limits_by_type_in_the_label_the_check_and_gradio(seed_qa: QA) -> None:
    assert launch_options()["max_file_size"] == max(UPLOAD_LIMITS.values()) == MAX_DOCUMENT_UPLOAD_BYTES
    assert (MAX_UPLOAD_BYTES, MAX_DOCUMENT_UPLOAD_BYTES) == (5 * 1024 * 1024, 50 * 1024 * 1024)
    upload = next(c for c in build_app(seed_qa).get_config_file()["components"] if c["props"].get("elem_id") == "qa-upload")
    assert upload["props"]["label"] == f"Add articles ({supported_types()}; up to 5 MB; .pdf and .docx up to 50 MB)"
    assert "Add .txt, .md, .markdown, .html, .htm, .pdf or .docx files" in render_collection([])


def test_the_login_is_required(served: tuple[QA, str]) -> None:
    with pytest.raises(AuthenticationError, match="credentials were not provided"):
        Client(served[1], verbose=False).predict(KURDISTAN, api_name="/ask")
