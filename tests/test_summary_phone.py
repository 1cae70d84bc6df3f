"""/summary on a phone: headings in bold on Telegram, the units that owe a report first,
and a chart with names in a size a phone can show."""

from __future__ import annotations

import struct

import pytest

from bot.channels.telegram_render import marked
from tests.clerk_seed import HTML_NAME, seed


@pytest.fixture
def desk(people):
    return seed(people)


def test_headings_and_the_units_that_owe_first(desk, chat_as):
    text_reply, *_rest = chat_as(desk.clerk).say("/tonghop")
    lines = text_reply.text.splitlines()
    assert "\x02" not in text_reply.text
    assert text_reply.headings[0] == lines[0]
    assert lines[0].startswith("TỔNG HỢP")
    assert len(text_reply.headings) == 4
    assert all(h in lines for h in text_reply.headings)
    owing = next(i for i, line in enumerate(lines) if line.startswith("Chưa gửi"))
    filed = lines.index("Đã gửi:")
    assert owing < filed
    assert lines[filed + 1].startswith("+ Phòng Quản lý Công nghiệp (QLCN): BC-2022-0007")
    assert f"- {HTML_NAME} (HTML)" in lines[owing:filed]


def test_telegram_sets_the_headings_in_bold_and_escapes_the_rest():
    text = "TỔNG HỢP\n<b>Tổ 1 & 2</b>\nBáo cáo: 3"
    assert marked(text, ("TỔNG HỢP", "Báo cáo: 3")) == (
        "<b>TỔNG HỢP</b>\n&lt;b&gt;Tổ 1 &amp; 2&lt;/b&gt;\n<b>Báo cáo: 3</b>"
    )
    assert marked(text) == "TỔNG HỢP\n&lt;b&gt;Tổ 1 &amp; 2&lt;/b&gt;\nBáo cáo: 3"


def test_the_chart_is_drawn_for_a_phone(desk, people, chat_as):
    clerk = people.add(role="clerk", unit="VP", channel="telegram", user_id="tg-clerk")
    chat = chat_as(clerk, channel="telegram")
    *parts, chart = chat.say("/tonghop")
    assert [p.headings[0] for p in parts] == [
        parts[0].text.splitlines()[0],
        "Báo cáo thành tích cá nhân: 5",
        "Đề nghị khen thưởng so với chỉ tiêu kế hoạch (đã xác nhận hoặc tiếp nhận):",
    ]
    assert all(len(p.text.splitlines()) <= 30 for p in parts)  # about a phone screen each
    png = chart.image.content
    width, height = struct.unpack(">II", png[16:24])
    assert 700 <= width <= 1300  # about 6 in at 150 dpi (the legend may widen it)
    assert height > 8 * 60  # eight units, their names on one or two lines each
