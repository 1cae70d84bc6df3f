"""The outbox: pushes planned from the calendar, expanded into rows, and looked at.

`plan` says what is pushed when, `recipients` who is reached where, `messages` what each reads,
`rows` writes the rows (once), `admin` reads them back. The names below are the outbox's
public face; the delivery worker (`bot.delivery`) sends the rows.
"""

from schedules.outbox.admin import STATUSES, channel_states, counts, failed, paused_until, retry
from schedules.outbox.messages import broadcast_text, digest_text, messages_for, nudge_text
from schedules.outbox.plan import (
    DATED_KINDS,
    DEADLINE_KINDS,
    PUSH_CHANNELS,
    Push,
    configured_channels,
    expires_at,
    launch_push,
    pushes,
)
from schedules.outbox.recipients import Recipient, recipients
from schedules.outbox.rows import (
    expand,
    launch,
    outbox_key,
    queue_custom,
    queue_message,
    record_skipped,
)

__all__ = [
    "DATED_KINDS",
    "DEADLINE_KINDS",
    "PUSH_CHANNELS",
    "STATUSES",
    "Push",
    "Recipient",
    "broadcast_text",
    "channel_states",
    "configured_channels",
    "counts",
    "digest_text",
    "expand",
    "expires_at",
    "failed",
    "launch",
    "launch_push",
    "messages_for",
    "nudge_text",
    "outbox_key",
    "paused_until",
    "pushes",
    "queue_custom",
    "queue_message",
    "recipients",
    "record_skipped",
    "retry",
]
