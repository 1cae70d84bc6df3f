"""`thidua backup`, `thidua restore`, `thidua audit`: keeping the store through the year."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import sqlalchemy as sa
import typer

from bot.cli.common import JsonFlag, ensure_ready, fail, print_json
from bot.core import audit_log, clock
from bot.core import backup as archive
from bot.core.db import engine_for, migrate, session_scope, shown
from bot.core.i18n import _
from bot.core.settings import get_settings
from schedules.scheduler import LeaderLock

app = typer.Typer()


def _default_archive() -> Path:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    return get_settings().home / "backups" / f"thidua-{stamp}.tar.gz"


@app.command()
def backup(
    out: Annotated[
        Path | None,
        typer.Option("--out", help="The archive to write (default: THIDUA_HOME/backups/…)."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Back up the database and the attachments into one archive (safe while the bot runs)."""
    settings = get_settings()
    out = out or _default_archive()
    try:
        manifest = archive.backup(settings.database_url, Path(settings.attachments_dir), out)
    except archive.BackupError as exc:
        raise fail(str(exc)) from None
    attachments = sum(1 for name in manifest.files if name.startswith(archive.ATTACHMENTS))
    if as_json:
        print_json({"archive": str(out), "bytes": out.stat().st_size, **manifest.to_json()})
        return
    typer.echo(
        _("Backup written: {path} ({rows} rows, {files} attachments, migration {head}).").format(
            path=out,
            rows=sum(manifest.counts.values()),
            files=attachments,
            head=manifest.migration_head,
        )
    )


@app.command()
def restore(
    file: Annotated[Path, typer.Argument(help="An archive made by `thidua backup`.")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace a store that already holds data.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Restore a backup into this store (never while a bot runs on it), then migrate it."""
    settings = get_settings()
    url = settings.database_url
    lock = LeaderLock(url)  # held by every running bot's scheduler: and now by us
    if not lock.acquire():
        raise fail(
            _("A thidua bot is running on this store ({url}): stop it, then restore.").format(
                url=shown(url)
            )
        )
    try:
        if not force and archive.has_data(url):
            raise fail(
                _(
                    "The store {url} already holds data: add --force to replace it with the "
                    "backup."
                ).format(url=shown(url))
            )
        restored = archive.restore(file, url, Path(settings.attachments_dir))
        migrate(url)
        with engine_for(url).connect() as conn:
            head = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    except archive.BackupError as exc:
        raise fail(str(exc)) from None
    finally:
        lock.release()
    manifest = restored.manifest
    if as_json:
        print_json(
            {
                "archive": str(file),
                "database": shown(url),
                "verified": True,
                "attachments": restored.files,
                "migrated_from": manifest.migration_head,
                "migration_head": head,
                "counts": manifest.counts,
                "backup_version": manifest.version,
                "backup_created_at": manifest.created_at,
            }
        )
        return
    typer.echo(
        _(
            "Restored {path} into {url}: {rows} rows and {files} attachments, checked against "
            "the manifest."
        ).format(
            path=file, url=shown(url), rows=sum(manifest.counts.values()), files=restored.files
        )
    )
    if head != manifest.migration_head:
        typer.echo(
            _("The database was migrated from {old} to {new}.").format(
                old=manifest.migration_head, new=head
            )
        )


@app.command()
def audit(
    since: Annotated[
        str | None,
        typer.Option("--since", help="A day (2022-05-10), an instant, or 7d / 12h ago."),
    ] = None,
    person: Annotated[
        str | None, typer.Option("--person", help="A person's id or part of their name.")
    ] = None,
    kind: Annotated[
        str | None, typer.Option("--kind", help="An action (report.save) or its area (report).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many.")] = 200,
    as_json: JsonFlag = False,
) -> None:
    """Read the audit log: who did what, when (oldest first)."""
    try:
        start = audit_log.parse_since(since) if since else None
    except ValueError:
        raise fail(
            _("--since: “{value}” is not a day (2022-05-10), an instant or 7d / 12h.").format(
                value=since
            ),
            code=2,
        ) from None
    ensure_ready()
    with session_scope() as session:
        found = audit_log.events(
            session=session, since=start, person=person, kind=kind, limit=limit
        )
    if as_json:
        print_json(found)
        return
    if not found:
        typer.echo(_("No audit events match."))
    for event in found:
        at = dt.datetime.fromisoformat(event["at"]).astimezone(clock.LOCAL)
        who = event["person"] or "-"
        detail = json.dumps(event["detail"], ensure_ascii=False) if event["detail"] else ""
        typer.echo(
            f"{at:%d/%m/%Y %H:%M:%S}  {event['action']:<18} {who:<24} "
            f"{event['subject'] or '':<16} {detail}".rstrip()
        )
