"""`/summary` (`/tonghop`) and `thidua summary`: exact figures from a store with known counts."""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from bot.cli.main import app
from bot.core import clock
from bot.core import models as m
from bot.core.db import engine, session_scope
from bot.core.settings import get_settings
from bot.core.store import active_campaign
from bot.core.summary import compile_summary
from tests.clerk_seed import HTML_NAME, seed
from tests.conftest import at


@pytest.fixture
def desk(people):
    return seed(people)


def lines(text: str) -> list[str]:
    return text.splitlines()


def test_clerk_sees_every_figure(desk, chat_as):
    chat = chat_as(desk.clerk)
    replies = chat.say("/summary")
    assert len(replies) == 1 and replies[0].image is None  # the test channel shows no image
    got = lines(chat.text)
    assert got[0] == "TỔNG HỢP PHONG TRÀO THI ĐUA: Đợt thi đua thứ nhất (01/01/2022 – 30/06/2022)"
    assert "Số liệu đến ngày 10/05/2022. Hạn tổng kết: 15/07/2022 (còn 66 ngày)." in got
    assert "Báo cáo tổng kết đợt của các đơn vị: đã gửi 1/7." in got
    assert "+ Phòng Quản lý Công nghiệp (QLCN): BC-2022-0007, 10/05/2022" in got
    start = got.index("Chưa gửi (6), còn 66 ngày:")
    assert got[start + 1 : start + 7] == [
        "- Thanh tra Sở (TTRA)",
        "- Phòng Kế hoạch - Tài chính - Tổng hợp (KHTC)",
        "- Phòng Quản lý Năng lượng (QLNL)",
        "- Phòng Quản lý Thương mại (QLTM)",
        "- Trung tâm Khuyến công và Xúc tiến thương mại (TTKC)",
        f"- {HTML_NAME} (HTML)",
    ]
    assert "Báo cáo thành tích cá nhân: 5" in got
    start = got.index("Theo đơn vị:")
    assert got[start + 1 : start + 9] == [
        "- Văn phòng Sở (VP): 0",
        "- Thanh tra Sở (TTRA): 1",
        "- Phòng Kế hoạch - Tài chính - Tổng hợp (KHTC): 0",
        "- Phòng Quản lý Công nghiệp (QLCN): 3",
        "- Phòng Quản lý Năng lượng (QLNL): 0",
        "- Phòng Quản lý Thương mại (QLTM): 0",
        "- Trung tâm Khuyến công và Xúc tiến thương mại (TTKC): 0",
        f"- {HTML_NAME} (HTML): 1",
    ]
    start = got.index("Theo nội dung thi đua:")
    assert got[start + 1 : start + 4] == [
        "- Thi đua thực hiện xuất sắc nhiệm vụ chuyên môn: 3",
        "- Thi đua thực hiện có hiệu quả công tác cải cách hành chính: 1",
        "- Các phong trào thi đua khác: 1",
    ]
    start = got.index("Tập thể:")
    assert got[start + 1 : start + 6] == [
        "- Cờ thi đua của UBND tỉnh / Bằng khen của Chủ tịch UBND tỉnh: 0/1",
        "- Tập thể lao động tiên tiến: 29% (chỉ tiêu 100%)",  # 2 of 7 units
        "- Tập thể lao động xuất sắc: 1/2",
        "- Bằng khen của Bộ trưởng Bộ Công Thương / Bằng khen của Chủ tịch UBND tỉnh: 0/2",
        "- Hoàn thành xuất sắc nhiệm vụ: 0/2",
    ]
    start = got.index("Cá nhân:")
    assert got[start + 1 : start + 8] == [
        "- Hoàn thành tốt nhiệm vụ / Hoàn thành xuất sắc nhiệm vụ: 0% (chỉ tiêu 100%)",
        "- Lao động tiên tiến: 27% (chỉ tiêu 100%)",  # 3 of 11 people
        "- Chiến sĩ thi đua cơ sở: 1/9",
        "- Chiến sĩ thi đua cấp tỉnh: 0/1",
        "- Huân chương Lao động hạng Nhì: 0/1",
        "- Bằng khen của Bộ trưởng Bộ Công Thương / Bằng khen của Chủ tịch UBND tỉnh: 0/6",
        "- Bằng khen của Thủ tướng Chính phủ: 0/1–2",
    ]
    assert "Chờ Văn phòng xem xét: 6 báo cáo, 6 đề nghị (/duyet)." in got
    start = got.index("Không liên lạc được qua kênh nào: 2")
    assert got[start + 1 : start + 3] == [
        "- Phạm Văn Cường (QLCN)",
        "- Phan Thị Không Máy (TTKC)",
    ]
    assert got[-3:-1] == ["Chi tiết từng đơn vị: /tonghop <mã đơn vị>, ví dụ /tonghop TTRA.", ""]
    assert got[-1] == (  # the office's call list, in the same message
        "Cần gọi điện: 1 người chưa đăng ký, 1 người đã chặn bot hoặc không liên lạc được, "
        "0 người chỉ dùng kênh đã hết hạn mức tin nhắn. Danh sách: thidua people unreachable."
    )


