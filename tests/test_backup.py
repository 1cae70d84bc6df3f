"""`thidua backup` and `thidua restore` as an IT person runs them: a backup taken under a
stream of writes restores into an empty home with the same counts and checksums; an older
archive is migrated; a damaged one is refused; nothing is restored while a bot runs."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from bot.core.db import alembic_config, engine_for, session_scope
from bot.core.settings import get_settings
from bot.core.store import audit
from tests.conftest import PG_URL, _reset_postgres
from tests.fakes.telegram_api import FakeTelegram
from tests.pushes_helpers import wait_until
from tests.telegram_helpers import telegram_settings

ROOT = Path(__file__).resolve().parent.parent


def thidua(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def counts(url: str) -> dict[str, int]:
    engine_for(url).dispose()  # a restore replaced the SQLite file: open it afresh
    with engine_for(url).connect() as conn:
        names = sa.inspect(conn).get_table_names()
        return {
            n: conn.execute(sa.select(sa.func.count()).select_from(sa.table(n))).scalar_one()
            for n in names
        }


def attachments(n: int = 3) -> dict[str, bytes]:
    folder = Path(get_settings().attachments_dir)
    files = {}
    for i in range(n):
        path = folder / "telegram" / str(i) / f"evidence-{i}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        data = os.urandom(1000 + i)
        path.write_bytes(data)
        files[path.relative_to(folder).as_posix()] = data
    return files


def empty_target(tmp_path: Path) -> dict[str, str]:
    """The environment of an empty data home (PostgreSQL: the same database, emptied)."""
    home = tmp_path / "new-home"
    env = {"THIDUA_HOME": str(home), "THIDUA_ATTACHMENTS": str(home / "attachments")}
    if PG_URL:
        engine_for(PG_URL).dispose()
        _reset_postgres(PG_URL)
        env["DATABASE_URL"] = PG_URL
    else:
        env["DATABASE_URL"] = ""  # the new home's own thidua.db
    return env


def target_url(env: dict[str, str]) -> str:
    return env["DATABASE_URL"] or f"sqlite:///{Path(env['THIDUA_HOME']) / 'thidua.db'}"


def test_backup_under_writes_restores_equal_into_an_empty_home(people, tmp_path):
    for _ in range(5):
        people.add()
    files = attachments()
    stop = threading.Event()
    written = []

    def write() -> None:  # the bot at work while the backup is taken
        while not stop.is_set():
            with session_scope() as session:
                audit(session=session, action="test.write", subject=str(len(written)))
            written.append(1)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        archive = tmp_path / "out" / "b.tar.gz"
        done = thidua("backup", "--out", str(archive), "--json")
    finally:
        stop.set()
        writer.join()
    assert done.returncode == 0, done.stderr
    manifest = json.loads(done.stdout)
    assert written and manifest["archive"] == str(archive) and archive.is_file()
    assert manifest["migration_head"] and manifest["version"]
    assert manifest["counts"]["person"] == 5 and manifest["counts"]["unit"] > 0
    assert manifest["counts"]["auditevent"] > 0
    for name, data in files.items():
        assert manifest["files"][f"attachments/{name}"] == hashlib.sha256(data).hexdigest()

    env = empty_target(tmp_path)
    restored = thidua("restore", str(archive), "--json", **env)
    assert restored.returncode == 0, restored.stderr
    report = json.loads(restored.stdout)
    assert report["verified"] is True and report["attachments"] == len(files)
    assert report["migration_head"] == manifest["migration_head"]
    assert counts(target_url(env)) == manifest["counts"]
    home_files = Path(env["THIDUA_ATTACHMENTS"])
    for name, data in files.items():
        assert (home_files / name).read_bytes() == data

    # Restoring again over a store that holds data needs --force.
    again = thidua("restore", str(archive), **env)
    assert again.returncode == 1 and "--force" in again.stderr
    forced = thidua("restore", str(archive), "--force", **env)
    assert forced.returncode == 0, forced.stderr
    assert str(archive) in forced.stdout


def test_a_damaged_archive_is_refused_and_nothing_restored(people, tmp_path):
    people.add()
    attachments(1)
    archive = tmp_path / "b.tar.gz"
    assert thidua("backup", "--out", str(archive)).returncode == 0
    damaged = tmp_path / "damaged.tar.gz"
    with tarfile.open(archive) as src, tarfile.open(damaged, "w:gz") as dst:
        for info in src:
            data = src.extractfile(info).read()
            if info.name.startswith("attachments/"):
                data = b"x" + data[1:]
            dst.addfile(info, io.BytesIO(data))
    env = empty_target(tmp_path)
    done = thidua("restore", str(damaged), **env)
    assert done.returncode == 1
    assert "attachments/" in done.stderr  # names the damaged member
    assert not Path(env["THIDUA_ATTACHMENTS"]).exists()
    assert not (Path(env["THIDUA_HOME"]) / "thidua.db").exists() or PG_URL
    not_an_archive = tmp_path / "x.tar.gz"
    not_an_archive.write_bytes(b"hello")
    assert thidua("restore", str(not_an_archive), **env).returncode == 1


def test_an_older_archive_is_migrated(database, tmp_path):
    command.upgrade(alembic_config(database), "0001")
    archive = tmp_path / "old.tar.gz"
    made = thidua("backup", "--out", str(archive), "--json")
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["migration_head"] == "0001"
    env = empty_target(tmp_path)
    done = thidua("restore", str(archive), "--json", **env)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["migrated_from"] == "0001" and report["migration_head"] != "0001"
    with engine_for(target_url(env)).connect() as conn:
        head = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    assert head == report["migration_head"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="flock, /proc")
async def test_restore_is_refused_while_a_bot_runs(people, monkeypatch, tmp_path):
    people.add()
    archive = tmp_path / "b.tar.gz"
    assert thidua("backup", "--out", str(archive)).returncode == 0
    people.add()
    before = counts(get_settings().database_url)
    async with FakeTelegram() as tg:
        telegram_settings(monkeypatch, tg)
        log = tmp_path / "bot.log"
        with log.open("w") as out:
            bot = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot.cli",
                "run",
                env={**os.environ, "PYTHONPATH": str(ROOT)},
                stdout=out,
                stderr=out,
            )
        try:
            await wait_until(lambda: "pushes: leader" in log.read_text(), timeout=60)
            done = await asyncio.to_thread(thidua, "restore", str(archive), "--force")
        finally:
            bot.terminate()
            await asyncio.wait_for(bot.wait(), 60)
    assert done.returncode == 1, done.stdout
    assert "--force" not in done.stderr  # refused for the running bot, before anything else
    assert counts(get_settings().database_url)["person"] == before["person"]  # untouched
    # Once the bot is stopped, the same restore goes through.
    done = thidua("restore", str(archive), "--force")
    assert done.returncode == 0, done.stderr
    assert counts(get_settings().database_url)["person"] == before["person"] - 1


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL is backed up with pg_dump")
def test_a_missing_pg_dump_is_named(ready, tmp_path):
    done = thidua("backup", "--out", str(tmp_path / "b.tar.gz"), PATH=str(tmp_path))
    assert done.returncode == 1
    assert "pg_dump" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "b.tar.gz").exists()
