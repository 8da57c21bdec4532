"""The cold-start rule set: what Tocsin suggests before any model is trained.

The rules are documented in docs/ai.md. Each looks for words in the title,
description and labels; the first rule that matches wins, and its matched
words are the reasons. Confidence is fixed per rule: a rule is a guess that an
organisation's own history should soon replace.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from tocsin.ai.features import IncidentFacts, text_of


@dataclass(frozen=True)
class Suggestion:
    """A suggested value for one field, how sure, why, and who said it."""

    field: str
    value: str
    confidence: float
    reasons: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class Rule:
    value: str
    words: tuple[str, ...]
    confidence: float


SEVERITY_RULES = (
    Rule("sev1", ("outage", "down", "data loss", "breach", "all customers"), 0.6),
    Rule("sev2", ("degraded", "failing", "errors", "unavailable", "critical"), 0.5),
    Rule("sev4", ("warning", "minor", "cosmetic", "typo"), 0.5),
)
DEFAULT_SEVERITY = Suggestion("severity", "sev3", 0.3, ("no rule matched",), "rules")

TYPE_RULES = (
    Rule("security", ("breach", "unauthorized", "phishing", "leaked", "cve"), 0.6),
    Rule("data-loss", ("data loss", "corrupt", "deleted", "missing rows"), 0.6),
    Rule("outage", ("outage", "down", "unavailable", "unreachable"), 0.5),
    Rule("latency", ("slow", "latency", "timeout", "degraded"), 0.5),
)


def _found(text: str, words: Sequence[str]) -> tuple[str, ...]:
    return tuple(word for word in words if re.search(rf"\b{re.escape(word)}\b", text))


def _first(field: str, rules: Sequence[Rule], text: str) -> Suggestion | None:
    for rule in rules:
        matched = _found(text, rule.words)
        if matched:
            reasons = tuple(f"mentions {word!r}" for word in matched)
            return Suggestion(field, rule.value, rule.confidence, reasons, "rules")
    return None


def suggest(
    facts: IncidentFacts, services: Sequence[str] = ()
) -> dict[str, Suggestion]:
    """The rules' suggestions for `facts`.

    Severity always has one (sev3 when nothing matches); the incident type only
    when a rule matches; the owning service when the text names one of
    `services` other than the incident's own.
    """
    text = text_of(facts).lower()
    found = {"severity": _first("severity", SEVERITY_RULES, text) or DEFAULT_SEVERITY}

    kind = _first("incident_type", TYPE_RULES, text)
    if kind is not None:
        found["incident_type"] = kind

    for name in services:
        if name != facts.service and _found(text, (name.lower(),)):
            reasons = (f"mentions the service {name!r}",)
            found["service"] = Suggestion("service", name, 0.4, reasons, "rules")
            break

    return found
