"""`thidua doctor`: what an IT person would otherwise check by hand, one line each, with the fix.

Settings, the database (reachable, migrated, a campaign loaded), the data home (writable, free
space), Telegram (`getMe`, `getWebhookInfo`), Zalo (`getMe`), the clock and time zone, and
other processes on a SQLite database. Any `fail`: exit 1.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
import sqlalchemy as sa
import typer

from bot.channels.zalo_client import ZaloClient, ZaloError
from bot.cli.common import JsonFlag, print_json
from bot.core import clock
from bot.core.backup import head_revision
from bot.core.db import engine, is_sqlite, session_scope, shown, sqlite_path
from bot.core.i18n import _
from bot.core.settings import TIMEZONE, Settings, get_settings
from bot.core.store import NoCampaign, active_campaign
from schedules.scheduler import LeaderLock

app = typer.Typer()

OK, WARN, FAIL = "ok", "warn", "fail"
SPACE_WARN, SPACE_FAIL = 1024**3, 100 * 1024**2  # bytes free in the data home
PENDING_WARN = 100  # Telegram updates waiting
SKEW_WARN = 60.0  # seconds between this machine's clock and the platform's


@dataclass
class Check:
    name: str
    status: str
    message: str
    fix: str = ""

    def to_json(self) -> dict[str, str]:
        return {
            "check": self.name,
            "status": self.status,
            "message": self.message,
            "fix": self.fix,
        }


def _settings(s: Settings) -> list[Check]:
    found = [
        Check(
            "settings",
            OK,
            _("data home {home}; database {url}").format(home=s.home, url=shown(s.database_url)),
        )
    ]
    if s.telegram_bot_token is None and s.zalo_bot_token is None:
        found.append(
            Check(
                "channels",
                WARN,
                _("no TELEGRAM_BOT_TOKEN or ZALO_BOT_TOKEN: `thidua run` is the console demo"),
                _("Set the token of each platform the office uses."),
            )
        )
    for name, url in (
        ("TELEGRAM_WEBHOOK_URL", s.telegram_webhook_url),
        ("ZALO_WEBHOOK_URL", s.zalo_webhook_url),
    ):
        if url and urlsplit(url).scheme != "https":
            found.append(
                Check(
                    "settings",
                    FAIL,
                    _("{name} is not an https:// URL").format(name=name),
                    _("Serve the webhook behind HTTPS (see deploy/)."),
                )
            )
    secret = s.zalo_webhook_secret.get_secret_value() if s.zalo_webhook_secret else ""
    if s.zalo_webhook_url and not 8 <= len(secret) <= 256:
        found.append(
            Check(
                "settings",
                FAIL,
                _("ZALO_WEBHOOK_SECRET must be 8 to 256 characters"),
                _("Set ZALO_WEBHOOK_SECRET to a random string of 8 to 256 characters."),
            )
        )
    return found


def _database(s: Settings) -> list[Check]:
    try:
        with engine().connect() as conn:
            names = sa.inspect(conn).get_table_names()
            current = None
            if "alembic_version" in names:
                current = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    except sa.exc.DBAPIError as exc:
        reason = (
            str(exc.orig).strip().splitlines()[0] if exc.orig is not None else type(exc).__name__
        )
        return [
            Check(
                "database",
                FAIL,
                _("cannot use {url}: {reason}").format(url=shown(s.database_url), reason=reason),
                _("Check DATABASE_URL, and that the database server runs."),
            )
        ]
    found = [Check("database", OK, _("reachable: {url}").format(url=shown(s.database_url)))]
    head = head_revision()
    if current != head:
        found.append(
            Check(
                "migrations",
                FAIL,
                _("the database is at {have}, this thidua needs {want}").format(
                    have=current or "-", want=head
                ),
                _("Run `thidua init`."),
            )
        )
        return found
    found.append(Check("migrations", OK, _("at {head}").format(head=head)))
    try:
        with session_scope() as session:
            _row, campaign = active_campaign(session=session)
    except NoCampaign:
        found.append(
            Check(
                "campaign", FAIL, _("no campaign loaded"), _("Run `thidua init --campaign FILE`.")
            )
        )
        return found
    year = clock.today().year
    found.append(
        Check(
            "campaign",
            OK if campaign.year == year else WARN,
            _("{code} ({year})").format(code=campaign.code, year=campaign.year),
            ""
            if campaign.year == year
            else _("Load this year's plan: `thidua init --campaign FILE`."),
        )
    )
    return found


def _home(s: Settings) -> list[Check]:
    found = []
    for name, folder in (("home", s.home), ("attachments", Path(s.attachments_dir))):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-"):
                pass
        except OSError as exc:
            found.append(
                Check(
                    name,
                    FAIL,
                    _("{path} is not writable ({reason})").format(
                        path=folder, reason=exc.strerror
                    ),
                    _("Give the bot's user write access to {path}.").format(path=folder),
                )
            )
            continue
        found.append(Check(name, OK, _("{path} is writable").format(path=folder)))
    try:
        free = shutil.disk_usage(s.home).free
    except OSError:
        return found
    status = FAIL if free < SPACE_FAIL else WARN if free < SPACE_WARN else OK
    found.append(
        Check(
            "disk",
            status,
            _("{free} MB free in {path}").format(free=free // 1024**2, path=s.home),
            "" if status == OK else _("Free some space, or move THIDUA_HOME to a larger disk."),
        )
    )
    return found


def _telegram(s: Settings, skew: list[float]) -> list[Check]:
    if s.telegram_bot_token is None:
        return []
    root = f"{s.telegram_base_url}/bot{s.telegram_bot_token.get_secret_value()}/"
    try:
        with httpx.Client(timeout=10, trust_env=False) as http:
            me = http.post(root + "getMe")
            _skew(me, skew)
            if me.status_code == 401 or me.status_code == 404:
                return [
                    Check(
                        "telegram",
                        FAIL,
                        _("Telegram refused the token (HTTP {status})").format(
                            status=me.status_code
                        ),
                        _("Copy the token again from @BotFather into TELEGRAM_BOT_TOKEN."),
                    )
                ]
            me.raise_for_status()
            info = http.post(root + "getWebhookInfo")
            info.raise_for_status()
    except httpx.HTTPError as exc:
        return [
            Check(
                "telegram",
                FAIL,
                _("cannot reach {url} ({reason})").format(
                    url=s.telegram_base_url, reason=type(exc).__name__
                ),
                _("Check the network, a proxy, or TELEGRAM_BASE_URL."),
            )
        ]
    username = me.json().get("result", {}).get("username", "?")
    found = [Check("telegram", OK, _("getMe: @{name}").format(name=username))]
    hook = info.json().get("result", {})
    url, pending = hook.get("url") or "", int(hook.get("pending_update_count") or 0)
    want = s.telegram_webhook_url or ""
    if url != want:
        found.append(
            Check(
                "telegram webhook",
                WARN,
                _("the webhook is “{have}”, the settings say “{want}”").format(
                    have=url, want=want
                ),
                _("`thidua run` sets it at start; if it runs, restart it."),
            )
        )
    if hook.get("last_error_message"):
        found.append(
            Check(
                "telegram webhook",
                WARN,
                _("Telegram's last webhook error: {error}").format(
                    error=hook["last_error_message"]
                ),
                _("Check the reverse proxy and THIDUA_LISTEN (see deploy/)."),
            )
        )
    found.append(
        Check(
            "telegram updates",
            WARN if pending > PENDING_WARN else OK,
            _("{n} updates waiting").format(n=pending),
            _("Is `thidua run` running?") if pending > PENDING_WARN else "",
        )
    )
    return found


def _skew(response: httpx.Response, skew: list[float]) -> None:
    date = response.headers.get("date")
    if date:
        with_zone = email.utils.parsedate_to_datetime(date)
        skew.append((dt.datetime.now(dt.UTC) - with_zone).total_seconds())


def _zalo(s: Settings) -> list[Check]:
    if s.zalo_bot_token is None:
        return []

    async def me() -> str:
        assert s.zalo_bot_token is not None
        async with ZaloClient(s.zalo_bot_token.get_secret_value(), base_url=s.zalo_base_url) as c:
            return (await c.get_me()).account_name

    try:
        name = asyncio.run(me())
    except ValueError:
        return [Check("zalo", FAIL, _("ZALO_BOT_TOKEN is malformed"), _zalo_fix())]
    except ZaloError as exc:
        auth = exc.is_auth
        return [
            Check(
                "zalo",
                FAIL,
                _("Zalo refused the token ({reason})").format(reason=exc.description)
                if auth
                else _("cannot reach {url} ({reason})").format(
                    url=s.zalo_base_url, reason=exc.description
                ),
                _zalo_fix() if auth else _("Check the network, a proxy, or ZALO_BASE_URL."),
            )
        ]
    return [Check("zalo", OK, _("getMe: {name}").format(name=name))]


def _zalo_fix() -> str:
    return _("Copy the token again from Zalo Bot Creator into ZALO_BOT_TOKEN.")


def _clock(s: Settings, skew: list[float]) -> list[Check]:
    try:
        ZoneInfo(TIMEZONE)
    except Exception:
        return [
            Check(
                "clock",
                FAIL,
                _("the time zone {tz} is missing").format(tz=TIMEZONE),
                _("Install tzdata."),
            )
        ]
    local = clock.local_now()
    found = [
        Check(
            "clock",
            OK,
            _("{time} in {tz}").format(time=local.strftime("%d/%m/%Y %H:%M"), tz=TIMEZONE),
        )
    ]
    if s.now is not None:
        found.append(
            Check(
                "clock",
                WARN,
                _("THIDUA_NOW is set: the clock runs from a fixed instant"),
                _("Unset THIDUA_NOW outside demos and tests."),
            )
        )
    if skew and abs(skew[0]) > SKEW_WARN:
        found.append(
            Check(
                "clock",
                WARN,
                _("this machine's clock is {n} s off the platform's").format(n=round(skew[0])),
                _("Turn on time synchronisation (e.g. systemd-timesyncd or chrony)."),
            )
        )
    return found


def _processes(s: Settings) -> list[Check]:
    path = sqlite_path(s.database_url)
    if not is_sqlite(s.database_url) or path is None or not path.exists():
        return []
    users = _users_of(path)
    lock = LeaderLock(s.database_url)
    if lock.acquire():
        lock.release()
        running = _("no bot is running on it")
    else:
        running = _("a bot is running on it")
    if len(users) > 1:
        return [
            Check(
                "processes",
                WARN,
                _("{n} processes use the SQLite database ({pids}); {running}").format(
                    n=len(users), pids=", ".join(map(str, sorted(users))), running=running
                ),
                _("SQLite supports one `thidua run`: stop the others, or use PostgreSQL."),
            )
        ]
    return [Check("processes", OK, _("SQLite: {running}").format(running=running))]


def _users_of(path: Path) -> set[int]:
    """Processes (other than this one) with `path` open, each bot counted once (its delivery
    child, whose parent has the file open too, is left out)."""
    target = str(path.resolve())
    found: dict[int, int] = {}
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else []:
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            opened = any(
                os.readlink(fd) in (target, f"{target}-wal") for fd in (entry / "fd").iterdir()
            )
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if opened:
            found[int(entry.name)] = parent
    return {pid for pid, parent in found.items() if parent not in found}


def run_checks(s: Settings) -> list[Check]:
    skew: list[float] = []
    steps: list[Callable[[], list[Check]]] = [
        lambda: _settings(s),
        lambda: _home(s),
        lambda: _database(s),
        lambda: _telegram(s, skew),
        lambda: _zalo(s),
        lambda: _clock(s, skew),
        lambda: _processes(s),
    ]
    found: list[Check] = []
    for step in steps:
        found.extend(step())
    return found


@app.command()
def doctor(as_json: JsonFlag = False) -> None:
    """Check settings, database, data home, Telegram, Zalo, clock; exit 1 on any failure."""
    checks = run_checks(get_settings())
    failed = any(c.status == FAIL for c in checks)
    if as_json:
        print_json({"ok": not failed, "checks": [c.to_json() for c in checks]})
    else:
        label = {OK: _("ok"), WARN: _("warn"), FAIL: _("fail")}
        width = max(len(v) for v in label.values())
        for c in checks:
            line = f"{label[c.status]:<{width}}  {c.name}: {c.message}"
            typer.echo(line + (f" → {c.fix}" if c.fix else ""))
    if failed:
        raise typer.Exit(1)
