"""Campaign files: clear `path:line: what` errors, exit 1, nothing written; other offices load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from bot.cli.main import app
from bot.core.campaign_loader import bundled_path
from bot.core.db import engine

OTHER = Path(__file__).parent / "data" / "so-giao-duc-2023.toml"


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def broken(tmp_path: Path, old: str, new: str, count: int = 1) -> tuple[Path, int]:
    """The bundled file with one edit; returns the path and the edited line's number."""
    text = bundled_path().read_text(encoding="utf-8")
    assert old in text, old
    line = text[: text.index(old)].count("\n") + 1
    path = tmp_path / "broken.toml"
    path.write_text(text.replace(old, new, count), encoding="utf-8")
    return path, line


CASES = [
    # (old, new, expected message fragment, line offset from the edited line)
    ('theme = "Đoàn kết', 'motto = "Đoàn kết', "thiếu trường “theme”", None),
    ("deadline = 2022-07-15", "deadline = 2022-07-35", "TOML", 0),
    ("founded = 1930-02-03", 'founded = "03/02/1930"', "không phải là ngày hợp lệ", 0),
    ("end = 2022-06-30", "end = 2021-06-30", "đợt 1 kết thúc trước khi bắt đầu", 0),
    ("deadline = 2022-07-15", "deadline = 2022-06-15", "hạn tổng kết sớm hơn", 0),
    ('titles = ["CSTD-CS"]', 'titles = ["CSTD-XYZ"]', "“CSTD-XYZ”", 0),
    ('code = "TTRA"', 'code = "VP"', "mã đơn vị “VP” bị trùng", 0),
]


@pytest.mark.parametrize(("old", "new", "message", "offset"), CASES)
def test_loader_errors_name_the_line(tmp_path, old, new, message, offset):
    path, line = broken(tmp_path, old, new)
    result = run("campaign", "check", str(path))
    assert result.exit_code == 1
    first = result.stderr.strip().splitlines()[0]
    assert first.startswith(f"{path}:"), first
    assert message in first, first
    if offset is not None:
        assert first.startswith(f"{path}:{line + offset}:"), (first, line)


def test_missing_field_points_at_its_table(tmp_path):
    path, _line = broken(tmp_path, 'name = "Hoàng Văn Quảng"\n', "")
    result = run("campaign", "check", str(path))
    assert result.exit_code == 1
    text = path.read_text(encoding="utf-8")
    signer_line = text[: text.index("[plan.signer]")].count("\n") + 1
    assert f"{path}:{signer_line}: thiếu trường “plan.signer.name”" in result.stderr


def test_init_with_a_bad_file_writes_nothing(tmp_path, database):
    path, _line = broken(tmp_path, "end = 2022-06-30", "end = 2021-06-30")
    result = run("init", "--campaign", str(path))
    assert result.exit_code == 1
    tables = sa.inspect(engine()).get_table_names()
    assert "campaign" not in tables  # not even migrated: the file is checked first


def test_unreadable_file(tmp_path):
    result = run("campaign", "check", str(tmp_path / "nope.toml"))
    assert result.exit_code == 1
    assert "nope.toml:0: không đọc được tệp" in result.stderr


def test_another_office_loads_with_no_code_change():
    assert run("campaign", "check", str(OTHER)).exit_code == 0
    assert run("init", "--campaign", str(OTHER)).exit_code == 0
    events = json.loads(run("calendar", "--json").stdout)
    kinds = {e["kind"] for e in events}
    assert {"thematic_start", "thematic_deadline"} <= kinds
    assert {e["phase"] for e in events if e["phase"]} == {1, 2, 3}
    reminders = sorted(
        e["days_before"] for e in events if e["phase"] == 3 and e["kind"].startswith("deadline")
    )
    assert reminders == [0, 5]
    teacher = next(e for e in events if e["kind"] == "anniversary" and e["phase"] == 3)
    assert teacher["ordinal"] == 41 and teacher["at"] == "2023-11-20T07:30:00+07:00"
    shown = json.loads(run("campaign", "show", "--json").stdout)
    assert shown["code"] == "giao-duc-quang-tri-2023"
    assert [u["code"] for u in shown["units"]] == ["VP", "GDTH"]


def test_init_is_idempotent():
    first = run("init")
    second = run("init")
    assert first.exit_code == second.exit_code == 0
    with engine().connect() as conn:
        assert conn.execute(sa.text("select count(*) from campaign")).scalar() == 1
        assert conn.execute(sa.text("select count(*) from phase")).scalar() == 2
        assert conn.execute(sa.text("select count(*) from unit")).scalar() == 7


def test_loading_another_campaign_replaces_the_active_one_at_once(ready):
    from bot.core.campaign_loader import load_campaign
    from bot.core.db import session_scope
    from bot.core.store import active_campaign, load_into_store

    with session_scope() as session:
        assert active_campaign(session=session)[1].code == "cong-thuong-ha-tinh-2022"
    with session_scope() as session:
        load_into_store(session=session, campaign=load_campaign(OTHER), source="test")
    with session_scope() as session:
        row, campaign = active_campaign(session=session)
        assert row.code == campaign.code == "giao-duc-quang-tri-2023"
        assert campaign.year == 2023
