"""The composition root: what `thidua run` starts, readable top to bottom.

settings → store (migrated by the CLI) → handlers (`handlers.router.handle`, commands listed in
`handlers.registry`) → channels (Telegram, Zalo, or the console demo) → one web server for
webhooks if any → scheduler and delivery for pushes.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from aiohttp import web
from sqlmodel import select

from bot import clock
from bot import models as m
from bot.channels.base import Runner
from bot.db import session_scope
from bot.i18n import _
from bot.settings import Settings, get_settings
from bot.store import active_campaign
from handlers.router import handle

log = logging.getLogger(__name__)

DEMO_UNIT = "DEMO"
DEMO_USER = "local"


def main() -> None:
    settings = get_settings()
    if settings.telegram_bot_token is None and settings.zalo_bot_token is None:
        console_demo(settings)
        return
    asyncio.run(serve(settings))


def build_runners(settings: Settings) -> list[Runner]:
    runners: list[Runner] = []
    if settings.telegram_bot_token is not None:
        from bot.channels.telegram import TelegramRunner

        runners.append(TelegramRunner(settings, handle))
    if settings.zalo_bot_token is not None:
        from bot.channels.zalo import ZaloRunner

        runners.append(ZaloRunner(settings, handle))
    return runners


async def serve(settings: Settings) -> None:
    """Run the channels (and the pushes) until SIGTERM or SIGINT."""
    runners = build_runners(settings)
    web_app = (
        web.Application() if (settings.telegram_webhook_url or settings.zalo_webhook_url) else None
    )
    for runner in runners:
        await runner.start(web_app)
    site_runner = None
    if web_app is not None:
        host, port = settings.listen.rsplit(":", 1)
        site_runner = web.AppRunner(web_app, access_log=None)  # paths carry no token, but
        await site_runner.setup()  # keep request logs out of the bot's log all the same
        await web.TCPSite(site_runner, host or "0.0.0.0", int(port)).start()
        log.info("webhooks listening on %s", settings.listen)
    from schedules.scheduler import Pushes

    pushes = Pushes(settings, {r.name: r for r in runners}, own_process=True)
    await pushes.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("thidua running: %s", ", ".join(r.name for r in runners))
    await stop.wait()
    log.info("stopping")
    await pushes.stop()
    for runner in runners:
        await runner.stop()
    if site_runner is not None:
        await site_runner.cleanup()


def console_demo(settings: Settings) -> None:
    """No channel token: talk to the bot on this terminal as the staff of a demo unit."""
    from bot.channels.console import serve as serve_console

    with session_scope() as session:
        in_use = session.exec(
            select(m.Identity.id).where(m.Identity.channel.in_(("telegram", "zalo")))
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
    serve_console(handle, user_id=DEMO_USER, name=_("Demo user"), prompt=sys.stdin.isatty())


def _demo_person(session) -> None:
    """The demo unit and the local console user, registered as its staff (idempotent)."""
    unit = session.exec(select(m.Unit).where(m.Unit.code == DEMO_UNIT)).first()
    if unit is None:
        unit = m.Unit(code=DEMO_UNIT, name=_("Demo unit"))
        session.add(unit)
        session.flush()
    identity = session.exec(
        select(m.Identity).where(m.Identity.channel == "console", m.Identity.user_id == DEMO_USER)
    ).first()
    if identity is None:
        person = m.Person(
            full_name=_("Demo user"), unit_id=unit.id, role="staff", created_at=clock.now()
        )
        session.add(person)
        session.flush()
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
