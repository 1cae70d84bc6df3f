"""The web desk over plain HTTP, against a real server: signing in from `/web`, every route for
every role, filters and search, the actions (with their CSRF token, audit log and the message to
the person), and what a unit head may not see."""

from __future__ import annotations

import datetime as dt
import io

import httpx
import openpyxl
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlmodel import col, select

from bot.channels.web.desk import Desk
from bot.core import models as m
from bot.core.db import session_scope
from bot.core.reports import record_report
from bot.core.settings import get_settings
from bot.core.store import active_campaign
from tests.clerk_seed import HTML_NAME, seed
from tests.conftest import Chat, at
from tests.web_helpers import LINK, csrf_of, desk_server, link_from_chat, signed_in

PAGES = (
    "/web/",
    "/web/units",
    "/web/units?phase=2",
    "/web/reports",
    "/web/reports?phase=1&unit=QLCN&area=chuyen-mon&status=submitted",
    "/web/reports/BC-2022-0001",
    "/web/nominations",
    "/web/nominations?status=endorsed",
    "/web/nominations/DN-2022-0001",
)
OFFICE_ONLY = ("/web/downloads", "/web/downloads/xlsx", "/web/downloads/csv")


@pytest.fixture
def desk(people, monkeypatch):
    seeded = seed(people)
    with desk_server(monkeypatch) as base:
        yield base, seeded


def status(row: type[m.Report] | type[m.Nomination], receipt: str) -> str:
    with session_scope() as session:
        return session.exec(select(row.status).where(row.receipt == receipt)).one()


# ---- signing in ---------------------------------------------------------------------------


def test_web_answers_the_office_and_heads_with_a_one_time_link(desk):
    base, s = desk
    for who in (s.clerk, s.admin, s.head):
        link = link_from_chat(who.user_id)
        assert link.startswith(f"{base}/web/login/")
    staff = Chat(s.staff2.user_id)
    staff.say("/web")
    assert not LINK.search(staff.text)  # staff have no desk
    with session_scope() as session:
        stored = session.exec(select(m.WebLink)).all()
    assert len(stored) == 3
    assert all(link.rsplit("/", 1)[1] not in {w.token_hash for w in stored} for w in stored)


def test_web_refuses_people_not_registered(desk):
    stranger = Chat("nobody-knows-me")
    stranger.say("/web")
    assert stranger.last and not LINK.search(stranger.text)
    with session_scope() as session:
        assert session.exec(select(m.WebLink)).all() == []


def test_web_without_a_public_address_says_so(people):
    clerk = people.add(role="clerk", unit="VP")
    chat = Chat(clerk.user_id)
    chat.say("/trangweb")  # the Vietnamese name
    assert "THIDUA_PUBLIC_URL" in chat.text
    assert not LINK.search(chat.text)


def test_signing_in_sets_a_strict_http_only_cookie_and_leaves_no_token_in_the_address(desk):
    base, s = desk
    link = link_from_chat(s.clerk.user_id)
    with httpx.Client(base_url=base, follow_redirects=True) as client:
        page = client.get(link)  # what a link previewer fetches: the token is not spent by it
        assert page.status_code == 200 and 'action="/web/login"' in page.text
        answer = client.post("/web/login", data={"token": link.rsplit("/", 1)[1]})
        assert answer.status_code == 200  # followed the redirect
        assert str(answer.url) == f"{base}/web/"
        assert [r.status_code for r in answer.history] == [303]
        cookie = answer.history[0].headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/web" in cookie
        assert "Secure" not in cookie  # plain http here
        assert "Lê Thị Văn Thư" in answer.text
    with session_scope() as session:
        kept = session.exec(select(m.WebSession)).one()
    assert kept.key_hash != cookie.split("=", 1)[1].split(";")[0]  # only the hash is stored


async def test_the_cookie_is_secure_behind_https(people, monkeypatch):
    monkeypatch.setenv("THIDUA_PUBLIC_URL", "https://thidua.example.gov.vn")
    get_settings.cache_clear()
    clerk = people.add(role="clerk", unit="VP")
    link = link_from_chat(clerk.user_id)
    app = web.Application()
    Desk(get_settings()).mount(app)
    async with TestClient(TestServer(app)) as client:
        answer = await client.post(
            "/web/login", data={"token": link.rsplit("/", 1)[1]}, allow_redirects=False
        )
        assert answer.status == 303
        assert "Secure" in answer.headers["Set-Cookie"]


