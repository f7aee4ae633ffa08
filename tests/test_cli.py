"""The `qa` command as a user runs it: real subprocesses, real index, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # every test runs the qa command in a subprocess


def qa(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "qa.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_help_explains_both_commands(tmp_path: Path) -> None:
    out = qa("--help", cwd=tmp_path)
    assert out.returncode == 0
    assert "qa index" in out.stdout and 'qa ask "question"' in out.stdout


def test_index_then_ask(seed_dir: Path, tmp_path: Path) -> None:
    index = tmp_path / "idx"
    built = qa("index", "--sources", str(seed_dir), "--index", str(index), cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    assert "2 added" in built.stdout
    again = qa("index", "--sources", str(seed_dir), "--index", str(index), cwd=tmp_path)
    assert "0 added" in again.stdout and "2 unchanged" in again.stdout and "0 passages embedded" in again.stdout

    folders = ("--sources", str(seed_dir), "--index", str(index))
    out = qa("ask", "how many troops stay in Kurdistan?", "-k", "3", *folders, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    first_block = out.stdout.split("\n\n")[0]
    assert "[1]" in first_block and "Kurdistan" in first_block and ".txt" in first_block
    assert ">>>" in first_block and "<<<" in first_block

    as_json = qa("ask", "Who is Iraq's defense minister?", "--json", *folders, cwd=tmp_path)
    data = json.loads(as_json.stdout)
    assert data["answered"] and "Thabit al-Abbasi" in data["passages"][0]["highlight"]


def test_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    missing = qa("ask", "anything?", "--sources", str(tmp_path / "nope"), "--index", str(tmp_path / "i"), cwd=tmp_path)
    assert missing.returncode == 2
    assert "does not exist" in missing.stderr and "Traceback" not in missing.stderr

    (tmp_path / "empty").mkdir()
    empty = qa("index", "--sources", str(tmp_path / "empty"), "--index", str(tmp_path / "i"), cwd=tmp_path)
    assert empty.returncode == 2 and "no documents" in empty.stderr and "Traceback" not in empty.stderr

    blank = qa("ask", "   ", "--sources", str(tmp_path / "empty"), "--index", str(tmp_path / "i"), cwd=tmp_path)
    assert blank.returncode == 2 and "Traceback" not in blank.stderr
