"""`thidua audit` reads what real turns wrote; THIDUA_LOG_FORMAT=json writes one JSON object a
line, APScheduler's job list only at DEBUG, and no token in any line."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.main import app
from bot.core.db import session_scope
from bot.core.store import audit
from tests.conftest import at
from tests.fakes.telegram_api import FakeTelegram
from tests.pushes_helpers import wait_until
from tests.telegram_helpers import telegram_settings

ROOT = Path(__file__).resolve().parent.parent


def file_report(chat) -> None:
    chat.say("/baocao")
    chat.say("2")
    chat.say("Rút ngắn thời gian cấp phép")
    chat.say("Giảm 30% thời gian giải quyết thủ tục.")
    chat.press("Bỏ qua")
    chat.press("Xác nhận")


def test_audit_filters_by_person_kind_and_since(people, chat_as):
    lan = people.add(name="Nguyễn Thị Lan")
    binh = people.add(name="Trần Văn Bình")
    at("2022-05-10T09:00:00+07:00")
    file_report(chat_as(lan))
    at("2022-05-12T09:00:00+07:00")
    file_report(chat_as(binh))
    with session_scope() as session:
        audit(session=session, action="invite.issue", subject="QLCN", detail={"count": 3})

    runner = CliRunner()
    done = runner.invoke(app, ["audit", "--json", "--kind", "report"])
    assert done.exit_code == 0, done.output
    found = json.loads(done.stdout)
    assert [(e["action"], e["person"]) for e in found] == [
        ("report.save", "Nguyễn Thị Lan"),
        ("report.save", "Trần Văn Bình"),
    ]
    assert found[0]["subject"] == "BC-2022-0001" and found[0]["detail"]["phase"] == 1

    by_name = json.loads(runner.invoke(app, ["audit", "--json", "--person", "bình"]).stdout)
    assert {e["person"] for e in by_name} == {"Trần Văn Bình"}
    by_id = json.loads(runner.invoke(app, ["audit", "--json", "--person", str(lan.id)]).stdout)
    assert {e["person_id"] for e in by_id} == {lan.id}
    since = json.loads(
        runner.invoke(app, ["audit", "--json", "--since", "2022-05-11", "--kind", "report"]).stdout
    )
    assert [e["subject"] for e in since] == ["BC-2022-0002"]

    text = runner.invoke(app, ["audit", "--kind", "invite"])
    assert text.exit_code == 0
    (line,) = text.stdout.strip().splitlines()
    assert "invite.issue" in line and "QLCN" in line and '"count": 3' in line
    bad = runner.invoke(app, ["audit", "--since", "hôm qua"])
    assert bad.exit_code == 2 and "--since" in bad.output


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
async def test_json_logs_parse_with_chatter_only_at_debug(ready, monkeypatch, tmp_path, level):
    async with FakeTelegram() as tg:
        telegram_settings(monkeypatch, tg, THIDUA_LOG_FORMAT="json", THIDUA_LOG_LEVEL=level)
        log = tmp_path / "bot.log"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        with log.open("w") as out:
            bot = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot.cli", "run", env=env, stdout=out, stderr=out
            )
        try:
            await wait_until(lambda: "thidua running" in log.read_text(), timeout=60)
        finally:
            bot.terminate()
            assert await asyncio.wait_for(bot.wait(), 60) == 0
    ours, child = [], []
    for line in log.read_text().splitlines():
        try:
            ours.append(json.loads(line))
        except ValueError:
            child.append(line)
    # The delivery process logs as its parent does (THIDUA_LOG_FORMAT): every line is JSON
    assert child == []
    assert any("delivery: sending for telegram" in e["message"] for e in ours)
    assert ours and all({"at", "level", "logger", "message"} <= e.keys() for e in ours)
    assert any("thidua running" in e["message"] for e in ours)
    chatter = [e for e in ours if e["logger"].startswith("apscheduler")]
    assert bool(chatter) == (level == "DEBUG")
    secret = tg.token.split(":")[1]
    assert tg.token not in log.read_text() and secret not in log.read_text()
