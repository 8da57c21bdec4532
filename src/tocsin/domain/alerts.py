"""Alert events as every intake format is translated into them."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class AlertAction(StrEnum):
    TRIGGER = "trigger"
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"


# Source severities, as Events v2 names them, onto incident severity levels.
SEVERITY_TO_INCIDENT = {
    "critical": "sev1",
    "error": "sev2",
    "warning": "sev3",
    "info": "sev4",
}

_SEVERITY_ALIASES = {
    "crit": "critical",
    "page": "critical",
    "high": "error",
    "major": "error",
    "err": "error",
    "warn": "warning",
    "medium": "warning",
    "minor": "warning",
    "low": "info",
    "informational": "info",
    "none": "info",
}

MAX_DEDUP_KEY = 255
MAX_SUMMARY = 1024


def normalise_severity(value: str | None, default: str = "error") -> str:
    """One of critical, error, warning, info; unknown words fall back to default."""
    if not value:
        return default

    word = value.strip().lower()
    word = _SEVERITY_ALIASES.get(word, word)

    return word if word in SEVERITY_TO_INCIDENT else default


@dataclass(frozen=True)
class AlertEvent:
    """One event about one alert, independent of the format it came in."""

    action: AlertAction
    dedup_key: str
    summary: str
    source: str = ""
    severity: str = "error"
    labels: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)
    # Alerts that share a group key share an open incident (Alertmanager groups).
    group_key: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    details: str = ""

    def content_hash(self) -> str:
        """A digest of what the event says; an identical repeat has the same one."""
        document = json.dumps(
            [
                self.action,
                self.summary,
                self.source,
                self.severity,
                self.labels,
                self.raw,
            ],
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(document.encode()).hexdigest()


def derived_dedup_key(*parts: str) -> str:
    """A dedup key for formats that carry none: a digest of identifying parts."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]