def test_a_used_or_expired_link_is_refused(desk):
    base, s = desk
    link = link_from_chat(s.clerk.user_id)
    token = link.rsplit("/", 1)[1]
    with (
        httpx.Client(base_url=base, follow_redirects=True) as first,
        httpx.Client(base_url=base, follow_redirects=True) as second,
    ):
        assert first.post("/web/login", data={"token": token}).status_code == 200
        again = second.post("/web/login", data={"token": token})
        assert again.status_code == 403 and "/web" in again.text
        assert second.get("/web/").status_code == 401
    late = link_from_chat(s.clerk.user_id)
    at("2022-05-10T09:11:00+07:00")  # 11 minutes on
    with httpx.Client(base_url=base, follow_redirects=True) as client:
        refused = client.post("/web/login", data={"token": late.rsplit("/", 1)[1]})
        assert refused.status_code == 403
        assert client.post("/web/login", data={"token": "made-up"}).status_code == 403
        assert client.post("/web/login", data={}).status_code == 403


def test_a_session_ends_after_a_working_day_and_on_sign_out(desk):
    base, s = desk
    with signed_in(base, s.clerk.user_id) as client:
        assert client.get("/web/").status_code == 200
        at("2022-05-10T19:01:00+07:00")  # 10 hours on
        assert client.get("/web/").status_code == 401
    at("2022-05-11T08:00:00+07:00")
    with signed_in(base, s.head.user_id) as client:
        page = client.get("/web/")
        bye = client.post("/web/logout", data={"csrf": csrf_of(page.text)})
        assert bye.status_code == 303
        assert client.get("/web/").status_code == 401
    with session_scope() as session:
        actions = [e.action for e in session.exec(select(m.AuditEvent))]
    assert "web.sign_in" in actions and "web.sign_out" in actions


def test_someone_no_longer_a_head_is_signed_out(desk):
    base, s = desk
    with signed_in(base, s.head.user_id) as client:
        with session_scope() as session:
            person = session.get(m.Person, s.head.id)
            person.role = "staff"
            session.add(person)
        assert client.get("/web/").status_code == 401


# ---- every route, every role --------------------------------------------------------------


def test_without_a_session_every_route_asks_to_sign_in(desk):
    base, _s = desk
    with httpx.Client(base_url=base, follow_redirects=True) as client:
        for path in (*PAGES, *OFFICE_ONLY, "/web/reports/BC-2022-0001/evidence"):
            answer = client.get(path)
            assert answer.status_code == 401, path
            assert "/web" in answer.text
        for path in (
            "/web/logout",
            "/web/reports/BC-2022-0001/review",
            "/web/nominations/DN-2022-0001/review",
            "/web/units/TTRA/remind",
        ):
            assert client.post(path, data={"action": "accept"}).status_code == 401, path
        assert client.get("/web", follow_redirects=False).status_code == 303
        assert client.get("/web/static/desk.css").status_code == 200
        assert client.get("/web/static/nothing.css").status_code == 404


def test_the_office_opens_every_page(desk):
    base, s = desk
    for who in (s.clerk, s.admin):
        with signed_in(base, who.user_id) as client:
            for path in (*PAGES, "/web/downloads"):
                answer = client.get(path)
                assert answer.status_code == 200, path
                assert answer.headers["content-security-policy"].startswith("default-src 'self'")
                assert answer.headers["cache-control"] == "no-store"
                assert "/web/downloads" in answer.text  # the office's menu has downloads


def test_a_head_sees_their_own_unit_only(desk):
    base, s = desk
    with signed_in(base, s.head.user_id) as client:  # QLCN's head
        for path in PAGES:
            assert client.get(path).status_code == 200, path
        units = client.get("/web/units").text
        assert "QLCN" in units and "TTRA" not in units
        reports = client.get("/web/reports").text
        assert "BC-2022-0001" in reports and "Đỗ Thị Dung" not in reports  # TTRA's staff
        assert "/web/downloads" not in reports
        # another unit's items, by URL: as if they did not exist
        assert client.get("/web/reports/BC-2022-0005").status_code == 404  # TTRA's report
        assert client.get("/web/reports/BC-2022-0005/evidence").status_code == 404
        assert client.get("/web/nominations/DN-2022-0004").status_code == 404  # TTRA's
        assert client.get("/web/reports?unit=TTRA").status_code == 404
        assert client.get("/web/units?unit=TTRA").status_code == 404
        assert client.get("/web/reports/BC-2099-9999").status_code == 404
        for path in OFFICE_ONLY:
            assert client.get(path).status_code == 403, path
        csrf = csrf_of(reports)
        review = client.post(
            "/web/reports/BC-2022-0001/review", data={"csrf": csrf, "action": "accept"}
        )
        assert review.status_code == 403
        remind = client.post("/web/units/QLCN/remind", data={"csrf": csrf, "phase": "1"})
        assert remind.status_code == 403
    assert status(m.Report, "BC-2022-0001") == "submitted"


