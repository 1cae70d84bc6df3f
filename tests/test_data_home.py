"""The data home: one store wherever a command is started from; .env from the working
directory and from THIDUA_HOME; `thidua init` says when it made the home."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def thidua(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("THIDUA_", "TELEGRAM_", "ZALO_", "DATABASE_URL"))
    }
    clean["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=cwd,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_one_store_from_any_working_directory(tmp_path):
    home, first, second = tmp_path / "home", tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    done = thidua("init", cwd=first, THIDUA_HOME=str(home))
    assert done.returncode == 0, done.stderr
    assert str(home) in done.stdout  # "created the data home <path>"
    assert (home / "thidua.db").is_file()
    assert not (first / "thidua.db").exists()
    # The store is named once in the log: which database, which home.
    assert sum(str(home / "thidua.db") in line for line in done.stderr.splitlines()) == 1

    listed = thidua("units", "list", "--json", cwd=second, THIDUA_HOME=str(home))
    assert listed.returncode == 0, listed.stderr
    assert {u["code"] for u in json.loads(listed.stdout)} >= {"QLCN", "TTKC"}
    assert list(second.iterdir()) == []

    again = thidua("init", cwd=second, THIDUA_HOME=str(home))
    assert again.returncode == 0 and str(home) not in again.stdout


def test_default_home_is_the_platform_data_folder(tmp_path):
    data = tmp_path / "xdg"
    done = thidua("init", cwd=tmp_path, XDG_DATA_HOME=str(data), HOME=str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert (data / "thidua" / "thidua.db").is_file()


def test_env_files_in_the_home_and_the_working_directory(tmp_path):
    home, cwd = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    cwd.mkdir()
    (home / ".env").write_text("THIDUA_LANG=en\nTHIDUA_EXPORTS=from-home\n")
    done = thidua("init", cwd=cwd, THIDUA_HOME=str(home))
    assert done.returncode == 0, done.stderr
    assert "Ready: campaign" in done.stdout  # English, from the home's .env
    # THIDUA_HOME itself may come from the working directory's .env; that file wins.
    (cwd / ".env").write_text(f"THIDUA_HOME={home}\nTHIDUA_LANG=vi\n")
    out = thidua("export", "--format", "csv", cwd=cwd)
    assert out.returncode == 0, out.stderr
    written = list((cwd / "from-home").glob("*.csv"))
    assert len(written) == 1 and written[0].name in out.stdout
    assert "Written" not in out.stdout  # Vietnamese now


def test_an_export_without_out_goes_to_the_homes_exports(tmp_path):
    home = tmp_path / "home"
    done = thidua("export", cwd=tmp_path, THIDUA_HOME=str(home))
    assert done.returncode == 0, done.stderr
    files = list((home / "exports").iterdir())
    assert len(files) == 1 and files[0].suffix == ".xlsx" and files[0].stat().st_size > 0
