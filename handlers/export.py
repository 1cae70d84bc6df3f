"""`/export` (`/xuat`): the compiled campaign as a file: XLSX, DOCX (for signing) or CSV.

`/export` asks the format and the phase; `/export xlsx`, `/export docx 1` answer them at once.
Zalo's bot API carries text only, so there the clerk is pointed to Telegram or the CLI.

The answer comes at once ("Building the file…"); the file is built afterwards (`Reply.later`,
in a session of its own) and sent when ready, zipped or split if over the platform's limit
(THIDUA_SEND_MAX_MB). A second /export while one is building is told so.
"""

from __future__ import annotations

import datetime as dt
import io
import threading
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from bot.core.db import session_scope
from bot.core.exports.names import file_name
from bot.core.exports.rows import Scope
from bot.core.i18n import _, current_language, format_number, language
from bot.core.settings import get_settings
from bot.core.store import active_campaign
from bot.core.summary import current_phase
from handlers.context import Ctx
from handlers.engine import Answers, Choices, Flow, Step
from handlers.types import File, Reply

FORMATS = ("xlsx", "docx", "csv")
ALL = "all"
TEXT_ONLY_CHANNELS = frozenset({"zalo"})
ZIP = "application/zip"


def _formats(ctx: Ctx, answers: Answers) -> Choices:
    return [
        ("xlsx", _("XLSX workbook: units, reports, nominations, targets")),
        ("docx", _("DOCX report for signing (one phase)")),
        ("csv", _("CSV of the reports")),
    ]


def _phases(ctx: Ctx, answers: Answers) -> Choices:
    found = [] if answers.get("format") == "docx" else [(ALL, _("All phases"))]
    return found + [(str(p.number), p.name) for p in ctx.campaign.phases]


def _begin(ctx: Ctx, args: str) -> Answers | list[Reply]:
    if ctx.incoming.channel in TEXT_ONLY_CHANNELS:
        return [
            Reply(
                _(
                    "Files cannot be sent on this app. Use /export on Telegram, or on the "
                    "office computer: thidua export --format xlsx --out tong-hop.xlsx"
                )
            )
        ]
    answers: Answers = {}
    for word in args.lower().split():
        if word in FORMATS:
            answers["format"] = word
        elif (
            word.isascii()
            and word.isdigit()
            and int(word) in {p.number for p in ctx.campaign.phases}
        ):
            answers["phase"] = word
        elif word in (ALL, "tatca"):
            answers["phase"] = ALL
    return answers


def _given(name: str) -> Callable[[Ctx, Answers], str | None]:
    """A step's `auto`: the answer `_begin` read from the command's arguments, if any."""
    return lambda ctx, answers: cast("str | None", answers.get(name))


def _finish(ctx: Ctx, answers: Answers) -> list[Reply]:
    fmt = str(answers["format"])
    picked = str(answers.get("phase") or ALL)
    phase = None if picked == ALL else int(picked)
    if fmt == "docx" and phase is None:
        phase = current_phase(ctx.campaign, ctx.today).number
    key = f"{ctx.incoming.channel}:{ctx.incoming.chat_id}"
    if not _claim(key, ctx.now):
        return [Reply(_("Your previous file is still being built; it comes in a moment."))]
    job = Job(key, fmt, phase, ctx.today, ctx.now, current_language(), ctx.incoming.channel)
    return [Reply(_("Building the file…"), later=job.run)]


# --- the file, built after the answer -----------------------------------------------------

#: chats with a file being built, since when (one process; a stale mark lapses)
_BUILDING: dict[str, dt.datetime] = {}
_LOCK = threading.Lock()
STALE = dt.timedelta(minutes=15)


def _claim(key: str, now: dt.datetime) -> bool:
    with _LOCK:
        since = _BUILDING.get(key)
        if since is not None and now - since < STALE:
            return False
        _BUILDING[key] = now
        return True


def _release(key: str) -> None:
    with _LOCK:
        _BUILDING.pop(key, None)


@dataclass(frozen=True)
class Job:
    key: str
    fmt: str
    phase: int | None
    today: dt.date
    now: dt.datetime
    lang: str
    channel: str

    def run(self) -> list[Reply]:
        """Build the file in a session of its own; zip or split it to fit the platform."""
        try:
            with language(self.lang), session_scope() as session:
                row, campaign = active_campaign(session=session)
                scope = Scope(
                    session=session,
                    campaign_row=row,
                    campaign=campaign,
                    today=self.today,
                    phase=self.phase,
                )
                content, mime = build(self.fmt, scope)
                name = file_name(campaign.code, self.fmt, self.phase, self.today)
                return fitted(name, content, mime, send_limit(self.channel))
        finally:
            _release(self.key)


def build(fmt: str, scope: Scope) -> tuple[bytes, str]:
    from bot.core.exports import (  # the writers load on first use
        csv_export,
        docx,
        xlsx,
    )

    out = io.BytesIO()
    writer, mime = {
        "xlsx": (xlsx.export, xlsx.MIME),
        "docx": (docx.export, docx.MIME),
        "csv": (csv_export.export, csv_export.MIME),
    }[fmt]
    writer(scope, out)
    return out.getvalue(), mime


def send_limit(channel: str) -> int:
    """The largest file this channel may send, in bytes (THIDUA_SEND_MAX_MB, Telegram 50)."""
    return int(get_settings().send_max_mb * 1024 * 1024)


def fitted(name: str, content: bytes, mime: str, limit: int) -> list[Reply]:
    """The file as one reply; over `limit`, zipped; still over, the zip in numbered parts
    (`….zip.001`, `.002`: joined with `cat` or 7-Zip)."""
    if len(content) <= limit:
        return [
            Reply(
                _("Here is the file {name}.").format(name=name), document=File(name, content, mime)
            )
        ]
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, content)
    zipped, zip_name = packed.getvalue(), f"{name}.zip"
    mb = format_number(round(limit / 1024 / 1024, 1))
    if len(zipped) <= limit:
        return [
            Reply(
                _("The file is over {mb} MB, so it is zipped: {name}.").format(
                    mb=mb, name=zip_name
                ),
                document=File(zip_name, zipped, ZIP),
            )
        ]
    parts = [zipped[i : i + limit] for i in range(0, len(zipped), limit)]
    replies = [
        Reply(
            _(
                "The file is over {mb} MB even zipped, so it comes in {n} parts; put them "
                "together (7-Zip, or cat {name}.* > {name}) and unzip."
            ).format(mb=mb, n=len(parts), name=zip_name)
        )
    ]
    for k, part in enumerate(parts, start=1):
        part_name = f"{zip_name}.{k:03d}"
        replies.append(
            Reply(
                _("Part {k} of {n}.").format(k=k, n=len(parts)),
                document=File(part_name, part, "application/octet-stream"),
            )
        )
    return replies


def describe() -> str:
    return _("files for the office: XLSX, DOCX, CSV")


FLOW = Flow(
    name="export",
    menu=True,
    begin=_begin,
    steps=(
        Step(
            "format",
            "choice",
            lambda ctx, a: _("Which file?"),
            choices=_formats,
            auto=_given("format"),
        ),
        Step(
            "phase",
            "choice",
            lambda ctx, a: _("Which phase should the file cover?"),
            choices=_phases,
            auto=_given("phase"),
        ),
    ),
    finish=_finish,
)