# ---- the pages ----------------------------------------------------------------------------


def test_the_campaign_page_shows_the_phases_deadlines_and_what_is_next(desk):
    base, s = desk
    with signed_in(base, s.clerk.user_id) as client:
        page = client.get("/web/").text
    with session_scope() as session:
        _row, campaign = active_campaign(session=session)
    assert campaign.theme in page
    for phase in campaign.phases:
        assert phase.name in page
    first = campaign.phases[0]
    assert first.deadline is not None and first.deadline.strftime("%d/%m/%Y") in page
    assert str((first.deadline - dt.date(2022, 5, 10)).days) in page  # days left
    assert "Tiếp theo" in page  # what is pushed next, in Vietnamese


def test_the_units_page_has_the_phase_reports_areas_targets_and_call_list(desk):
    base, s = desk
    with signed_in(base, s.clerk.user_id) as client:
        page = client.get("/web/units?phase=1").text
    assert "BC-2022-0007" in page  # QLCN's phase report
    assert "chưa gửi" in page  # units that owe theirs
    assert "Phan Thị Không Máy" in page and "Phạm Văn Cường" in page  # to call
    assert "Lao động tiên tiến" in page  # a target
    assert "&lt;b&gt;&amp;&lt;/b&gt;" in page and HTML_NAME not in page  # escaped


def test_reports_filter_by_phase_unit_area_and_status(desk):
    base, s = desk
    with signed_in(base, s.clerk.user_id) as client:

        def receipts(query: str) -> set[str]:
            page = client.get(f"/web/reports?{query}").text
            return {r for r in (f"BC-2022-{n:04d}" for n in range(1, 11)) if f">{r}<" in page}

        assert receipts("") == {f"BC-2022-{n:04d}" for n in range(1, 10)}
        assert receipts("phase=2") == {"BC-2022-0009"}
        assert receipts("unit=TTRA") == {"BC-2022-0005", "BC-2022-0008"}
        assert receipts("unit=qlcn&area=cai-cach-hanh-chinh") == {"BC-2022-0002"}
        assert receipts("status=withdrawn") == {"BC-2022-0004", "BC-2022-0008"}
        assert receipts("unit=NOPE") == set() or True  # an unknown unit: not found, below
        assert client.get("/web/reports?unit=NOPE").status_code == 404
        assert receipts("phase=x&status=<script>") == receipts("")  # nonsense is ignored


def test_search_ignores_diacritics_and_case(desk):
    base, s = desk
    with session_scope() as session:
        row, _c = active_campaign(session=session)
        person = session.get(m.Person, s.staff.id)
        record_report(
            session=session,
            campaign=row,
            person=person,
            phase=1,
            area="chuyen-mon",
            title="Báo cáo sáng kiến số hóa",
            detail="Đề tài ứng dụng công nghệ",
            now=row.loaded_at,
        )  # BC-2022-0010
    with signed_in(base, s.clerk.user_id) as client:
        for words in ("bao cao", "BÁO CÁO", "so hoa", "de tai", "ung dung cong nghe", "0010"):
            page = client.get("/web/reports", params={"q": words}).text
            assert ">BC-2022-0010<" in page, words
            assert ">BC-2022-0001<" not in page, words
        for odd in ("100%", "_", "\\", "<b>", "🙂"):
            assert client.get("/web/reports", params={"q": odd}).status_code == 200
        assert ">BC-2022-0001<" not in client.get("/web/reports", params={"q": "%"}).text


def test_reports_come_in_pages_of_fifty(desk):
    base, s = desk
    with session_scope() as session:
        row, _c = active_campaign(session=session)
        person = session.get(m.Person, s.staff2.id)
        for k in range(60):
            record_report(
                session=session,
                campaign=row,
                person=person,
                phase=1,
                area="chuyen-mon",
                title=f"Bài {k}",
                detail="x",
                now=row.loaded_at,
            )
    with signed_in(base, s.clerk.user_id) as client:
        first = client.get("/web/reports?unit=QLCN").text
        assert "BC-2022-0069" in first and ">BC-2022-0001<" not in first
        older = first.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
        second = client.get(older.replace("&amp;", "&")).text
        assert ">BC-2022-0001<" in second and "BC-2022-0069" not in second
        assert 'rel="next"' not in second


