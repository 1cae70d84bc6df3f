"""A printable sheet of personal invites: name, unit, code, the t.me deep link and its QR
code, one person a row (XLSX, for a mail merge) or one a block (PDF, to cut and hand out)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import qrcode
from qrcode.image.pil import PilImage

from bot.core.i18n import _


@dataclass(frozen=True)
class SheetRow:
    name: str
    unit: str
    code: str
    link: str | None  # the t.me deep link, when the bot's username is known
    expires: str  # DD/MM/YYYY

    @property
    def target(self) -> str:
        """What the QR code holds: the deep link, else the message to send the bot."""
        return self.link or f"/start {self.code}"


def qr_png(text: str, box: int = 6) -> bytes:
    image = qrcode.make(text, image_factory=PilImage, box_size=box, border=2)
    out = io.BytesIO()
    image.save(out)
    return out.getvalue()


def _how(row: SheetRow) -> str:
    return _("Open the link or scan the code; on Zalo send: /start {code}").format(code=row.code)


def write_xlsx(rows: list[SheetRow], path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.drawing.image import Image
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    ws = wb.active
    ws.title = _("Invites")
    header = [_("Full name"), _("Unit"), _("Invite code"), _("Link"), _("Valid until"), _("QR")]
    ws.append(header)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for width, letter in zip((28, 34, 14, 44, 12, 18), "ABCDEF", strict=True):
        ws.column_dimensions[letter].width = width
    for n, row in enumerate(rows, start=2):
        ws.append([row.name, row.unit, row.code, row.link or f"/start {row.code}", row.expires])
        ws.row_dimensions[n].height = 100
        for cell in ws[n]:
            cell.alignment = Alignment(vertical="center", wrap_text=True)
        image = Image(io.BytesIO(qr_png(row.target, box=3)))
        image.width = image.height = 120
        ws.add_image(image, f"F{n}")
    wb.save(path)


def _font_file(bold: bool = False) -> Path:
    import matplotlib

    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name


def write_pdf(rows: list[SheetRow], path: Path, *, title: str) -> None:
    """A4, three invites a page, each with its QR code (a font with Vietnamese letters)."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=False)
    pdf.add_font("DejaVu", "", str(_font_file()))
    pdf.add_font("DejaVu", "B", str(_font_file(bold=True)))
    for index, row in enumerate(rows):
        if index % 3 == 0:
            pdf.add_page()
        top = 15 + (index % 3) * 92
        pdf.set_xy(15, top)
        pdf.set_font("DejaVu", "", 9)
        pdf.cell(0, 5, title)
        pdf.set_xy(15, top + 8)
        pdf.set_font("DejaVu", "B", 14)
        pdf.cell(120, 8, row.name)
        pdf.set_font("DejaVu", "", 11)
        pdf.set_xy(15, top + 17)
        pdf.multi_cell(120, 6, row.unit)
        pdf.set_xy(15, top + 32)
        pdf.cell(120, 6, _("Invite code: {code}").format(code=row.code))
        pdf.set_xy(15, top + 39)
        pdf.cell(120, 6, _("Valid until {day}").format(day=row.expires))
        pdf.set_xy(15, top + 47)
        pdf.set_font("DejaVu", "", 9)
        pdf.multi_cell(120, 5, f"{row.link or ''}\n{_how(row)}".strip())
        pdf.image(io.BytesIO(qr_png(row.target)), x=140, y=top + 5, w=55, h=55)
        pdf.set_dash_pattern(dash=2, gap=2)  # where to cut
        pdf.line(10, top + 88, 200, top + 88)
        pdf.set_dash_pattern()
    if not rows:
        pdf.add_page()
    pdf.output(str(path))
