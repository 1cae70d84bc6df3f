"""`thidua doctor` against FakeTelegram and FakeZalo: good and bad tokens, an unmigrated
store, a webhook that differs from the settings, other processes on a SQLite database."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.core.db import engine_for, migrate
from tests.conftest import PG_URL
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.zalo_api import FakeZalo

ROOT = Path(__file__).resolve().parent.parent


async def doctor(*args: str, **env: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "doctor",
        *args,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def by_name(report: dict) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for check in report["checks"]:
        found.setdefault(check["check"], []).append(check)
    return found


async def test_all_good_with_both_platforms(ready):
    async with FakeTelegram() as tg, FakeZalo() as zalo:
        env = {
            "TELEGRAM_BOT_TOKEN": tg.token,
            "TELEGRAM_BASE_URL": tg.root,
            "ZALO_BOT_TOKEN": zalo.token,
            "ZALO_BASE_URL": zalo.root,
        }
        code, out, err = await doctor("--json", **env)
        assert code == 0, out + err
        report = json.loads(out)
        checks = by_name(report)
        assert report["ok"] is True
        assert checks["telegram"][0]["status"] == "ok" and "@thidua_test_bot" in out
        assert checks["zalo"][0] == {
            "check": "zalo",
            "status": "ok",
            "message": "getMe: Bot Thi Dua",
            "fix": "",
        }
        for name in ("database", "migrations", "campaign", "home", "attachments", "disk"):
            assert checks[name][0]["status"] in ("ok", "warn"), checks[name]
        assert checks["migrations"][0]["status"] == "ok"
        assert checks["telegram updates"][0]["status"] == "ok"
        assert tg.token not in out + err and zalo.token not in out + err
        # The text form: one line a check, the same verdict.
        code, text, _ = await doctor(**env)
        assert code == 0 and len(text.strip().splitlines()) == len(report["checks"])


async def test_bad_tokens_fail_with_the_fix(ready):
    async with FakeTelegram() as tg, FakeZalo() as zalo:
        bad_tg, bad_zalo = "123456789:AAF-not-the-right-token-at-all", "999:not-the-right-one"
        code, out, err = await doctor(
            "--json",
            TELEGRAM_BOT_TOKEN=bad_tg,
            TELEGRAM_BASE_URL=tg.root,
            ZALO_BOT_TOKEN=bad_zalo,
            ZALO_BASE_URL=zalo.root,
        )
    assert code == 1, out + err
    checks = by_name(json.loads(out))
    assert (
        checks["telegram"][0]["status"] == "fail"
        and "TELEGRAM_BOT_TOKEN" in (checks["telegram"][0]["fix"])
    )
    assert checks["zalo"][0]["status"] == "fail" and "ZALO_BOT_TOKEN" in checks["zalo"][0]["fix"]
    for secret in (bad_tg, bad_zalo, bad_tg.split(":")[1]):
        assert secret not in out + err


async def test_a_webhook_other_than_the_settings_is_a_warning(ready):
    async with FakeTelegram() as tg:
        code, out, _ = await doctor(
            "--json",
            TELEGRAM_BOT_TOKEN=tg.token,
            TELEGRAM_BASE_URL=tg.root,
            TELEGRAM_WEBHOOK_URL="https://bot.example.gov.vn/telegram",
        )
    assert code == 0
    hook = by_name(json.loads(out))["telegram webhook"][0]
    assert hook["status"] == "warn" and "https://bot.example.gov.vn/telegram" in hook["message"]


async def test_an_unmigrated_store_fails_and_says_run_init(database):
    code, out, _ = await doctor("--json")
    assert code == 1
    checks = by_name(json.loads(out))
    assert checks["migrations"][0]["status"] == "fail"
    assert "thidua init" in checks["migrations"][0]["fix"]
    assert checks["channels"][0]["status"] == "warn"  # no token: the console demo


@pytest.mark.skipif(bool(PG_URL) or not sys.platform.startswith("linux"), reason="SQLite, /proc")
async def test_other_processes_on_a_sqlite_store_are_named(ready, database):
    migrate(database)
    engine_for(database).dispose()  # the holders' parent (this process) must not hold it too
    path = database.removeprefix("sqlite:///")
    hold = (
        "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1]); "
        "c.execute('select count(*) from sqlite_master').fetchall(); "
        "print('ok', flush=True); time.sleep(60)"
    )
    holders = [
        subprocess.Popen([sys.executable, "-c", hold, path], stdout=subprocess.PIPE)
        for _ in range(2)
    ]
    try:
        for holder in holders:
            assert holder.stdout is not None and holder.stdout.readline().strip() == b"ok"
        code, out, _ = await doctor("--json")
    finally:
        for holder in holders:
            holder.kill()
            holder.wait()
            assert holder.stdout is not None
            holder.stdout.close()
    assert code == 0
    check = by_name(json.loads(out))["processes"][0]
    assert check["status"] == "warn" and "PostgreSQL" in check["fix"]
    for holder in holders:
        assert str(holder.pid) in check["message"]
