"""Logging setup: stdlib loggers, rendered by structlog as key-value lines or JSON.

Modules log with `logging.getLogger(__name__)` and pass fields in `extra`; the
formatter lifts them into the event, so every line is an event name plus fields.
"""

from __future__ import annotations

import logging

import structlog
from structlog.typing import EventDict, WrappedLogger

from tocsin.config import Settings


def _drop_color_message(
    logger: WrappedLogger, method: str, event_dict: EventDict
) -> EventDict:
    """Uvicorn hands each record a second, ANSI-coloured copy of its message
    (`color_message`) for its own formatter; ours would print it as a field."""
    event_dict.pop("color_message", None)
    return event_dict


def configure(settings: Settings) -> None:
    renderer: structlog.types.Processor
    if settings.log_format == "json":
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=False)

    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.stdlib.ExtraAdder(),
            _drop_color_message,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
