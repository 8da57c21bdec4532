"""What the models read from an incident, as plain values.

The text is the title, the description and the alert labels written as
`key=value` words; the service and the source are categories. The owning
service is also something to predict, so its model never sees the service.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

# Severity, incident type and owning service: the fields a model suggests.
FIELDS = ("severity", "incident_type", "service")

_WORD = re.compile(r"[^\w=.-]+")


@dataclass(frozen=True)
class IncidentFacts:
    """The incident as the models see it."""

    title: str
    description: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    service: str = ""
    source: str = ""


@dataclass(frozen=True)
class Example:
    """A past incident with the answers people settled on (None: not known)."""

    facts: IncidentFacts
    severity: str | None = None
    incident_type: str | None = None
    service: str | None = None

    def answer(self, name: str) -> str | None:
        value: str | None = getattr(self, name)
        return value


def text_of(facts: IncidentFacts) -> str:
    """Title, description and labels as one lower-case text.

    Labels become `key=value` words so that `env=prod` is a token of its own and
    cannot be confused with a title that merely mentions "prod".
    """
    labels = " ".join(
        f"{_WORD.sub('_', key)}={_WORD.sub('_', str(value))}"
        for key, value in sorted(facts.labels.items())
    )
    return " ".join(part for part in (facts.title, facts.description, labels) if part)


def categories_of(facts: IncidentFacts, *, with_service: bool) -> dict[str, str]:
    """The categorical features; the service only when it is not the target."""
    found = {"source": facts.source or "none"}
    if with_service:
        found["service"] = facts.service or "none"
    return found