def test_a_report_page_offers_its_evidence_file(desk, tmp_path):
    base, s = desk
    evidence = tmp_path / "anh.jpg"
    evidence.write_bytes(b"\xff\xd8jpeg")
    with session_scope() as session:
        row = session.exec(select(m.Report).where(m.Report.receipt == "BC-2022-0001")).one()
        row.evidence_kind, row.evidence_path = "photo", str(evidence)
        session.add(row)
    with signed_in(base, s.clerk.user_id) as client:
        page = client.get("/web/reports/bc-2022-0001").text
        assert "/web/reports/BC-2022-0001/evidence" in page
        got = client.get("/web/reports/BC-2022-0001/evidence")
        assert got.status_code == 200 and got.content == b"\xff\xd8jpeg"
        assert "BC-2022-0001.jpg" in got.headers["content-disposition"]
        assert client.get("/web/reports/BC-2022-0002/evidence").status_code == 404


def test_downloads_are_the_files_the_cli_writes(desk):
    base, s = desk
    with signed_in(base, s.clerk.user_id) as client:
        xlsx = client.get("/web/downloads/xlsx?phase=1")
        assert xlsx.status_code == 200
        assert "tong-hop-dot-1" in xlsx.headers["content-disposition"]
        book = openpyxl.load_workbook(io.BytesIO(xlsx.content), read_only=True)
        assert book.sheetnames == [
            "Đơn vị", "Báo cáo", "Đề nghị", "Mục tiêu thi đua", "Đăng ký thi đua",
            "Kiểm tra điều kiện",
        ]  # fmt: skip
        csv = client.get("/web/downloads/csv")
        assert csv.status_code == 200 and "BC-2022-0001" in csv.content.decode("utf-8-sig")
        docx = client.get("/web/downloads/docx")
        assert docx.status_code == 200 and docx.content[:2] == b"PK"
        assert client.get("/web/downloads/pdf").status_code == 404


# ---- the actions --------------------------------------------------------------------------


def test_accepting_a_report_is_audited(desk):
    base, s = desk
    with signed_in(base, s.clerk.user_id) as client:
        page = client.get("/web/reports/BC-2022-0001").text
        done = client.post(
            "/web/reports/BC-2022-0001/review", data={"csrf": csrf_of(page), "action": "accept"}
        )
        assert done.status_code == 303
        assert "Đã tiếp nhận." in client.get(done.headers["location"]).text
        again = client.post(
            "/web/reports/BC-2022-0001/review", data={"csrf": csrf_of(page), "action": "accept"}
        )
        assert again.status_code == 400  # reviewed already
    assert status(m.Report, "BC-2022-0001") == "accepted"
    with session_scope() as session:
        event = session.exec(
            select(m.AuditEvent).where(m.AuditEvent.action == "report.accept")
        ).one()
    assert event.subject == "BC-2022-0001" and event.channel == "web"
    assert event.person_id == s.clerk.id


def test_returning_tells_the_person_in_the_chat(desk):
    base, s = desk
    with signed_in(base, s.clerk.user_id) as client:
        page = client.get("/web/reports/BC-2022-0001").text
        csrf = csrf_of(page)
        empty = client.post(
            "/web/reports/BC-2022-0001/review",
            data={"csrf": csrf, "action": "return", "reason": "   "},
        )
        assert empty.status_code == 400
        long = client.post(
            "/web/reports/BC-2022-0001/review",
            data={"csrf": csrf, "action": "return", "reason": "x" * 501},
        )
        assert long.status_code == 400
        assert status(m.Report, "BC-2022-0001") == "submitted"
        done = client.post(
            "/web/reports/BC-2022-0001/review",
            data={"csrf": csrf, "action": "return", "reason": "Thiếu <ảnh> minh chứng"},
        )
        shown = client.get(done.headers["location"]).text
        assert "Telegram" in shown
    assert status(m.Report, "BC-2022-0001") == "returned"
    with session_scope() as session:
        message = session.exec(
            select(m.Outbox).where(col(m.Outbox.key).startswith("review:BC-2022-0001:"))
        ).one()
    assert message.person_id == s.staff.id and message.channel == "telegram"
    assert "Thiếu <ảnh> minh chứng" in message.text


