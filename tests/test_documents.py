"""The DOCX set: the report's annex, the award proposal and the list of nominees (read back
with python-docx), an office's own template, and the zip with the evidence by unit."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from docx import Document
from openpyxl import load_workbook
from typer.testing import CliRunner

from bot.cli.main import app
from bot.core.settings import get_settings
from tests.clerk_seed import HTML_NAME, seed
from tests.evidence_helpers import attach


@pytest.fixture
def desk(people):
    return seed(people)


@pytest.fixture(autouse=True)
def cli_clock(monkeypatch):
    monkeypatch.setenv("THIDUA_NOW", "2022-05-10T09:00:00+07:00")
    get_settings.cache_clear()


def export(tmp_path, *args: str) -> bytes:
    out = tmp_path / "out.bin"
    result = CliRunner().invoke(app, ["export", *args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out.read_bytes()


def lines(doc) -> list[str]:
    found = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            for cell in row.cells:
                found += [p.text for p in cell.paragraphs]
    return found


def test_report_has_an_annex_of_achievements_by_unit(desk, tmp_path):
    doc = Document(io.BytesIO(export(tmp_path, "--format", "docx", "--phase", "1")))
    body = [p.text for p in doc.paragraphs]
    start = body.index("PHỤ LỤC")
    assert (
        body[start + 1] == "Thành tích của các đơn vị, cá nhân trong đợt thi đua thứ nhất năm 2022"
    )
    assert body[start + 2] == "(Kèm theo Báo cáo của Sở Công Thương)"
    units = [t for t in body[start:] if t[:2] in ("1.", "2.", "3.", "4.")]
    assert units == [
        f"1. {HTML_NAME} (1)",
        "2. Phòng Quản lý Công nghiệp (4)",
        "3. Thanh tra Sở (1)",
    ]
    annex = [t for t in doc.tables if t.rows[0].cells[1].text == "Số biên nhận"]
    assert len(annex) == 3
    assert [c.text for c in annex[0].rows[0].cells] == [
        "TT", "Số biên nhận", "Người báo cáo", "Tiêu đề", "Thành tích"
    ]  # fmt: skip
    qlcn = [[c.text for c in row.cells] for row in annex[1].rows[1:]]
    assert qlcn[0] == [
        "1", "BC-2022-0001", "Nguyễn Văn An", "Thành tích staff chuyen-mon",
        "Hoàn thành vượt mức kế hoạch",
    ]  # fmt: skip
    assert "BC-2022-0004" not in {r[1] for r in qlcn}  # withdrawn
    assert "BC-2022-0007" in {r[1] for r in qlcn}  # the unit's own phase report


def test_award_proposal_in_the_decree_layout(desk, tmp_path):
    doc = Document(io.BytesIO(export(tmp_path, "--format", "proposal", "--phase", "1")))
    header = doc.tables[0].rows[0].cells
    assert [p.text for p in header[0].paragraphs if p.text] == [
        "UBND TỈNH HÀ TĨNH", "SỞ CÔNG THƯƠNG", "Số:           /TTr-SCT"
    ]  # fmt: skip
    assert [p.text for p in header[1].paragraphs if p.text][2] == (
        "Hà Tĩnh, ngày … tháng … năm 2022"
    )
    body = [p.text for p in doc.paragraphs if p.text]
    assert body[0] == "TỜ TRÌNH"
    assert body[1] == "Về việc đề nghị khen thưởng đợt thi đua thứ nhất năm 2022"
    assert body[2] == "Kính gửi: Hội đồng Thi đua - Khen thưởng Sở Công Thương"
    assert body[3].startswith("Căn cứ ") and body[3].endswith(";")
    assert (
        "Căn cứ kết quả bình xét của các đơn vị trong đợt thi đua thứ nhất, Sở Công Thương kính "
        "đề nghị Hội đồng Thi đua - Khen thưởng Sở Công Thương xem xét, khen thưởng cho 3 tập "
        "thể và 4 cá nhân, cụ thể như sau:"
    ) in body
    listed = [t for t in body if t.startswith("- ")]
    assert listed == [  # in the campaign's order of titles
        "- Lao động tiên tiến: 3 cá nhân;",
        "- Chiến sĩ thi đua cơ sở: 1 cá nhân;",
        "- Tập thể lao động tiên tiến: 2 tập thể;",
        "- Tập thể lao động xuất sắc: 1 tập thể;",
    ]
    assert body[-1] == (
        "Sở Công Thương kính trình Hội đồng Thi đua - Khen thưởng Sở Công Thương xem xét, "
        "quyết định./."
    )
    signer = doc.tables[-1].rows[0].cells
    assert [p.text for p in signer[0].paragraphs if p.text] == [
        "Nơi nhận:", "- Như trên;", "- Lưu: VT, VP."
    ]  # fmt: skip
    assert [p.text for p in signer[1].paragraphs if p.text] == ["GIÁM ĐỐC", "Hoàng Văn Quảng"]
    assert doc.core_properties.author == "SỞ CÔNG THƯƠNG"
    section = doc.sections[0]
    assert round(section.page_width.mm) == 210 and round(section.left_margin.mm) == 30


def test_list_of_nominees_per_title(desk, tmp_path):
    doc = Document(io.BytesIO(export(tmp_path, "--format", "nominees", "--phase", "1")))
    body = [p.text for p in doc.paragraphs if p.text]
    assert body[:3] == [
        "DANH SÁCH",
        "Đề nghị khen thưởng đợt thi đua thứ nhất năm 2022",
        "(Kèm theo Tờ trình số       /TTr-SCT của Sở Công Thương)",
    ]
    assert "Tổng cộng: 3 tập thể, 4 cá nhân." in body
    (table,) = [t for t in doc.tables if t.rows[0].cells[0].text == "TT"]
    rows = [[c.text for c in r.cells] for r in table.rows]
    assert rows[0] == ["TT", "Danh hiệu, hình thức khen thưởng", "Họ và tên", "Đơn vị",
                       "Thành tích chủ yếu"]  # fmt: skip
    assert [r[0] for r in rows[1:]] == ["1", "2", "3", "4", "5", "6", "7"]
    by_title: dict[str, list[str]] = {}
    for r in rows[1:]:
        by_title.setdefault(r[1], []).append(r[2])
    assert by_title["Lao động tiên tiến"] == ["Nguyễn Thị Bình", "Nguyễn Văn An", "Đỗ Thị Dung"]
    assert by_title["Tập thể lao động tiên tiến"] == [
        "Phòng Quản lý Công nghiệp", "Thanh tra Sở"
    ]  # fmt: skip
    cstd = next(r for r in rows if r[1] == "Chiến sĩ thi đua cơ sở")
    assert cstd[3] == "Phòng Quản lý Công nghiệp"
    assert cstd[4] == "Hoàn thành xuất sắc nhiệm vụ (Sáng kiến số hóa hồ sơ)"
    assert list(by_title) == [  # in the campaign's order of titles
        "Lao động tiên tiến", "Chiến sĩ thi đua cơ sở",
        "Tập thể lao động tiên tiến", "Tập thể lao động xuất sắc",
    ]  # fmt: skip
    assert "Đề xuất" not in "\n".join(lines(doc))  # a staff proposal does not count


def test_an_office_template_overrides_the_default(desk, tmp_path, monkeypatch):
    folder = tmp_path / "mau"
    result = CliRunner().invoke(app, ["templates", str(folder), "--json"])
    assert result.exit_code == 0, result.output
    written = json.loads(result.stdout)
    assert sorted(p.rsplit("/", 1)[1] for p in written) == [
        "bao-cao-ket-qua-thi-dua.docx",
        "danh-sach-de-nghi-khen-thuong.docx",
        "to-trinh-de-nghi-khen-thuong.docx",
    ]
    template = folder / "to-trinh-de-nghi-khen-thuong.docx"
    doc = Document(str(template))
    kind = next(p for p in doc.paragraphs if p.text == "TỜ TRÌNH")
    kind.runs[0].text = "TỜ TRÌNH CỦA {{ issuer | upper }} ({{ collectives + individuals }})"
    doc.add_paragraph("{%p for t in titles %}* {{ t.name }}{%p endfor %}")
    doc.save(str(template))
    monkeypatch.setenv("THIDUA_TEMPLATES", str(folder))
    get_settings.cache_clear()
    out = Document(io.BytesIO(export(tmp_path, "--format", "proposal", "--phase", "1")))
    body = [p.text for p in out.paragraphs if p.text]
    assert body[0] == "TỜ TRÌNH CỦA SỞ CÔNG THƯƠNG (7)"
    assert [t for t in body if t.startswith("* ")] == [
        "* Lao động tiên tiến", "* Chiến sĩ thi đua cơ sở",
        "* Tập thể lao động tiên tiến", "* Tập thể lao động xuất sắc",
    ]  # fmt: skip
    # the folder's list is the default as written: the same document as without the folder
    nominees = Document(io.BytesIO(export(tmp_path, "--format", "nominees", "--phase", "1")))
    assert next(p.text for p in nominees.paragraphs if p.text) == "DANH SÁCH"


def test_zip_holds_the_workbook_the_documents_and_the_evidence_by_unit(desk, tmp_path):
    photo = tmp_path / "attachments" / "telegram" / "20220510-090000-abcd.jpg"
    photo.parent.mkdir(parents=True)
    photo.write_bytes(b"\xff\xd8 a photo")
    attach("BC-2022-0001", "photo", photo)
    attach("BC-2022-0005", "photo", tmp_path / "deleted.jpg")
    archive = zipfile.ZipFile(io.BytesIO(export(tmp_path, "--format", "zip", "--phase", "1")))
    assert sorted(archive.namelist()) == [
        "bao-cao-dot-1.docx",
        "danh-sach-de-nghi-khen-thuong-dot-1.docx",
        "minh-chung/QLCN/BC-2022-0001.jpg",
        "to-trinh-de-nghi-khen-thuong-dot-1.docx",
        "tong-hop-dot-1.xlsx",
    ]
    assert archive.read("minh-chung/QLCN/BC-2022-0001.jpg") == b"\xff\xd8 a photo"
    wb = load_workbook(io.BytesIO(archive.read("tong-hop-dot-1.xlsx")))
    assert wb["Báo cáo"]["A2"].value == "BC-2022-0001"
    doc = Document(io.BytesIO(archive.read("bao-cao-dot-1.docx")))
    assert "PHỤ LỤC" in [p.text for p in doc.paragraphs]


def test_a_broken_or_unsafe_template_is_one_line(desk, tmp_path, monkeypatch):
    folder = tmp_path / "mau"
    assert CliRunner().invoke(app, ["templates", str(folder)]).exit_code == 0
    template = folder / "to-trinh-de-nghi-khen-thuong.docx"
    doc = Document(str(template))
    doc.add_paragraph("{{ ''.__class__.__mro__[1].__subclasses__() }}")  # the sandbox refuses
    doc.save(str(template))
    monkeypatch.setenv("THIDUA_TEMPLATES", str(folder))
    get_settings.cache_clear()
    out = tmp_path / "to-trinh.docx"
    result = CliRunner().invoke(app, ["export", "--format", "proposal", "--out", str(out)])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "Mẫu văn bản có một thẻ không điền được: “{{ ''.__class__.__mro__[1].__subclasses__() }}”."
    )
    assert not out.exists()


def test_the_report_comes_from_a_template_the_office_can_edit(desk, tmp_path, monkeypatch):
    folder = tmp_path / "mau"
    assert CliRunner().invoke(app, ["templates", str(folder)]).exit_code == 0
    template = folder / "bao-cao-ket-qua-thi-dua.docx"
    doc = Document(str(template))
    kind = next(p for p in doc.paragraphs if p.text == "BÁO CÁO")
    kind.runs[0].text = "BÁO CÁO NHANH"  # another heading
    signature = next(t for t in doc.tables if t.rows[0].cells[0].text.startswith("Nơi nhận:"))
    name = next(p for p in signature.rows[0].cells[1].paragraphs if "signer_name" in p.text)
    name.runs[0].text = "{{ signer_name | upper }}"  # another signer block
    doc.save(str(template))
    monkeypatch.setenv("THIDUA_TEMPLATES", str(folder))
    get_settings.cache_clear()
    out = Document(io.BytesIO(export(tmp_path, "--format", "docx", "--phase", "1")))
    found = lines(out)
    assert "BÁO CÁO NHANH" in found and "BÁO CÁO" not in found
    assert "HOÀNG VĂN QUẢNG" in found
    # the rest is the report as without the folder: figures, Table 1, the annex
    assert "Các đơn vị, cá nhân đã gửi 5 báo cáo thành tích cá nhân:" in found
    table = next(t for t in out.tables if t.rows[0].cells[0].text == "TT")
    assert [c.text for c in table.rows[0].cells] == [
        "TT", "Đơn vị", "Nội dung 1", "Nội dung 2", "Nội dung 3", "Tổng"
    ]  # fmt: skip
    assert "PHỤ LỤC" in found


def test_what_people_typed_is_never_a_template(desk, tmp_path):
    """A report titled with template tags is printed as typed, not run."""
    from sqlmodel import select

    from bot.core import models as m
    from bot.core.db import session_scope

    with session_scope() as session:
        report = session.exec(select(m.Report).where(m.Report.receipt == "BC-2022-0001")).one()
        report.title = "{{ 7 * 7 }} {% if true %}x{% endif %}"
        session.add(report)
    out = Document(io.BytesIO(export(tmp_path, "--format", "docx", "--phase", "1")))
    assert "{{ 7 * 7 }} {% if true %}x{% endif %}" in lines(out)
    assert "49 x" not in lines(out)