def test_admin_and_the_alias_get_the_same(desk, chat_as):
    clerk_text = chat_as(desk.clerk).say("/summary")[0].text
    assert chat_as(desk.admin).say("/tonghop")[0].text == clerk_text


def test_head_sees_only_their_unit(desk, chat_as):
    chat = chat_as(desk.head)
    chat.say("/tonghop")
    got = lines(chat.text)
    assert "Đơn vị: Phòng Quản lý Công nghiệp (QLCN)" in got
    assert "Báo cáo tổng kết đợt của đơn vị: đã gửi (BC-2022-0007, ngày 10/05/2022)." in got
    assert "Báo cáo thành tích cá nhân: 3" in got
    assert "- Thi đua thực hiện xuất sắc nhiệm vụ chuyên môn: 2" in got
    assert "- Lao động tiên tiến: 50% (chỉ tiêu 100%)" in got  # 2 of the unit's 4
    assert "- Tập thể lao động tiên tiến: 100% (chỉ tiêu 100%)" in got
    assert "- Chiến sĩ thi đua cơ sở: 1/9" in got
    assert "Không liên lạc được qua kênh nào: 1" in got
    assert "Thanh tra" not in chat.text and "Phan Thị Không Máy" not in chat.text
    assert "Chờ Văn phòng xem xét" not in chat.text  # /review is not theirs
    chat.say("/summary QLCN")
    assert "Đơn vị: Phòng Quản lý Công nghiệp (QLCN)" in chat.text
    chat.say("/summary TTRA")
    assert chat.text == ("Đồng chí chỉ xem được số liệu tổng hợp của đơn vị mình: /tonghop QLCN.")


def test_staff_and_strangers_are_refused(desk, chat_as):
    chat = chat_as(desk.staff2)
    for command in ("/summary", "/tonghop", "/summary QLCN"):
        chat.say(command)
        name = command.split()[0]  # the command named as typed
        assert chat.text == f"Xin lỗi, lệnh {name} không dành cho vai trò của bạn (cán bộ)."
    stranger = chat_as(type(desk.staff)(0, "nobody", "Ai đó", "QLCN", "staff"))
    stranger.say("/summary")
    assert "/start" in stranger.text and "TỔNG HỢP" not in stranger.text


def test_one_unit_for_the_clerk_keeps_html_characters(desk, chat_as):
    chat = chat_as(desk.clerk)
    chat.say("/summary html")
    got = lines(chat.text)
    assert f"Đơn vị: {HTML_NAME} (HTML)" in got
    assert "Báo cáo tổng kết đợt của đơn vị: chưa gửi." in got
    assert "Báo cáo thành tích cá nhân: 1" in got
    chat.say("/summary XYZ")
    assert chat.text == "Không có đơn vị mã XYZ. /tonghop liệt kê các đơn vị."