def test_nominations_are_accepted_and_returned_too(desk):
    base, s = desk
    with signed_in(base, s.admin.user_id) as client:
        page = client.get("/web/nominations/DN-2022-0001").text
        assert "Kiểm tra" in page
        # the whole pre-check, a line a condition, as /duyet shows it
        assert any(mark in page for mark in ("✅", "❌", "❔")), page
        csrf = csrf_of(page)
        client.post(
            "/web/nominations/DN-2022-0001/review", data={"csrf": csrf, "action": "accept"}
        )
        back = client.post(
            "/web/nominations/DN-2022-0002/review",
            data={"csrf": csrf, "action": "return", "reason": "Chưa đủ căn cứ"},
        )
        assert back.status_code == 303
        assert client.get("/web/nominations/DN-2099-0001").status_code == 404
    assert status(m.Nomination, "DN-2022-0001") == "accepted"
    assert status(m.Nomination, "DN-2022-0002") == "returned"


def test_the_desk_keeps_one_achievement_to_one_award(desk):
    """As /duyet: a nomination whose cited report already backs an accepted award is held."""
    base, s = desk
    with session_scope() as session:
        report = session.exec(select(m.Report).where(m.Report.receipt == "BC-2022-0001")).one()
        for receipt in ("DN-2022-0001", "DN-2022-0002"):
            nomination = session.exec(
                select(m.Nomination).where(m.Nomination.receipt == receipt)
            ).one()
            session.add(m.NominationReport(nomination_id=nomination.id, report_id=report.id))
    with signed_in(base, s.clerk.user_id) as client:
        csrf = csrf_of(client.get("/web/nominations/DN-2022-0001").text)
        first = client.post(
            "/web/nominations/DN-2022-0001/review", data={"csrf": csrf, "action": "accept"}
        )
        assert first.status_code == 303
        held = client.post(
            "/web/nominations/DN-2022-0002/review", data={"csrf": csrf, "action": "accept"}
        )
        assert held.status_code == 400
        assert "BC-2022-0001" in held.text and "DN-2022-0001" in held.text
    assert status(m.Nomination, "DN-2022-0001") == "accepted"
    assert status(m.Nomination, "DN-2022-0002") != "accepted"


def test_a_form_without_its_csrf_token_is_refused(desk):
    base, s = desk
    with signed_in(base, s.clerk.user_id) as client:
        for data in ({"action": "accept"}, {"action": "accept", "csrf": "forged"}):
            refused = client.post("/web/reports/BC-2022-0001/review", data=data)
            assert refused.status_code == 403
        assert client.post("/web/logout", data={}).status_code == 403
        assert client.get("/web/").status_code == 200  # still signed in
    assert status(m.Report, "BC-2022-0001") == "submitted"


def test_remind_a_unit_now(desk, people, monkeypatch):
    base, s = desk
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    get_settings.cache_clear()
    head = people.add(role="head", unit="KHTC", name="Lý Trưởng", channel="telegram")
    with signed_in(base, s.clerk.user_id) as client:
        page = client.get("/web/units?phase=1").text
        csrf = csrf_of(page)
        sent = client.post("/web/units/KHTC/remind", data={"csrf": csrf, "phase": "1"})
        assert sent.status_code == 303
        assert "1" in client.get(sent.headers["location"]).text
        filed = client.post("/web/units/QLCN/remind", data={"csrf": csrf, "phase": "1"})
        assert "reminded=filed" in filed.headers["location"]
        nobody = client.post("/web/units/TTKC/remind", data={"csrf": csrf, "phase": "1"})
        assert "reminded=nobody" in nobody.headers["location"]
        closed = client.post("/web/units/KHTC/remind", data={"csrf": csrf, "phase": "9"})
        assert closed.status_code == 400
        assert client.post("/web/units/NOPE/remind", data={"csrf": csrf}).status_code == 404
    with session_scope() as session:
        rows = session.exec(select(m.Outbox).where(m.Outbox.person_id == head.id)).all()
        audit = session.exec(
            select(m.AuditEvent).where(m.AuditEvent.action == "push.remind")
        ).all()
    assert len(rows) == 1 and "KHTC" not in rows[0].key  # the unit is in the text, not the key
    assert len(audit) == 1 and audit[0].person_id == s.clerk.id


def test_a_reader_in_english_gets_english_pages(desk):
    base, s = desk
    with session_scope() as session:
        person = session.get(m.Person, s.clerk.id)
        person.lang = "en"
        session.add(person)
    with signed_in(base, s.clerk.user_id) as client:
        page = client.get("/web/").text
    assert '<html lang="en">' in page and "Phases" in page
