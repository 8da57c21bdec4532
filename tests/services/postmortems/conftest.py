"""Fixtures for the postmortem tests: the response tests' crew (Ann and Bob
respond for Ops, Vic views Ops, Olga responds for Data, Adam is an admin)
around a sev1 checkout incident."""

from __future__ import annotations

from tests.builders import make_integration, trigger
from tests.services.response.conftest import crew as crew
from tocsin.services import alerts
from tocsin.services.context import Context

__all__ = ["crew", "open_incident"]


def open_incident(ctx: Context, key: str, *, severity: str = "critical") -> int:
    """Another checkout incident, of the severity the alert gives it."""
    integration, _ = make_integration(ctx, "checkout")
    [outcome] = alerts.ingest(ctx, integration, [trigger(key, severity=severity)])
    assert outcome.incident_number is not None
    return outcome.incident_number
