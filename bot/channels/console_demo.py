"""The console demo: with no channel token, `thidua run` talks to you on this terminal.

The demo person is staff of a demo unit, registered on the console channel; the bundled plan's
year is lived in so that `/report` has a phase open. It runs on a database of its own in the
data home (`Settings.demo_database_url`; `thidua run` switches to it), never the office's.
"""

from __future__ import annotations

import sys
from pathlib import Path

from sqlmodel import Session, col, select

from bot.channels.console import serve as serve_console
from bot.core import clock
from bot.core import models as m
from bot.core.db import session_scope
from bot.core.i18n import _
from bot.core.roles import Role
from bot.core.settings import Settings
from bot.core.store import active_campaign
from handlers.types import Handle

DEMO_UNIT = "DEMO"
DEMO_USER = "local"


def console_demo(settings: Settings, handle: Handle) -> None:
    """No channel token: talk to the bot on this terminal as the staff of a demo unit."""
    with session_scope() as session:
        in_use = session.exec(
            select(m.Identity.id).where(col(m.Identity.channel).in_(("telegram", "zalo")))
        ).first()
    if in_use is not None:
        # Never seed a demo unit and person into an office's live database.
        print(
            _(
                "No TELEGRAM_BOT_TOKEN or ZALO_BOT_TOKEN set, and this database already serves "
                "Telegram or Zalo users: set the tokens to run the bot, or talk to it here with "
                "`thidua chat --user ID`."
            ),
            file=sys.stderr,
        )
        raise SystemExit(1)
    with session_scope() as session:
        _row, campaign = active_campaign(session=session)
        if settings.now is None and not any(
            p.open_for_reports(clock.today()) for p in campaign.phases
        ):
            # The bundled plan is 2022's: live inside its year so /report has a phase open.
            today = clock.local_now()
            clock.start_at(today.replace(year=campaign.year))
        _demo_person(session)
    print(
        _(
            "No TELEGRAM_BOT_TOKEN or ZALO_BOT_TOKEN set: this is the console demo. You are "
            "staff of a demo unit; the date is {day}. Type /report to file a report, /help for "
            "more, Ctrl-D to quit."
        ).format(day=clock.today().strftime("%d/%m/%Y")),
        flush=True,
    )
    serve_console(
        handle,
        user_id=DEMO_USER,
        name=_("Demo user"),
        prompt=sys.stdin.isatty(),
        attachments=Path(settings.attachments_dir),
        max_bytes=int(settings.upload_max_mb * 1024 * 1024),
    )


def _demo_person(session: Session) -> None:
    """The demo unit and the local console user, registered as its staff (idempotent)."""
    unit = session.exec(select(m.Unit).where(m.Unit.code == DEMO_UNIT)).first()
    if unit is None:
        unit = m.Unit(code=DEMO_UNIT, name=_("Demo unit"))
        session.add(unit)
        session.flush()
    assert unit.id is not None  # stored, or given its id by the flush
    identity = session.exec(
        select(m.Identity).where(m.Identity.channel == "console", m.Identity.user_id == DEMO_USER)
    ).first()
    if identity is None:
        person = m.Person(
            full_name=_("Demo user"), unit_id=unit.id, role=Role.STAFF, created_at=clock.now()
        )
        session.add(person)
        session.flush()
        assert person.id is not None  # the flush gave it its id
        session.add(
            m.Identity(
                person_id=person.id,
                channel="console",
                user_id=DEMO_USER,
                chat_id=DEMO_USER,
                display_name=person.full_name,
                created_at=clock.now(),
            )
        )
