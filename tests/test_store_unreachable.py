"""A database that cannot be opened or reached stops the command line with one line that names
it (password hidden) and DATABASE_URL, and exit 1; `--debug` shows the traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def thidua(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:////nonexistent-folder-of-thidua/thidua.db",
        f"postgresql://thidua:s3cret@127.0.0.1:{_free_port()}/thidua",  # nobody listens there
    ],
)
@pytest.mark.parametrize("command", [["init"], ["summary"], ["outbox"]])
def test_an_unreachable_store_is_one_line_and_exit_1(url, command):
    done = thidua(url, *command)
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "DATABASE_URL" in lines[0] and "Traceback" not in done.stderr
    assert "s3cret" not in done.stderr


def test_debug_shows_the_traceback():
    done = thidua("sqlite:////nonexistent-folder-of-thidua/thidua.db", "--debug", "init")
    assert done.returncode == 1 and "Traceback" in done.stderr