def test_a_chosen_phase_and_a_phase_with_nothing(desk, chat_as):
    chat = chat_as(desk.clerk)
    chat.say("/summary 2")
    got = lines(chat.text)
    assert got[0].endswith("Đợt thi đua thứ hai (01/07/2022 – 31/12/2022)")
    assert "Báo cáo tổng kết đợt của các đơn vị: đã gửi 0/7." in got
    assert "Báo cáo thành tích cá nhân: 1" in got
    assert "- Phòng Kế hoạch - Tài chính - Tổng hợp (KHTC): 1" in got
    chat.say("/summary 2 QLCN")
    assert "Báo cáo thành tích cá nhân: 0" in lines(chat.text)
    chat.say("/summary 3")
    assert chat.text == "Không có đợt 3. Các đợt: 1, 2."


def test_an_empty_store(people, chat_as):
    clerk = people.add(role="clerk", unit="VP")
    chat = chat_as(clerk)
    chat.say("/summary")
    got = lines(chat.text)
    assert "Báo cáo tổng kết đợt của các đơn vị: đã gửi 0/6." in got
    assert "Báo cáo thành tích cá nhân: 0" in got
    assert "- Chiến sĩ thi đua cơ sở: 0/9" in got
    assert "- Lao động tiên tiến: 0% (chỉ tiêu 100%)" in got
    assert "Tất cả mọi người đều liên lạc được qua ít nhất một kênh." in got
    assert not any(line.startswith("Chờ Văn phòng") for line in got)


@pytest.mark.parametrize(
    ("instant", "phase", "deadline"),
    [
        ("2022-07-10T09:00:00+07:00", "Đợt thi đua thứ nhất", "còn 5 ngày"),  # both open
        ("2022-07-15T09:00:00+07:00", "Đợt thi đua thứ nhất", "hôm nay là hạn cuối"),
        ("2022-07-16T09:00:00+07:00", "Đợt thi đua thứ hai", "còn 168 ngày"),
        ("2023-01-05T09:00:00+07:00", "Đợt thi đua thứ hai", "đã quá hạn 5 ngày"),
    ],
)
def test_the_current_phase(desk, chat_as, instant, phase, deadline):
    at(instant)
    chat = chat_as(desk.clerk)
    chat.say("/summary")
    assert phase in lines(chat.text)[0]
    assert f"({deadline})." in lines(chat.text)[1]


def _crowd(count: int) -> None:
    """Many units with long names and an unreachable person each."""
    with session_scope() as session:
        for i in range(count):
            unit = m.Unit(code=f"U{i:02d}", name=f"Phòng chuyên môn số {i:02d} của Sở " * 2)
            session.add(unit)
            session.flush()
            session.add(
                m.Person(
                    full_name=f"Người thứ {i}",
                    unit_id=unit.id,
                    role="staff",
                    created_at=clock.now(),
                )
            )


def test_telegram_gets_a_chart_and_a_message_that_fits(desk, people, chat_as):
    _crowd(50)
    clerk = people.add(role="clerk", unit="VP", channel="telegram", user_id="tg-clerk")
    replies = chat_as(clerk, channel="telegram").say("/summary")
    *texts, chart = replies
    assert len(texts) == 3  # one message per part: phase reports, reports, nominations
    assert sum(len(t.text) for t in texts) <= 4096
    assert "Tin nhắn đã được rút gọn. Chi tiết từng đơn vị: /tonghop <mã đơn vị>" in texts[-1].text
    assert "Báo cáo tổng kết đợt của các đơn vị: đã gửi 1/57." in texts[0].text
    assert chart.image is not None and chart.image.mime == "image/png"
    assert chart.image.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert chart.image.filename == "tong-hop-dot-1.png"
    assert chart.text == "Báo cáo thành tích cá nhân theo đơn vị, Đợt thi đua thứ nhất."


def test_zalo_gets_text_only_within_2000(desk, people, chat_as):
    _crowd(12)
    clerk = people.add(role="clerk", unit="VP", channel="zalo", user_id="zl-clerk")
    replies = chat_as(clerk, channel="zalo").say("/summary")
    assert len(replies) == 1 and replies[0].image is None
    assert len(replies[0].text) <= 2000
    assert "/tonghop <mã đơn vị>" in replies[0].text
    assert "- Chiến sĩ thi đua cơ sở: 1/9" in replies[0].text  # shortened, not cut short


