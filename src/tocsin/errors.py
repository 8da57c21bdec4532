"""The error tree. Each error knows its HTTP status; adapters render it.

The API renders these as problem details (RFC 9457); the web renders an error page;
the CLI prints the message and exits non-zero.
"""

from __future__ import annotations

from typing import Any


class TocsinError(Exception):
    """Root of every error Tocsin raises on purpose."""

    status_code = 500
    title = "Internal error"
    type_slug = "internal"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class InvalidInput(TocsinError):
    status_code = 400
    title = "Invalid input"
    type_slug = "invalid-input"


class Unauthenticated(TocsinError):
    status_code = 401
    title = "Authentication required"
    type_slug = "unauthenticated"


class Forbidden(TocsinError):
    status_code = 403
    title = "Forbidden"
    type_slug = "forbidden"


class NotFound(TocsinError):
    status_code = 404
    title = "Not found"
    type_slug = "not-found"


class Conflict(TocsinError):
    status_code = 409
    title = "Conflict"
    type_slug = "conflict"


class PayloadTooLarge(TocsinError):
    status_code = 413
    title = "Payload too large"
    type_slug = "payload-too-large"


class ConfigError(TocsinError):
    """Settings, or the database they point at, that Tocsin cannot run with.

    Raised before any work is done; the CLI prints it and exits 1."""

    status_code = 500
    title = "Configuration error"
    type_slug = "configuration"


class Unavailable(TocsinError):
    """Tocsin cannot take this now (the database is locked); the sender should
    retry. Monitoring senders (Alertmanager, Events v2 clients) do."""

    status_code = 503
    title = "Service unavailable"
    type_slug = "unavailable"
