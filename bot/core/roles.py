"""Who a person is to the bot: the one list of roles every module uses."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """Stored as its value in `person.role`; a `Role` compares equal to that string."""

    STAFF = "staff"
    HEAD = "head"
    CLERK = "clerk"
    ADMIN = "admin"


ROLES: tuple[str, ...] = tuple(Role)
EVERYONE = frozenset(Role)
UNIT_LEADS = frozenset({Role.HEAD, Role.CLERK, Role.ADMIN})
#: The office (Văn phòng Sở): compiles, reviews, reminds, and is alerted.
OFFICE_ROLES = frozenset({Role.CLERK, Role.ADMIN})
