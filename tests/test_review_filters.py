"""/review filtered by unit, phase and kind: `/duyet QLCN`, `/duyet 2`, `/duyet TTRA denghi`."""

from __future__ import annotations

import pytest

from tests.clerk_seed import seed


@pytest.fixture
def desk(people):
    return seed(people)


def receipts(chat) -> list[str]:
    return [label.split(" · ")[0] for label in chat.labels]


def test_filter_by_unit_phase_and_kind(desk, chat_as):
    chat = chat_as(desk.clerk)
    chat.say("/duyet TTRA")
    assert receipts(chat) == ["BC-2022-0005", "DN-2022-0007"]
    chat.say("/huy")
    chat.say("/duyet qlcn baocao")
    assert receipts(chat) == ["BC-2022-0001", "BC-2022-0002", "BC-2022-0003", "BC-2022-0007"]
    chat.say("/huy")
    chat.say("/review 2 reports")
    assert receipts(chat) == ["BC-2022-0009"]
    chat.say("/huy")
    chat.say("/duyet denghi TTRA")
    assert receipts(chat) == ["DN-2022-0007"]
    chat.press("DN-2022-0007 · Thanh tra Sở · Đơn vị đã xác nhận")
    assert "DN-2022-0007" in chat.text  # the item, as from the whole list


def test_nothing_matches_or_a_word_is_not_understood(desk, chat_as):
    chat = chat_as(desk.clerk)
    chat.say("/duyet VP")
    assert chat.text == "Không có hồ sơ nào khớp đang chờ Văn phòng xem xét."
    chat.say("/duyet xyz")
    assert chat.text.startswith("“xyz” không phải số biên nhận, mã đơn vị, số đợt hay loại hồ sơ.")
    chat.say("/duyet BC-2022-0001")  # a receipt still goes straight to the item
    assert "BC-2022-0001" in chat.text
