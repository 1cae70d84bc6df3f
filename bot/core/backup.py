"""`thidua backup` and `thidua restore`: one archive holding a consistent copy of the database,
the attachments, and a manifest (version, migration head, row counts, checksums).

The copy is taken while the bot runs: SQLite's online backup API (one read transaction, so WAL
writers go on), or `pg_dump` on a snapshot exported from the transaction that counted the rows,
so the counts in the manifest are those of the dump. The archive is a gzipped tar:

    manifest.json                  written last; lists every other member with its SHA-256
    database/thidua.db | database/dump.sql
    attachments/<path>             the attachment store as it was
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.script import ScriptDirectory

from bot.core.db import alembic_config, engine_for, is_sqlite, normalise_url, sqlite_path
from bot.core.i18n import _

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database/thidua.db"
PG_MEMBER = "database/dump.sql"
ATTACHMENTS = "attachments/"


class BackupError(Exception):
    """What went wrong, in one line a person can act on."""


@dataclass
class Manifest:
    version: str
    created_at: str
    dialect: str
    migration_head: str | None
    counts: dict[str, int]
    files: dict[str, str] = field(default_factory=dict)  # member -> sha256
    format: int = FORMAT

    def to_json(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "version": self.version,
            "created_at": self.created_at,
            "dialect": self.dialect,
            "migration_head": self.migration_head,
            "counts": self.counts,
            "files": self.files,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        return cls(
            version=str(data["version"]),
            created_at=str(data["created_at"]),
            dialect=str(data["dialect"]),
            migration_head=data.get("migration_head"),
            counts={str(k): int(v) for k, v in data["counts"].items()},
            files={str(k): str(v) for k, v in data["files"].items()},
            format=int(data["format"]),
        )


def thidua_version() -> str:
    try:
        return version("thidua")
    except PackageNotFoundError:  # run from a source tree
        return "unknown"


def known_revisions() -> set[str]:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return {rev.revision for rev in script.walk_revisions()}


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fp:
        for block in iter(lambda: fp.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _counts(conn: sa.Connection) -> tuple[dict[str, int], str | None]:
    """Rows in every table, and the migration head the database is at."""
    names = sorted(sa.inspect(conn).get_table_names())
    counts = {
        name: int(
            conn.execute(sa.select(sa.func.count()).select_from(sa.table(name))).scalar_one()
        )
        for name in names
    }
    head = None
    if "alembic_version" in names:
        head = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    return counts, head


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A URL `pg_dump`/`psql` take, and the environment carrying the password (not argv)."""
    made = sa.make_url(normalise_url(url))
    env = dict(os.environ)
    if made.password is not None:
        env["PGPASSWORD"] = str(made.password)
    plain = made.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _client(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            _(
                "{name} was not found: install the PostgreSQL client (e.g. apt install "
                "postgresql-client) of the server's version or newer."
            ).format(name=name)
        )
    return found


# ---- backup ---------------------------------------------------------------------------------


def backup(url: str, attachments_dir: Path, out: Path) -> Manifest:
    """Write the archive `out`; the manifest it holds."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".thidua-backup-") as tmp:
        staged = Path(tmp)
        if is_sqlite(url):
            member, dialect = SQLITE_MEMBER, "sqlite"
            copy = staged / "thidua.db"
            counts, head = _sqlite_copy(url, copy)
        else:
            member, dialect = PG_MEMBER, "postgresql"
            copy = staged / "dump.sql"
            counts, head = _pg_dump(url, copy)
        manifest = Manifest(
            version=thidua_version(),
            created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            dialect=dialect,
            migration_head=head,
            counts=counts,
        )
        partial = out.with_name(out.name + ".partial")
        with tarfile.open(partial, "w:gz") as tar:
            manifest.files[member] = _sha256(copy)
            tar.add(copy, arcname=member)
            for path in sorted(attachments_dir.rglob("*")) if attachments_dir.is_dir() else []:
                if path.is_file():
                    name = ATTACHMENTS + path.relative_to(attachments_dir).as_posix()
                    data = path.read_bytes()  # write-once files under names the bot made
                    manifest.files[name] = hashlib.sha256(data).hexdigest()
                    info = tarfile.TarInfo(name)
                    info.size, info.mtime = len(data), int(path.stat().st_mtime)
                    tar.addfile(info, io.BytesIO(data))
            body = json.dumps(manifest.to_json(), indent=2, ensure_ascii=False).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime = len(body), int(dt.datetime.now(dt.UTC).timestamp())
            tar.addfile(info, io.BytesIO(body))
        os.replace(partial, out)
    return manifest


def _sqlite_copy(url: str, copy: Path) -> tuple[dict[str, int], str | None]:
    source_path = sqlite_path(url)
    if source_path is None or not source_path.exists():
        raise BackupError(_("There is no database to back up at {url}.").format(url=url))
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=30)
    target = sqlite3.connect(copy)
    try:
        source.backup(target)  # one step: a consistent copy while writers go on (WAL)
    finally:
        target.close()
        source.close()
    eng = sa.create_engine(f"sqlite:///{copy}")
    try:
        with eng.connect() as conn:
            return _counts(conn)
    finally:
        eng.dispose()


def _pg_dump(url: str, dump: Path) -> tuple[dict[str, int], str | None]:
    pg_dump = _client("pg_dump")
    target, env = _libpq(url)
    eng = engine_for(url)
    with eng.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            snapshot = conn.execute(sa.text("SELECT pg_export_snapshot()")).scalar_one()
            counts, head = _counts(conn)
            done = subprocess.run(
                [
                    pg_dump,
                    "--snapshot",
                    str(snapshot),
                    "--clean",
                    "--if-exists",
                    "--no-owner",
                    "--no-privileges",
                    "--file",
                    str(dump),
                    target,
                ],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
    if done.returncode != 0:
        raise BackupError(_("pg_dump failed: {reason}").format(reason=_first_line(done.stderr)))
    return counts, head


def _first_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else "?"


# ---- restore --------------------------------------------------------------------------------


@dataclass
class Restored:
    manifest: Manifest
    files: int  # attachments put in place


def read_manifest(archive: Path) -> Manifest:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            member = tar.extractfile(MANIFEST)
            if member is None:
                raise KeyError(MANIFEST)
            return Manifest.from_json(json.loads(member.read()))
    except (OSError, tarfile.TarError, KeyError, ValueError, TypeError) as exc:
        raise BackupError(
            _("{path} is not a thidua backup ({reason}).").format(path=archive, reason=exc)
        ) from None


def has_data(url: str) -> bool:
    """Does the store hold anyone or anything an office made?"""
    if is_sqlite(url):
        path = sqlite_path(url)
        if path is None or not path.exists():
            return False
    with engine_for(url).connect() as conn:
        names = set(sa.inspect(conn).get_table_names())
        for table in ("person", "report", "nomination"):
            if (
                table in names
                and conn.execute(
                    sa.select(sa.func.count()).select_from(sa.table(table))
                ).scalar_one()
            ):
                return True
    return False


def restore(archive: Path, url: str, attachments_dir: Path) -> Restored:
    """Verify the archive, put its database and attachments in place, check the counts.

    The caller holds the store's leader lock (no bot runs on it) and migrates afterwards."""
    manifest = read_manifest(archive)
    if manifest.format > FORMAT:
        raise BackupError(_("This backup was made by a newer thidua: upgrade thidua first."))
    if manifest.migration_head is not None and manifest.migration_head not in known_revisions():
        raise BackupError(_("This backup was made by a newer thidua: upgrade thidua first."))
    want = "sqlite" if is_sqlite(url) else "postgresql"
    if manifest.dialect != want:
        raise BackupError(
            _("This backup is of a {have} database; DATABASE_URL is {want}.").format(
                have=manifest.dialect, want=want
            )
        )
    attachments_dir.parent.mkdir(parents=True, exist_ok=True)
    with _staging(attachments_dir.parent) as staged:
        _extract_verified(archive, manifest, staged)
        if want == "sqlite":
            _put_sqlite(staged / SQLITE_MEMBER, url)
        else:
            _put_pg(staged / PG_MEMBER, url)
        _check_counts(url, manifest)
        files = _put_attachments(staged / ATTACHMENTS.rstrip("/"), attachments_dir)
    return Restored(manifest, files)