def test_figures_come_from_grouped_queries(desk):
    """No report or nomination row is loaded to count: every query on them aggregates."""
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(statement)

    sa.event.listen(engine(), "before_cursor_execute", record)
    try:
        with session_scope() as session:
            row, campaign = active_campaign(session=session)
            compile_summary(
                session=session, campaign_row=row, campaign=campaign, today=clock.today()
            )
    finally:
        sa.event.remove(engine(), "before_cursor_execute", record)
    touching = [s for s in seen if re.search(r"FROM (report|nomination)\b", s)]
    assert len(touching) >= 3  # unit reports once, nominations twice
    assert any("FROM report_tally" in s for s in seen)  # personal reports: their counts
    for statement in touching:
        assert "GROUP BY" in statement or "count(" in statement, statement


def cli(*args: str):
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def cli_clock(monkeypatch):
    monkeypatch.setenv("THIDUA_NOW", "2022-05-10T09:00:00+07:00")
    get_settings.cache_clear()


def test_cli_json_has_the_same_figures(desk, cli_clock):
    result = cli("summary", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["phase"]["number"] == 1 and data["phase"]["days_left"] == 66
    assert data["as_of"] == "2022-05-10"
    units = {u["code"]: u for u in data["units"]}
    assert all(u["name"] for u in data["units"]) and len(units) == 8
    assert units["HTML"]["name"] == HTML_NAME
    assert units["QLCN"] | {"by_area": None} == {
        "code": "QLCN",
        "name": "Phòng Quản lý Công nghiệp",
        "office": False,
        "expected": True,
        "filed": True,
        "receipt": "BC-2022-0007",
        "filed_on": "2022-05-10",
        "personal_reports": 3,
        "by_area": None,
        "people": 4,
        "unreachable": 1,
    }
    assert units["QLCN"]["by_area"] == {"chuyen-mon": 2, "cai-cach-hanh-chinh": 1}
    assert data["filed"] == [{"code": "QLCN", "name": "Phòng Quản lý Công nghiệp"}]
    assert [u["code"] for u in data["not_filed"]] == [
        "TTRA", "KHTC", "QLNL", "QLTM", "TTKC", "HTML"
    ]  # fmt: skip
    assert data["personal_reports"] == 5 and data["people"] == 11
    assert [a["reports"] for a in data["areas"]] == [3, 1, 1]
    targets = {t["text"]: t for t in data["targets"]}
    assert targets["09 cá nhân đạt chiến sỹ thi đua cơ sở"]["achieved"] == 1
    ldtt = targets["100% CBCC, VC đạt danh hiệu lao động tiên tiến"]
    assert (ldtt["achieved"], ldtt["base"], ldtt["achieved_percent"]) == (3, 11, 27)
    assert ldtt["figure"] == "27% (chỉ tiêu 100%)"
    assert data["unreachable"] == {
        "count": 2,
        "people": [
            {
                "name": "Phạm Văn Cường",
                "unit": {"code": "QLCN", "name": "Phòng Quản lý Công nghiệp"},
            },
            {
                "name": "Phan Thị Không Máy",
                "unit": {"code": "TTKC", "name": "Trung tâm Khuyến công và Xúc tiến thương mại"},
            },
        ],
    }
    assert data["pending_review"] == {"reports": 6, "nominations": 6}


def test_cli_unit_phase_and_text(desk, cli_clock):
    data = json.loads(cli("summary", "--unit", "qlcn", "--json").stdout)
    assert data["unit"] == {"code": "QLCN", "name": "Phòng Quản lý Công nghiệp"}
    assert [u["code"] for u in data["units"]] == ["QLCN"]
    assert data["people"] == 4 and data["personal_reports"] == 3
    data = json.loads(cli("summary", "--phase", "2", "--json").stdout)
    assert data["phase"]["number"] == 2 and data["personal_reports"] == 1
    result = cli("summary")
    assert result.exit_code == 0
    assert "Báo cáo tổng kết đợt của các đơn vị: đã gửi 1/7." in result.stdout
    assert f"- {HTML_NAME} (HTML): 1" in result.stdout
    result = cli("summary", "--unit", "NOPE")
    assert result.exit_code == 1 and "NOPE" in result.stderr
    result = cli("summary", "--phase", "7")
    assert result.exit_code == 2 and "Không có đợt 7" in result.stderr
