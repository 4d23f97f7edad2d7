"""structlog set up once per process: JSON lines, one object per event."""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TextIO

import structlog

from gateway.guardrails.safety import scrub_log_event

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


@dataclass
class _Shipping:
    stream: TextIO | None = None  # None: sys.stdout at the time of writing
    info: bool = True


_SHIPPING = _Shipping()  # set with structlog's (process-wide) configuration, below


def configure_logging(level: str = "info", stream: TextIO | None = None) -> None:
    _SHIPPING.stream = stream
    _SHIPPING.info = _LEVELS[level] <= logging.INFO
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            scrub_log_event,  # after the traceback is text: nothing secret reaches the log
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS[level]),
        logger_factory=structlog.PrintLoggerFactory(file=stream or sys.stdout),
        cache_logger_on_first_use=False,
    )


def ship_json_line(event: str, fields_json: str, **extra: object) -> None:
    """One info-level JSON line in structlog's layout, from an already rendered JSON object.

    The audit trail ships every event this way: the event's canonical JSON exists anyway
    (it is what the log hashes), so it is spliced in rather than rendered a second time.
    """
    if not _SHIPPING.info:
        return
    head = {
        "event": event,
        "level": "info",
        "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        **extra,
    }
    rendered = json.dumps(head, separators=(",", ":"))
    line = rendered[:-1] + "," + fields_json[1:] if fields_json != "{}" else rendered
    print(line, file=_SHIPPING.stream or sys.stdout, flush=True)  # as structlog does: timely