@contextlib.contextmanager
def _staging(near: Path) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(dir=near, prefix=".thidua-restore-") as tmp:
        yield Path(tmp)


def _extract_verified(archive: Path, manifest: Manifest, into: Path) -> None:
    """Every member is listed in the manifest with its checksum, and every listed one is there."""
    seen: set[str] = set()
    with tarfile.open(archive, "r:gz") as tar:
        for info in tar:
            if info.name == MANIFEST:
                continue
            expected = manifest.files.get(info.name)
            if expected is None or not info.isfile() or ".." in Path(info.name).parts:
                raise BackupError(
                    _("The backup holds {name}, which its manifest does not list.").format(
                        name=info.name
                    )
                )
            member = tar.extractfile(info)
            assert member is not None  # a regular file
            target = into / info.name
            target.parent.mkdir(parents=True, exist_ok=True)
            digest = hashlib.sha256()
            with target.open("wb") as fp:
                for block in iter(functools.partial(member.read, 1 << 20), b""):
                    digest.update(block)
                    fp.write(block)
            if digest.hexdigest() != expected:
                raise BackupError(
                    _(
                        "{name} in the backup does not match its checksum: the file is damaged."
                    ).format(name=info.name)
                )
            seen.add(info.name)
    missing = sorted(set(manifest.files) - seen)
    if missing:
        raise BackupError(
            _("The backup lacks {name}, which its manifest lists.").format(name=missing[0])
        )


def _put_sqlite(copy: Path, url: str) -> None:
    target = sqlite_path(url)
    if target is None:
        raise BackupError(_("Cannot restore into an in-memory database."))
    engine_for(url).dispose()
    target.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(copy, f"{target}.restoring")
    os.replace(f"{target}.restoring", target)


def _put_pg(dump: Path, url: str) -> None:
    psql = _client("psql")
    target, env = _libpq(url)
    engine_for(url).dispose()
    done = subprocess.run(
        [
            psql,
            "--quiet",
            "--no-psqlrc",
            "-v",
            "ON_ERROR_STOP=1",
            "--single-transaction",
            "--file",
            str(dump),
            target,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BackupError(_("psql failed: {reason}").format(reason=_first_line(done.stderr)))


def _check_counts(url: str, manifest: Manifest) -> None:
    with engine_for(url).connect() as conn:
        counts, _head = _counts(conn)
    for table, expected in manifest.counts.items():
        if counts.get(table) != expected:
            raise BackupError(
                _("After the restore, {table} has {have} rows; the manifest says {want}.").format(
                    table=table, have=counts.get(table, 0), want=expected
                )
            )


def _put_attachments(staged: Path, attachments_dir: Path) -> int:
    """The archive's attachment store replaces the one in place."""
    if attachments_dir.exists():
        shutil.rmtree(attachments_dir)
    if staged.is_dir():
        shutil.move(str(staged), str(attachments_dir))
    else:
        attachments_dir.mkdir(parents=True)
    return sum(1 for p in attachments_dir.rglob("*") if p.is_file())
