"""The command line as a finished tool: --json on every command that prints, one-line errors
in the user's language (a traceback only with --debug), --version, tables for listings."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.main import app
from bot.core.settings import get_settings
from tests.cli_table import table_rows

ENGLISH = re.compile(r"\b(should|must|Input|String|Error|error|file|not|the)\b")


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def thidua(*args: str) -> subprocess.CompletedProcess[str]:
    """The real `thidua` command (its `main`, which turns OS errors into one line)."""
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        env=os.environ | {"PYTHONPATH": os.getcwd() + os.pathsep + sys.path[0]},
        check=False,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )


def one_line_error(result, code: int = 1) -> str:
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def test_version():
    result = run("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"thidua {version('thidua')}"


def test_init_and_campaign_check_json(tmp_path):
    result = run("init", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "campaign": "cong-thuong-ha-tinh-2022",
        "year": 2022,
        "phases": 2,
        "units": 7,
        "source": None,
        "home_created": True,  # the test's data home was empty
    }
    bad = tmp_path / "bad.toml"
    bad.write_text('code = "x"\nyear = "hai nghìn"\n', encoding="utf-8")
    result = run("campaign", "check", str(bad), "--json")
    assert result.exit_code == 1
    shown = json.loads(result.stdout)
    assert shown["ok"] is False
    assert {"path": str(bad), "line": 2} in [
        {k: p[k] for k in ("path", "line")} for p in shown["errors"]
    ]
    for problem in shown["errors"]:
        assert not ENGLISH.search(problem["message"]), problem


def test_campaign_check_says_what_is_wrong_in_vietnamese(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('code = "Có Dấu"\nyear = "hai nghìn"\n', encoding="utf-8")
    result = run("campaign", "check", str(bad))
    assert result.exit_code == 1
    for line in result.stderr.strip().splitlines():
        assert line.startswith(f"{bad}:"), line
        assert not ENGLISH.search(line.split(": ", 1)[1]), line
    line = one_line_error(run("campaign", "check", str(tmp_path / "none.toml")))
    assert line == f"{tmp_path / 'none.toml'}:0: không đọc được tệp: không có tệp này"


def test_imports_json_and_one_line_errors(tmp_path, ready):
    units = tmp_path / "units.csv"
    units.write_text("code,name\nKTAT,Phòng Kỹ thuật An toàn\n", encoding="utf-8")
    result = run("units", "import", str(units), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"file": str(units), "imported": 1}
    people = tmp_path / "people.csv"
    people.write_text("name,unit,role\nLê Văn A,KTAT,staff\nLê Văn B,KTAT,head\n", "utf-8")
    shown = json.loads(run("people", "import", str(people), "--json").stdout)
    assert [p["name"] for p in shown["added"]] == ["Lê Văn A", "Lê Văn B"]  # the roster report
    assert shown["changed"] == [] and shown["missing"] == []

    missing = tmp_path / "khong-co.csv"
    line = one_line_error(run("units", "import", str(missing)))
    assert line == f"{missing}: không đọc được tệp: không có tệp này"
    line = one_line_error(run("people", "import", str(tmp_path)))
    assert line == f"{tmp_path}: không đọc được tệp: đây là thư mục, không phải tệp"

    # a people file imported as units: the missing column is named once, not every row
    line = one_line_error(run("units", "import", str(people)))
    assert line == (f"{people}: dòng tiêu đề thiếu cột “mã” (các cột có: “name”, “unit”, “role”)")
    result = run("units", "import", str(people), "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["problems"] == [line.split(": ", 1)[1]]
    single = tmp_path / "one-column.csv"
    single.write_text("họ tên\nLê Văn C\n", encoding="utf-8")
    line = one_line_error(run("people", "import", str(single)))
    # the roster names the missing column once, and which columns it takes
    assert line.startswith(f"{single}: tệp không có cột “Đơn vị” (bắt buộc: họ tên, đơn vị;")


def test_launch_and_outbox_retry_json(ready, monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    get_settings.cache_clear()
    result = run("launch", "--json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["key"].startswith("push:cong-thuong-ha-tinh-2022:launch")
    assert shown["queued"] == shown["total"] == 0 and shown["channels"] == ["telegram"]
    result = run("outbox", "retry", "--failed", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"waiting": 0, "failed": 0}


def test_listings_are_tables(ready, monkeypatch):
    monkeypatch.setenv("THIDUA_NOW", "2022-05-10T09:00:00+07:00")
    get_settings.cache_clear()
    result = run("units", "list")
    assert result.exit_code == 0
    rows = table_rows(result.stdout)
    assert rows[0] == ["Mã", "Đơn vị", "Văn phòng"]
    assert ["VP", "Văn phòng Sở", "Có"] in rows
    result = run("invite", "--unit", "QLCN", "--role", "head", "--count", "2")
    rows = table_rows(result.stdout)
    assert rows[0] == ["Mã mời", "Đơn vị", "Vai trò", "Hiệu lực đến"]
    assert [r[1:] for r in rows[1:]] == [["QLCN", "trưởng đơn vị", "09/06/2022"]] * 2
    result = run("calendar")
    rows = table_rows(result.stdout)
    assert rows[0] == ["Thời điểm gửi", "Loại", "Sự kiện"]
    assert {r[1] for r in rows[1:]} >= {"phát động", "ngày kỷ niệm", "hạn tổng kết"}


def test_a_bad_setting_is_one_vietnamese_line(monkeypatch):
    monkeypatch.setenv("THIDUA_UPLOAD_MAX_MB", "-1")
    get_settings.cache_clear()
    line = one_line_error(run("units", "list"), code=2)
    assert line == "THIDUA_UPLOAD_MAX_MB: phải lớn hơn 0"
    monkeypatch.setenv("THIDUA_UPLOAD_MAX_MB", "1")
    monkeypatch.setenv("THIDUA_LANG", "fr")
    get_settings.cache_clear()
    line = one_line_error(run("units", "list"), code=2)
    assert line == "THIDUA_LANG: “fr” không đúng dạng yêu cầu (^(vi|en)$)"


@pytest.mark.parametrize("debug", [False, True])
def test_a_file_that_cannot_be_written(tmp_path, ready, debug):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    args = ["export", "--out", str(blocker / "out.xlsx")]
    done = thidua(*(["--debug", *args] if debug else args))
    assert done.returncode == 1
    if debug:
        assert "Traceback" in done.stderr
    else:
        # (before it, the one log line naming the database: issue 17's data home)
        last = done.stderr.strip().splitlines()[-1]
        assert last == f"Không dùng được tệp {blocker}: đã có một tệp trùng tên."
        assert "Traceback" not in done.stderr


def test_export_picks_a_dated_name_and_says_it_in_json(tmp_path, ready, monkeypatch):
    monkeypatch.setenv("THIDUA_NOW", "2022-05-10T09:00:00+07:00")
    get_settings.cache_clear()
    result = run("export")
    assert result.exit_code == 0, result.output
    name = "cong-thuong-ha-tinh-2022-tong-hop-ca-nam-20220510.xlsx"
    exports = get_settings().exports_dir  # THIDUA_EXPORTS, in the data home by default
    assert result.output == f"Đã ghi tệp: {Path(exports) / name}\n"  # piped: one line
    assert (Path(exports) / name).stat().st_size > 0
    result = run("export", "--format", "docx", "--json")
    shown = json.loads(result.stdout)
    assert Path(shown["path"]).name == "cong-thuong-ha-tinh-2022-bao-cao-dot-1-20220510.docx"
    assert shown["format"] == "docx" and shown["phase"] == 1 and shown["bytes"] > 0
    result = run("export", "--format", "csv", "--table", "units", "--delimiter", ";", "--json")
    shown = json.loads(result.stdout)
    assert shown["table"] == "units"
    assert Path(shown["path"]).name == "cong-thuong-ha-tinh-2022-don-vi-ca-nam-20220510.csv"
    line = one_line_error(run("export", "--format", "csv", "--delimiter", ";;"), code=2)
    assert line == "--delimiter phải là một ký tự, ví dụ ; hoặc dấu tab."


def test_a_command_written_wrong_is_one_line_in_the_users_language(ready):
    for args, said in (
        (["export", "--nope"], "Không có tùy chọn --nope. Xem: thidua export --help"),
        (["units", "import"], "Thiếu FILE. Xem: thidua units import --help"),
        (
            ["export", "--format", "pdf"],
            "Giá trị của --format không hợp lệ. Xem: thidua export --help",
        ),
        (["khong-co"], "Không có lệnh này. Xem: thidua --help"),
    ):
        done = thidua(*args)
        assert done.returncode == 2, done.stderr
        assert done.stderr.strip() == said
    assert thidua("--version").returncode == 0
