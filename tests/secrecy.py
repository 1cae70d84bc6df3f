"""The secret ballot's proof: after a session, nothing in the store or the log ties a ballot to
its voter. Every table is dumped; the ballots carry no voter; no row that names a voter (by
person id, chat or user id) holds anything of a ballot; no log line does either."""

from __future__ import annotations

import json
import logging
import re

import sqlalchemy as sa

from bot.core.db import engine

#: What a ballot's content looks like in chat rows: the flow's button data, the answers'
#: labels, the questions and the summary (Vietnamese, as the tests' members read it).
MARKERS = ("flow:ballot:", "Đồng ý", "Không đồng ý", "Phiếu của bạn:", "Phiếu kín, ứng viên")
#: Columns that name a person.
PERSON_COLUMNS = {"person_id", "identity_id", "opened_by", "proposer_id", "nominee_person_id"}


def dump() -> dict[str, list[dict]]:
    """Every row of every table, as the database gives them (rowid / physical order)."""
    found: dict[str, list[dict]] = {}
    with engine().connect() as conn:
        for name in sa.inspect(conn).get_table_names():
            rows = conn.execute(sa.text(f'SELECT * FROM "{name}"'))
            found[name] = [dict(r._mapping) for r in rows]
    return found


def _text(row: dict) -> str:
    return json.dumps(row, ensure_ascii=False, default=str)


def assert_secret(
    voters: dict[int, tuple[str, ...]],
    ballots: dict[int, dict[str, str]],
    records: list[logging.LogRecord],
) -> None:
    """`voters`: person id -> the chat and user ids they used; `ballots`: how each voted
    (nomination id -> yes/no), at least two of them different."""
    assert len({json.dumps(b, sort_keys=True) for b in ballots.values()}) >= 2
    tables = dump()

    # the ballots: id, session, choices; nothing else, no voter in them
    assert set(tables["ballot"][0]) == {"id", "session_id", "choices"}
    assert len(tables["ballot"]) == len(ballots)
    stored = sorted(
        json.dumps(
            json.loads(r["choices"]) if isinstance(r["choices"], str) else r["choices"],
            sort_keys=True,
        )
        for r in tables["ballot"]
    )
    assert stored == sorted(json.dumps(b, sort_keys=True) for b in ballots.values())
    assert all(re.fullmatch(r"[0-9a-f]{32}", r["id"]) for r in tables["ballot"])
    for session in tables["ballot_session"]:
        assert session["box"] in ([], "[]")  # emptied at the close

    # every other row that names a voter holds nothing of a ballot
    for name, rows in tables.items():
        if name == "ballot":
            continue
        for row in rows:
            text = _text(row)
            for person_id, handles in voters.items():
                named = any(row.get(c) == person_id for c in PERSON_COLUMNS & set(row)) or any(
                    f'"{h}"' in text for h in handles
                )
                if not named:
                    continue
                hits = [m for m in MARKERS if m in text]
                assert not hits, f"{name} row names voter {person_id} and holds {hits}: {text}"
                ballot = json.dumps(ballots.get(person_id, {}), sort_keys=True)
                assert ballot not in text, f"{name} row holds a ballot: {text}"
    # the ballot session's stored result counts, it names nobody
    for session in tables["ballot_session"]:
        result = _text(session["result"])
        assert not any(f'"{h}"' in result for hs in voters.values() for h in hs)

    # the log: no line with a ballot's content
    for record in records:
        line = f"{record.getMessage()} {record.exc_text or ''}"
        hits = [m for m in MARKERS if m in line]
        assert not hits, f"log line holds {hits}: {line}"


def assert_chats_forgotten(voters: dict[int, tuple[str, ...]]) -> None:
    """Right after a cast (the session still open): the voters' chat rows (journal, outbox,
    conversation state) hold nothing of their ballots."""
    tables = dump()
    for name in ("inbound", "outbox", "conversation"):
        for row in tables[name]:
            text = _text(row)
            for person_id, handles in voters.items():
                if any(f'"{h}"' in text for h in handles) or row.get("person_id") == person_id:
                    hits = [m for m in MARKERS if m in text]
                    assert not hits, f"{name} row of voter {person_id} holds {hits}: {text}"
