"""Triage suggestions for a report: severity, incident type and owning service
from the report's title and description, so whoever triages it starts from a
guess (issue 7).

They go through the same model and rules as an incident's suggestions
(tocsin.services.suggestions.suggest), but are computed on every read and
never stored: a report has no fields to accept them into until it is declared.
A failing model is logged and the rules answer; only "no such report" reaches
the caller.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from tocsin.ai import rules
from tocsin.ai.features import FIELDS, IncidentFacts
from tocsin.ai.rules import Suggestion
from tocsin.domain.access import Actor
from tocsin.services import reports, suggestions
from tocsin.services.context import Context

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReportSuggestion:
    """A suggested value for one field of the incident the report may become."""

    field: str
    value: str
    current: str | None
    confidence: float
    reasons: list[str]
    source: str


def suggest_for_report(
    ctx: Context, actor: Actor, report_id: int
) -> list[ReportSuggestion]:
    """The report's suggestions; NotFound when the actor may not read it."""
    with ctx.db.read() as session:
        report = reports.visible(session, actor, report_id)
        current = report.service.name if report.service is not None else None
        facts = IncidentFacts(
            title=report.title,
            description=report.description,
            service=current or "",
            source=report.source,
        )
        try:
            found, _ = suggestions.suggest(ctx, session, facts)
        except Exception:
            # suggest() already falls back on a failing model; this covers
            # anything else (say, reading the scales) so a report stays
            # readable with the rules' plain answer.
            log.exception("report suggestions failed; the rules answer instead")
            found = rules.suggest(facts)

    return [_view(found[name], current) for name in FIELDS if name in found]


def _view(suggestion: Suggestion, service: str | None) -> ReportSuggestion:
    return ReportSuggestion(
        field=suggestion.field,
        value=suggestion.value,
        current=service if suggestion.field == "service" else None,
        confidence=suggestion.confidence,
        reasons=list(suggestion.reasons),
        source=suggestion.source,
    )
