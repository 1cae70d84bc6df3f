"""Exports: XLSX opened back cell by cell, the DOCX checked against NĐ 30/2020, CSV with BOM."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from docx import Document
from docx.shared import Mm, Pt
from openpyxl import load_workbook
from typer.testing import CliRunner

from bot.cli.main import app
from bot.core.settings import get_settings
from tests.clerk_seed import HTML_NAME, seed

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


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


def day(value: str) -> dt.datetime:
    return dt.datetime.strptime(value, "%d/%m/%Y")  # noqa: DTZ007  openpyxl gives naive dates


# --- XLSX -------------------------------------------------------------------------------------


def test_xlsx_sheets_cell_by_cell(desk, tmp_path):
    wb = load_workbook(io.BytesIO(export(tmp_path, "--format", "xlsx")))
    assert wb.sheetnames == [
        "Đơn vị",
        "Báo cáo",
        "Đề nghị",
        "Mục tiêu thi đua",
        "Đăng ký thi đua",
        "Kiểm tra điều kiện",
    ]
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2"
        assert all(cell.font.bold for cell in ws[1])
        assert ws.auto_filter.ref == f"A1:{ws.cell(1, ws.max_column).column_letter}{ws.max_row}"

    units = wb["Đơn vị"]
    assert [c.value for c in units[1]] == [
        "Mã", "Đơn vị", "Văn phòng", "Số người", "Không liên lạc được",
        "Đợt 1: báo cáo tổng kết", "Đợt 1: số biên nhận", "Đợt 1: ngày gửi",
        "Đợt 1: báo cáo cá nhân",
    ]  # fmt: skip
    rows = {r[0]: r for r in units.iter_rows(min_row=2, values_only=True)}
    assert len(rows) == 8
    assert rows["QLCN"] == (
        "QLCN", "Phòng Quản lý Công nghiệp", None, 4, 1,
        "Đã gửi", "BC-2022-0007", day("10/05/2022"), 3,
    )  # fmt: skip
    assert rows["VP"] == ("VP", "Văn phòng Sở", "Có", 2, 0, None, None, None, 0)
    assert rows["HTML"] == ("HTML", HTML_NAME, None, 1, 0, "Chưa gửi", None, None, 1)
    assert "dd/mm/yyyy" in {units[f"H{r}"].number_format.lower() for r in range(2, 10)}
    assert 40 <= units.column_dimensions["B"].width < 41  # Excel adds its padding

    reports = wb["Báo cáo"]
    assert [c.value for c in reports[1]] == [
        "Số biên nhận", "Đợt thi đua", "Mã đơn vị", "Đơn vị", "Người báo cáo", "Loại",
        "Nội dung thi đua", "Tiêu đề", "Thành tích", "Minh chứng", "Trạng thái",
        "Ghi chú của Văn phòng", "Ngày gửi", "Ngày cập nhật",
    ]  # fmt: skip
    assert reports.max_row == 1 + 7  # 9 recorded, 2 withdrawn
    assert [c.value for c in reports[2]] == [
        "BC-2022-0001", 1, "QLCN", "Phòng Quản lý Công nghiệp", "Nguyễn Văn An", "Cá nhân",
        "Thi đua thực hiện xuất sắc nhiệm vụ chuyên môn", "Thành tích staff chuyen-mon",
        "Hoàn thành vượt mức kế hoạch", None, "Đã gửi", None,
        day("10/05/2022"), day("10/05/2022"),
    ]  # fmt: skip
    assert reports["M2"].number_format.lower() == "dd/mm/yyyy"
    assert reports["M2"].is_date
    receipts = [r[0] for r in reports.iter_rows(min_row=2, values_only=True)]
    assert "BC-2022-0004" not in receipts and "BC-2022-0008" not in receipts  # withdrawn
    html_row = next(r for r in reports.iter_rows(min_row=2, values_only=True) if r[2] == "HTML")
    assert html_row[3] == HTML_NAME
    unit_row = next(
        r for r in reports.iter_rows(min_row=2, values_only=True) if r[0] == "BC-2022-0007"
    )
    assert unit_row[5] == "Báo cáo tổng kết đợt của đơn vị"

    noms = wb["Đề nghị"]
    assert noms.max_row == 1 + 8  # 9 recorded, 1 withdrawn
    assert [c.value for c in noms[2]] == [
        "DN-2022-0001", 1, "QLCN", "Phòng Quản lý Công nghiệp", "Cá nhân", "Nguyễn Văn An",
        "Lao động tiên tiến", "Danh hiệu thi đua", "Hoàn thành xuất sắc nhiệm vụ", None,
        "Đơn vị đã xác nhận", "Hồ Trưởng Phòng", None, day("10/05/2022"),
    ]  # fmt: skip
    statuses = [r[10] for r in noms.iter_rows(min_row=2, values_only=True)]
    assert statuses.count("Đã tiếp nhận") == 1 and statuses.count("Đề xuất") == 1
    cstd = next(r for r in noms.iter_rows(min_row=2, values_only=True) if r[6].startswith("Chiến"))
    assert cstd[9] == "Sáng kiến số hóa hồ sơ"

    targets = wb["Mục tiêu thi đua"]
    rows = list(targets.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 12
    assert rows[1] == (
        "Tập thể",
        "100% phòng chuyên môn, đơn vị trực thuộc đạt danh hiệu tập thể lao động tiên tiến",
        "Tập thể lao động tiên tiến", None, 1, 2, 0.29, 7, "Không",
    )  # fmt: skip
    assert targets["E3"].number_format == targets["G3"].number_format == "0%"  # percentages
    assert rows[7] == (
        "Cá nhân", "09 cá nhân đạt chiến sỹ thi đua cơ sở", "Chiến sĩ thi đua cơ sở",
        9, None, 1, None, None, "Không",
    )  # fmt: skip
    assert rows[11][3] == "1–2"


def test_xlsx_for_one_phase_and_for_an_empty_store(people, tmp_path):
    wb = load_workbook(io.BytesIO(export(tmp_path, "--format", "xlsx", "--phase", "2")))
    for ws in wb.worksheets:
        assert ws.auto_filter.ref.startswith("A1:")
    assert wb["Báo cáo"].max_row == 1 and wb["Đề nghị"].max_row == 1
    assert wb["Báo cáo"].auto_filter.ref.startswith("A1:N")
    assert wb["Đơn vị"]["F1"].value == "Đợt 2: báo cáo tổng kết"
    assert [r[5] for r in wb["Đơn vị"].iter_rows(min_row=2, values_only=True)] == [
        None, "Chưa gửi", "Chưa gửi", "Chưa gửi", "Chưa gửi", "Chưa gửi", "Chưa gửi",
    ]  # fmt: skip


def test_xlsx_phase_filter(desk, tmp_path):
    wb = load_workbook(io.BytesIO(export(tmp_path, "--format", "xlsx", "--phase", "2")))
    assert [r[0] for r in wb["Báo cáo"].iter_rows(min_row=2, values_only=True)] == ["BC-2022-0009"]


# --- DOCX -------------------------------------------------------------------------------------


def texts(doc) -> list[str]:
    found = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            for cell in row.cells:
                found += [p.text for p in cell.paragraphs]
    return found


def paragraph(doc, text: str):
    for p in doc.paragraphs:
        if p.text == text:
            return p
    for table in doc.tables:
        for cell in table._cells:
            for p in cell.paragraphs:
                if p.text == text:
                    return p
    raise AssertionError(f"no paragraph {text!r}")


def test_docx_is_an_administrative_document(desk, tmp_path):
    doc = Document(io.BytesIO(export(tmp_path, "--format", "docx", "--phase", "1")))
    section = doc.sections[0]
    assert abs(section.page_width - Mm(210)) < Mm(0.1)  # A4, to the twip
    assert abs(section.page_height - Mm(297)) < Mm(0.1)
    twip = Mm(0.02)  # Word stores margins in twentieths of a point
    assert Mm(20) - twip <= section.top_margin <= Mm(25)
    assert Mm(20) - twip <= section.bottom_margin <= Mm(25)
    assert Mm(30) - twip <= section.left_margin <= Mm(35)
    assert Mm(15) - twip <= section.right_margin <= Mm(20)
    normal = doc.styles["Normal"]
    assert normal.font.name == "Times New Roman" and Pt(13) <= normal.font.size <= Pt(14)

    header = doc.tables[0].rows[0].cells
    left = [p.text for p in header[0].paragraphs if p.text]
    assert left == ["UBND TỈNH HÀ TĨNH", "SỞ CÔNG THƯƠNG", "Số:           /BC-SCT"]
    assert paragraph(doc, "SỞ CÔNG THƯƠNG").runs[0].bold
    rules = [
        p
        for p in header[0].paragraphs
        if p._p.pPr is not None
        and p._p.pPr.find("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}pBdr")
        is not None
    ]
    assert len(rules) == 1  # the short line under the issuing body
    right = [p.text for p in header[1].paragraphs if p.text]
    assert right == [
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "Hà Tĩnh, ngày … tháng … năm 2022",
    ]
    assert paragraph(doc, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM").runs[0].bold
    motto = paragraph(doc, "Độc lập - Tự do - Hạnh phúc").runs[0]
    assert motto.bold and motto.underline
    assert paragraph(doc, "Hà Tĩnh, ngày … tháng … năm 2022").runs[0].italic

    kind = paragraph(doc, "BÁO CÁO")
    assert kind.runs[0].bold and kind.alignment == 1  # centred
    subject = paragraph(doc, "Kết quả phong trào thi đua đợt 1 năm 2022")
    assert subject.runs[0].bold and subject.alignment == 1

    body = "\n".join(texts(doc))
    assert (
        "Thực hiện Kế hoạch tổ chức phong trào thi đua thực hiện thắng lợi nhiệm vụ phát triển "
        "ngành Công Thương 2022 của Sở Công Thương, Sở Công Thương báo cáo kết quả đợt thi đua "
        "thứ nhất năm 2022 (số liệu tổng hợp đến ngày 10/05/2022) như sau:"
    ) in body
    for line in (
        "I. KẾT QUẢ THEO NỘI DUNG THI ĐUA",
        "Các đơn vị, cá nhân đã gửi 5 báo cáo thành tích cá nhân:",
        "1. Thi đua thực hiện xuất sắc nhiệm vụ chuyên môn: 3 báo cáo.",
        "II. TÌNH HÌNH GỬI BÁO CÁO TỔNG KẾT ĐỢT CỦA CÁC ĐƠN VỊ",
        "Đã gửi báo cáo: 1/7 đơn vị:",
        "- Phòng Quản lý Công nghiệp (BC-2022-0007, ngày 10/05/2022);",
        "III. KẾT QUẢ ĐỀ NGHỊ KHEN THƯỞNG SO VỚI CHỈ TIÊU",
        "1. Đối với tập thể:",
        "- Tập thể lao động xuất sắc: 1/2.",
        "2. Đối với cá nhân:",
        "- Chiến sĩ thi đua cơ sở: 1/9.",
        "- Lao động tiên tiến: 27% (chỉ tiêu 100%).",  # Babel's form: no break before %
        "- Lao động tiên tiến (3): Nguyễn Thị Bình (QLCN), Nguyễn Văn An (QLCN), "
        "Đỗ Thị Dung (TTRA).",
        "- Chiến sĩ thi đua cơ sở (1): Nguyễn Văn An (QLCN).",
        "- Tập thể lao động tiên tiến (2): Phòng Quản lý Công nghiệp, Thanh tra Sở.",
        "Trên đây là báo cáo kết quả đợt thi đua thứ nhất năm 2022 của Sở Công Thương./.",
    ):
        assert line in body.splitlines(), line
    assert "Chưa gửi báo cáo: 6 đơn vị (Thanh tra Sở;" in body
    assert "hạn tổng kết đợt là ngày 15/07/2022 (còn 66 ngày)." in body
    assert HTML_NAME in body  # in the table of reports by unit

    table = doc.tables[1]
    assert [c.text for c in table.rows[0].cells] == [
        "TT", "Đơn vị", "Nội dung 1", "Nội dung 2", "Nội dung 3", "Tổng"
    ]  # fmt: skip
    assert [c.text for c in table.rows[4].cells] == [
        "4", "Phòng Quản lý Công nghiệp", "2", "1", "0", "3"
    ]  # fmt: skip
    assert [c.text for c in table.rows[-1].cells] == ["", "Tổng", "3", "1", "1", "5"]

    signature = next(t for t in doc.tables if t.rows[0].cells[0].text.startswith("Nơi nhận:"))
    sign_left, sign_right = signature.rows[0].cells
    recipients = [p for p in sign_left.paragraphs if p.text]
    assert recipients[0].text == "Nơi nhận:"
    assert recipients[0].runs[0].font.size == Pt(12)
    assert recipients[0].runs[0].bold and recipients[0].runs[0].italic
    assert [p.text for p in recipients[1:]] == [
        "- UBND tỉnh (để b/c);",
        "- Sở Nội vụ;",
        "- Các phòng chuyên môn, TTKC và XTTM;",
        "- Công đoàn ngành Công Thương;",
        "- Lưu: VT, VP.",
    ]
    signer = [p for p in sign_right.paragraphs if p.text]
    assert [p.text for p in signer] == ["GIÁM ĐỐC", "Hoàng Văn Quảng"]
    assert all(p.runs[0].bold for p in signer)

    assert section.different_first_page_header_footer
    assert "PAGE" in section.header._element.xml
    assert doc.core_properties.author == "SỞ CÔNG THƯƠNG"


def test_docx_for_a_phase_with_nothing(people, tmp_path):
    doc = Document(io.BytesIO(export(tmp_path, "--format", "docx")))
    body = "\n".join(texts(doc))
    assert "Kết quả phong trào thi đua đợt 1 năm 2022" in body  # the current phase
    assert "Các đơn vị, cá nhân đã gửi 0 báo cáo thành tích cá nhân:" in body
    assert "Đã gửi báo cáo: 0/6 đơn vị." in body
    assert "Chưa có đề nghị nào được xác nhận." in body
    assert "Hà Tĩnh, ngày … tháng … năm 2022" in body


# --- CSV --------------------------------------------------------------------------------------


def test_csv_has_a_bom_and_reads_back(desk, tmp_path):
    raw = export(tmp_path, "--format", "csv")
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert rows[0][:4] == ["Số biên nhận", "Đợt thi đua", "Mã đơn vị", "Đơn vị"]
    assert len(rows) == 1 + 7
    assert rows[1] == [
        "BC-2022-0001", "1", "QLCN", "Phòng Quản lý Công nghiệp", "Nguyễn Văn An", "Cá nhân",
        "Thi đua thực hiện xuất sắc nhiệm vụ chuyên môn", "Thành tích staff chuyen-mon",
        "Hoàn thành vượt mức kế hoạch", "", "Đã gửi", "", "10/05/2022", "10/05/2022",
    ]  # fmt: skip
    assert any(r[3] == HTML_NAME for r in rows)
    raw = export(tmp_path, "--format", "csv", "--table", "units")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert [r for r in rows if r[0] == "HTML"] == [
        ["HTML", HTML_NAME, "", "1", "0", "Chưa gửi", "", "", "1"]
    ]


# --- /export in chat --------------------------------------------------------------------------


def test_export_in_chat_offers_the_formats_and_sends_the_file(desk, chat_as):
    chat = chat_as(desk.clerk)
    chat.say("/xuat")
    assert chat.labels == [
        "Tệp XLSX: đơn vị, báo cáo, đề nghị, chỉ tiêu",
        "Báo cáo DOCX để trình ký (một đợt)",
        "Tệp CSV danh sách báo cáo",
    ]
    chat.press("Tệp XLSX: đơn vị, báo cáo, đề nghị, chỉ tiêu")
    assert chat.labels == ["Tất cả các đợt", "Đợt thi đua thứ nhất", "Đợt thi đua thứ hai"]
    building, reply = chat.press("Tất cả các đợt")
    assert building.text == "Đang tạo tệp…" and building.document is None
    name = "cong-thuong-ha-tinh-2022-tong-hop-ca-nam-20220510.xlsx"
    assert reply.text == f"Tệp {name} đây ạ."
    assert reply.document.filename == name and reply.document.mime == XLSX
    wb = load_workbook(io.BytesIO(reply.document.content))
    assert wb["Báo cáo"].max_row == 1 + 7 and wb["Báo cáo"]["A2"].value == "BC-2022-0001"


def test_export_arguments_and_docx_phase_choice(desk, chat_as):
    chat = chat_as(desk.admin)
    _building, reply = chat.say("/export docx 1")
    assert reply.document.mime == DOCX
    assert reply.document.filename.endswith("-bao-cao-dot-1-20220510.docx")
    assert "Kết quả phong trào thi đua đợt 1 năm 2022" in texts(
        Document(io.BytesIO(reply.document.content))
    )
    chat.say("/export docx")
    assert chat.labels == ["Đợt thi đua thứ nhất", "Đợt thi đua thứ hai"]  # no "all" for DOCX
    _building, reply = chat.say("/xuat csv 2")
    assert reply.document.content.decode("utf-8-sig").count("\n") == 2  # header + 1 report


def test_export_is_for_the_office_only_and_not_on_zalo(desk, people, chat_as):
    for person in (desk.head, desk.staff2):
        chat = chat_as(person)
        chat.say("/export")
        assert chat.text.startswith("Xin lỗi, lệnh /export không dành cho vai trò của bạn")
        assert not any(r.document for r in chat.last)
    clerk = people.add(role="clerk", unit="VP", channel="zalo", user_id="zl-clerk")
    chat = chat_as(clerk, channel="zalo")
    chat.say("/xuat xlsx")
    assert chat.text.startswith("Ứng dụng này không gửi được tệp.")
    assert "thidua export --format xlsx" in chat.text
