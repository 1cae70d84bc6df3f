"""/review filtered by unit, phase and kind: `/duyet QLCN`, `/duyet 2`, `/duyet TTRA denghi`."""

from __future__ import annotations

import pytest

from tests.clerk_seed import seed
from tests.evidence_helpers import attach


@pytest.fixture
def desk(people):
    return seed(people)


def receipts(chat) -> list[str]:
    return [label.split(" · ")[0] for label in chat.labels if " · " in label]


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


def test_accept_a_whole_units_items_after_a_preview(desk, chat_as):
    from sqlmodel import select

    from bot.core import models as m
    from bot.core.db import session_scope

    chat = chat_as(desk.clerk)
    chat.say("/duyet TTRA")
    assert chat.labels[0] == "Tiếp nhận cả 2 hồ sơ của TTRA…"
    chat.press("Tiếp nhận cả 2 hồ sơ của TTRA…")
    assert chat.text.splitlines()[0] == "Tiếp nhận 2 hồ sơ sau?"
    assert chat.text.splitlines()[1].startswith("- BC-2022-0005 · ")
    assert chat.text.splitlines()[2].startswith("- DN-2022-0007 · ")
    chat.press("Xác nhận")
    assert chat.text == "Đã tiếp nhận 2 hồ sơ: BC-2022-0005, DN-2022-0007."
    with session_scope() as session:
        statuses = {
            r.receipt: r.status
            for model in (m.Report, m.Nomination)
            for r in session.exec(select(model))
        }
        logged = session.exec(select(m.AuditEvent).where(m.AuditEvent.subject == "BC-2022-0005"))
        assert [e.action for e in logged][-1] == "report.accept"
    assert statuses["BC-2022-0005"] == statuses["DN-2022-0007"] == "accepted"
    chat.say("/duyet TTRA")
    assert chat.text == "Không có hồ sơ nào khớp đang chờ Văn phòng xem xét."
    chat.say("/duyet")  # the whole list offers no "all"
    assert not chat.labels[0].startswith("Tiếp nhận cả")


def test_the_evidence_comes_back_with_the_item(desk, chat_as, tmp_path):
    photo, pdf = tmp_path / "20220510-a.jpg", tmp_path / "20220510-b.pdf"
    photo.write_bytes(b"\xff\xd8 a photo")
    pdf.write_bytes(b"%PDF-1.4 a receipt")
    attach("BC-2022-0001", "photo", photo)
    attach("BC-2022-0002", "document", pdf)
    chat = chat_as(desk.clerk)
    (item,) = chat.say("/duyet BC-2022-0001")
    assert item.image is not None and item.image.content == b"\xff\xd8 a photo"
    assert item.image.filename == "BC-2022-0001.jpg" and item.image.mime == "image/jpeg"
    assert [o.label for o in item.options][:2] == ["Tiếp nhận", "Trả lại kèm lý do"]
    chat.say("/huy")
    (item,) = chat.say("/duyet BC-2022-0002")
    assert item.document.filename == "BC-2022-0002.pdf" and item.image is None
    chat.say("/huy")
    (item,) = chat.say("/duyet BC-2022-0003")  # no evidence: text only
    assert item.document is None and item.image is None
    pdf.unlink()  # gone from the disk: the item still shows, without the file
    chat.say("/huy")
    (item,) = chat.say("/duyet BC-2022-0002")
    assert item.document is None and "BC-2022-0002" in item.text
