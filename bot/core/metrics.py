"""What `GET /metrics` counts in this process (prometheus-client), and when each channel last
received.

Labels are channels, command names, outcomes and statuses: never a person, a chat or a token.
The delivery child process (bot.delivery.process) counts its sends in files under
PROMETHEUS_MULTIPROC_DIR when the parent set it (prometheus-client's multiprocess mode, chosen
when a process first imports the library); `bot.channels.health` adds them to the parent's.
"""

from __future__ import annotations

import os
import time

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics

#: prometheus-client chose multiprocess mode when this process imported it: our own values
#: are then in PROMETHEUS_MULTIPROC_DIR with every other process's.
MULTIPROCESS = "PROMETHEUS_MULTIPROC_DIR" in os.environ or "prometheus_multiproc_dir" in os.environ
disable_created_metrics()  # summed across processes, a `_created` sample would mean nothing

REGISTRY = CollectorRegistry(auto_describe=True)

TURNS = Counter(
    "thidua_turns",
    "Messages handled, by channel and command.",
    ["channel", "command"],
    registry=REGISTRY,
)
TURN_ERRORS = Counter(
    "thidua_turn_errors",
    "Messages whose handling failed (the person got a reference number).",
    ["channel", "command"],
    registry=REGISTRY,
)
TURN_SECONDS = Histogram(
    "thidua_turn_seconds",
    "Time to handle one message (database work included, sending not).",
    ["channel"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
SENDS = Counter(
    "thidua_sends",
    "Messages sent to a platform, by outcome (ok, rate_limited, error).",
    ["channel", "outcome"],
    registry=REGISTRY,
)
RATE_LIMITED = Counter(
    "thidua_rate_limited",
    "Platform answers 429 (too many requests), any method.",
    ["channel"],
    registry=REGISTRY,
)

SEND_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument"})
#: When each channel last received: a good poll (even an empty one), or a webhook request or
#: the webhook's registration. Unix time.
LAST_RECEIVED: dict[str, float] = {}


def mark_received(channel: str) -> None:
    LAST_RECEIVED[channel] = time.time()


def api_call(channel: str, method: str, status: int) -> None:
    """One Bot API call's HTTP status (0: no answer, a network error)."""
    if status == 429:
        RATE_LIMITED.labels(channel).inc()
    if method in SEND_METHODS:
        outcome = "ok" if 200 <= status < 300 else "rate_limited" if status == 429 else "error"
        SENDS.labels(channel, outcome).inc()
    elif method == "getUpdates" and (200 <= status < 300 or (channel == "zalo" and status == 408)):
        mark_received(channel)  # Zalo ends an empty long poll with HTTP 408
    elif method == "setWebhook" and 200 <= status < 300:
        mark_received(channel)
